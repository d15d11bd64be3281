"""Templates (a design editor with a live rendered preview, logo upload,
default, reset) and sending domains (the DNS records to publish, verify,
status; admins only, like the API)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import Response

from letter.auth.access import Action
from letter.db.pagination import PageParams
from letter.domains import service as domains
from letter.domains.schemas import DomainCreate
from letter.errors import Invalid, LetterError
from letter.projects.models import Project
from letter.templates import service as templates
from letter.templates.bodydoc import render_body
from letter.templates.design import FONTS, normalise_design
from letter.templates.layout import compose
from letter.templates.models import Template
from letter.web.context import (
    Dash,
    DashDep,
    FieldsDep,
    PageRoute,
    PostDep,
    field_errors,
    parse_form,
    redirect,
    uuid_or_404,
)
from letter.web.session import runtime_of

router = APIRouter(prefix="/p/{slug}", include_in_schema=False, route_class=PageRoute)

Text = Annotated[str, Form(max_length=1000)]
LISTED = PageParams(limit=100)
SAMPLE = {"type": "doc", "content": [
    {"type": "heading", "attrs": {"level": 2}, "content": [{"type": "text", "text": "Hello!"}]},
    {"type": "paragraph", "content": [{"type": "text", "text": "This is how your emails look: "
                                       "text, "}, {"type": "text", "text": "a link",
                                                   "marks": [{"type": "link",
                                                              "attrs": {"href": "https://example.com"}}]},
                                      {"type": "text", "text": " and the footer below."}]}]}
DESIGN_FIELDS = ("background", "content", "text", "accent", "font", "align", "footer_text",
                 "footer_address", "logo_width", "logo_alt")
LOGO_WIDTH = (16, 600)  # the design's Logo.width bounds
LOGO_ALT_MAX = 200


def design_of(form: dict[str, str], base: dict[str, Any]) -> dict[str, Any]:
    """The design the editor's fields describe, over the stored one."""
    colors = {k: form[k] for k in ("background", "content", "text", "accent") if k in form}
    patch: dict[str, Any] = {"colors": colors}
    for key in ("font", "align"):
        if key in form:
            patch[key] = form[key]
    patch["footer"] = {"text": form.get("footer_text", ""),
                       "address": form.get("footer_address", "")}
    logo = _logo_patch(form, base)
    if logo:
        patch["logo"] = logo
    return normalise_design(patch, base)


def _logo_patch(form: dict[str, str], base: dict[str, Any]) -> dict[str, Any]:
    """The uploaded logo's width (pixels) and alt text, when the form has them."""
    if not isinstance(base.get("logo"), dict):
        return {}
    patch: dict[str, Any] = {}
    if "logo_width" in form:
        width = form["logo_width"].strip()
        if not width.isdigit() or not LOGO_WIDTH[0] <= int(width) <= LOGO_WIDTH[1]:
            raise Invalid(f"logo_width: must be a whole number of pixels from {LOGO_WIDTH[0]} "
                          f"to {LOGO_WIDTH[1]}")
        patch["width"] = int(width)
    if "logo_alt" in form:
        alt = form["logo_alt"].strip()
        if len(alt) > LOGO_ALT_MAX:
            raise Invalid(f"logo_alt: at most {LOGO_ALT_MAX} characters")
        patch["alt"] = alt
    return patch


def _preview_html(design: dict[str, Any]) -> str:
    return compose(design, render_body(SAMPLE).html, "A preview of your design").replace(
        "{{ unsubscribe_url }}", "#")


def _templates(dash: Dash, project: Project, status: int = 200, **context: Any) -> Response:
    items = templates.list_templates(dash.session, project.id, LISTED).items
    context.setdefault("form", {})
    return dash.page("dash/templates.html", status, project=project, templates=items, **context)


@router.get("/templates")
def templates_page(slug: str, dash: DashDep) -> Response:
    return _templates(dash, dash.project(slug))


@router.post("/templates")
def create_template(request: Request, slug: str, dash: PostDep, name: Text = "") -> Response:
    project = dash.project(slug)
    template = templates.create_template(dash.session, project.id, name=name or None,
                                         design=None)
    return redirect(request, f"/p/{project.slug}/templates/{template.id}")


def _editor(dash: Dash, project: Project, template: Template, status: int = 200,
            design: dict[str, Any] | None = None, **context: Any) -> Response:
    design = design or template.design
    context.setdefault("form", {})
    return dash.page("dash/template.html", status, project=project, template=template,
                     design=design, fonts=list(FONTS), preview_html=_preview_html(design),
                     **context)


def _template(dash: Dash, slug: str, template_id: str) -> tuple[Project, Template]:
    project = dash.project(slug)
    return project, templates.get_template(dash.session, project.id, uuid_or_404(template_id))


