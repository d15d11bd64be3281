"""Personalisation: Liquid over the composed layout, escaping, missing variables."""

from __future__ import annotations

import pytest

from letter.errors import Invalid
from letter.templates.design import PRESETS, normalise_design
from letter.templates.render import compile_content, missing_variables


def doc(value: str) -> dict:
    return {"type": "doc", "content": [{"type": "paragraph",
                                        "content": [{"type": "text", "text": value}]}]}


def context(**traits: object) -> dict:
    return {"contact": {"email": "ada@example.com", "traits": traits},
            "account": {"name": "Acme"}, "event": {"properties": {"total": 42}},
            "project": {"name": "Acme"}, "unsubscribe_url": "https://l.test/u?a=1&b=2"}


def test_personalisation_defaults_and_missing_values():
    content = compile_content(
        PRESETS["branded"], subject="Hi {{ contact.traits.name | default: 'there' }}",
        preview="{{ account.name }}",
        body_doc=doc("Plan {{ contact.traits.plan }}! Total {{ event.properties.total }}."))
    out = content.render(context())
    assert out.subject == "Hi there"
    assert "Plan ! Total 42." in out.text and "Plan ! Total 42." in out.html
    assert "Unsubscribe: https://l.test/u?a=1&b=2" in out.text
    assert 'href="https://l.test/u?a=1&amp;b=2"' in out.html
    assert missing_variables(content, context()) == ["contact.traits.name",
                                                     "contact.traits.plan"]
    assert missing_variables(content, context(name="Ada", plan="pro")) == []


def test_trait_values_with_html_or_liquid_are_inert():
    content = compile_content(PRESETS["plain"], subject="{{ contact.traits.name }}",
                              preview="", body_doc=doc("Hello {{ contact.traits.name }}"))
    evil = '<script>alert(1)</script>{{ contact.email }}{% raw %}"\r\nBcc: x@y'
    out = content.render(context(name=evil))
    assert "<script>" not in out.html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;{{ contact.email }}{% raw %}" in out.html
    assert "ada@example.com" not in out.html.split("Hello", 1)[1].split("</p>")[0]
    assert "\n" not in out.subject and "\r" not in out.subject


def test_layout_has_footer_address_logo_and_colours():
    design = normalise_design({"preset": "branded", "colors": {"accent": "#ff0000"},
                               "footer": {"text": "Thanks for using Acme",
                                          "address": "Acme Inc, 1 Main St, Paris"},
                               "logo": {"url": "https://cdn.acme.test/l.png", "alt": "Acme"}})
    out = compile_content(design, subject="s", preview="", body_doc=doc("x")).render(context())
    assert "Acme Inc, 1 Main St, Paris" in out.html and "Acme Inc, 1 Main St, Paris" in out.text
    assert "https://cdn.acme.test/l.png" in out.html
    assert "#ff0000" in out.html
    assert "<style" in out.html and 'style="' in out.html  # css inlined, media queries kept


def test_liquid_syntax_errors_are_invalid():
    with pytest.raises(Invalid, match="subject"):
        compile_content(PRESETS["plain"], subject="{% if %}", preview="", body_doc=doc("x"))
    with pytest.raises(Invalid, match="body_doc"):
        compile_content(PRESETS["plain"], subject="s", preview="", body_doc=doc("{{ a | }"))


@pytest.mark.parametrize(("patch", "field"), [
    ({"colors": {"accent": "red"}}, "design.colors.accent"),
    ({"font": "comic"}, "design.font"),
    ({"preset": "fancy"}, "design.preset"),
    ({"align": "right"}, "design.align"),
    ({"logo": {"url": "javascript:x"}}, "design.logo.url"),
    ({"surprise": 1}, "design.surprise"),
])
def test_design_validation_names_the_field(patch, field):
    with pytest.raises(Invalid) as info:
        normalise_design(patch)
    assert info.value.message.startswith(field)


def test_hidden_preview_text_has_no_colour_that_reads_as_low_contrast():
    for preset in ("branded", "plain"):
        out = compile_content(PRESETS[preset], subject="s", preview="Your account is ready",
                              body_doc=doc("Hello")).render(context())
        start = out.html.index("Your account is ready")
        opening = out.html[out.html.rindex("<div", 0, start):start]
        assert "display:none" in opening and "color" not in opening, opening