@router.get("/templates/{template_id}")
def template_page(slug: str, template_id: str, dash: DashDep) -> Response:
    return _editor(dash, *_template(dash, slug, template_id))


@router.post("/templates/{template_id}/preview")
def template_preview(slug: str, template_id: str, dash: PostDep, form: FieldsDep) -> Response:
    """The rendered email for the fields as they stand (nothing is saved)."""
    _, template = _template(dash, slug, template_id)
    try:
        design = design_of(form, template.design)
    except LetterError as exc:
        return dash.page("dash/_alert.html", 200, message=exc.message)
    return dash.page("dash/_template_preview.html", preview_html=_preview_html(design))


@router.post("/templates/{template_id}")
def save_template(request: Request, slug: str, template_id: str, dash: PostDep,
                  form: FieldsDep) -> Response:
    project, template = _template(dash, slug, template_id)
    try:
        design = design_of(form, template.design)
        templates.update_template(dash.session, template, name=form.get("name") or None,
                                  design=design)
    except LetterError as exc:
        return _editor(dash, project, template, exc.status, form=form,
                       errors=field_errors(exc, ("name", "design", "logo_width", "logo_alt")))
    return redirect(request, f"/p/{project.slug}/templates/{template.id}?saved=1")


@router.post("/templates/{template_id}/logo")
def upload_logo(request: Request, slug: str, template_id: str, dash: PostDep,
                file: Annotated[UploadFile | None, File()] = None) -> Response:
    project, template = _template(dash, slug, template_id)
    settings = runtime_of(request).settings
    try:
        data = file.file.read(templates.LOGO_MAX_BYTES + 1) if file is not None else b""
        if not data:
            raise Invalid("file: choose an image (PNG, JPEG or GIF)")
        templates.store_logo(dash.session, template, data, settings.uploads_dir,
                             settings.public_url)
    except LetterError as exc:
        return _editor(dash, project, template, exc.status, errors={"file": exc.message})
    return redirect(request, f"/p/{project.slug}/templates/{template.id}?saved=1")


@router.post("/templates/{template_id}/{action}")
def template_action(request: Request, slug: str, template_id: str, action: str,
                    dash: PostDep, preset: Text = "branded") -> Response:
    project, template = _template(dash, slug, template_id)
    try:
        if action == "default":
            templates.set_default(dash.session, template)
        elif action == "reset":
            if preset not in ("plain", "branded"):
                raise Invalid('preset: must be "plain" or "branded"')
            templates.reset_template(dash.session, template, preset)
        elif action == "delete":
            templates.delete_template(dash.session, template)
            return redirect(request, f"/p/{project.slug}/templates")
        elif action == "remove-logo":
            templates.remove_logo(dash.session, template)
        else:
            return _editor(dash, project, template, 404, error="No such action.")
    except LetterError as exc:
        return _editor(dash, project, template, exc.status, error=exc.message)
    return redirect(request, f"/p/{project.slug}/templates/{template.id}")


def _domains(dash: Dash, project: Project, status: int = 200, **context: Any) -> Response:
    items = domains.list_domains(dash.session, project.id, LISTED).items
    context.setdefault("form", {})
    return dash.page("dash/domains.html", status, project=project,
                     domains=[(d, domains.dns_records(d)) for d in items], **context)


@router.get("/domains")
def domains_page(slug: str, dash: DashDep) -> Response:
    return _domains(dash, dash.project(slug, Action.MANAGE_SENDING))


@router.post("/domains")
def register_domain(request: Request, slug: str, dash: PostDep, domain: Text = "") -> Response:
    project = dash.project(slug, Action.MANAGE_SENDING)
    try:
        body = parse_form(DomainCreate, {"domain": domain})
        domains.register_domain(dash.session, project.id, body.domain,
                                runtime_of(request).settings.sending_domain)
    except LetterError as exc:
        return _domains(dash, project, exc.status, form={"domain": domain},
                        errors=field_errors(exc, ("domain",)))
    return redirect(request, f"/p/{project.slug}/domains")


@router.post("/domains/{domain_id}/{action}")
def domain_action(request: Request, slug: str, domain_id: str, action: str,
                  dash: PostDep) -> Response:
    project = dash.project(slug, Action.MANAGE_SENDING)
    domain = domains.get_domain(dash.session, project.id, uuid_or_404(domain_id))
    if action == "verify":
        domains.verify_domain(dash.session, domain, runtime_of(request).settings.dns_resolver)
    elif action == "delete":
        domains.delete_domain(dash.session, project, domain)
    else:
        return _domains(dash, project, 404, error="No such action.")
    return redirect(request, f"/p/{project.slug}/domains")
