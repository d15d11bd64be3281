"""Personalised rendering: subject, HTML and text of one email for one recipient.

Liquid is python-liquid, sandboxed (no file access, bounded loops and output),
HTML auto-escaped: a trait value can never inject markup, and Liquid syntax
inside a value is printed, never evaluated. A missing value renders empty.

>>> content = compile_content(design, subject="Hi {{ contact.traits.name }}",
...                           preview="", body_doc=doc)            # doctest: +SKIP
>>> content.render(context).subject                                  # doctest: +SKIP
'Hi Ada'
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import orjson
from liquid import BoundTemplate, Environment
from liquid.exceptions import LiquidError

from letter.errors import Invalid
from letter.templates.bodydoc import render_body
from letter.templates.layout import compose, footer_text

__all__ = ["CompiledContent", "Rendered", "compile_content", "missing_variables"]


class SandboxedEnvironment(Environment):
    """Liquid with bounded loops, output and nesting (a template cannot hang the worker)."""

    loop_iteration_limit = 10_000
    output_stream_limit = 2_000_000
    context_depth_limit = 20


HTML_ENV = SandboxedEnvironment(autoescape=True)
TEXT_ENV = SandboxedEnvironment(autoescape=False)


@dataclass(frozen=True)
class Rendered:
    subject: str
    html: str
    text: str


@dataclass(frozen=True)
class CompiledContent:
    """Parsed Liquid for one (design, subject, preview, body) combination."""

    subject: BoundTemplate
    html: BoundTemplate
    text: BoundTemplate

    def render(self, context: dict[str, Any]) -> Rendered:
        try:
            subject = self.subject.render(**context)
            return Rendered(
                subject=" ".join(subject.split()),  # no CR/LF can reach a header
                html=self.html.render(**context),
                text=self.text.render(**context),
            )
        except LiquidError as exc:
            raise Invalid(f"personalisation failed: {exc}") from exc

    def variable_paths(self) -> list[str]:
        paths: set[str] = set()
        for template in (self.subject, self.html, self.text):
            paths.update(template.global_variable_paths())
        return sorted(paths)


def _parse(env: Environment, source: str, what: str) -> BoundTemplate:
    try:
        return env.from_string(source)
    except LiquidError as exc:
        raise Invalid(f"{what}: Liquid syntax error: {exc}") from exc


_cache: OrderedDict[bytes, CompiledContent] = OrderedDict()
_lock = threading.Lock()
CACHE_SIZE = 512


def compile_content(
    design: dict[str, Any], *, subject: str, preview: str | None, body_doc: Any
) -> CompiledContent:
    """Render the body and the layout and parse the Liquid, once per distinct
    content (an LRU keyed by a hash of all inputs)."""
    key = hashlib.sha256(
        orjson.dumps([design, subject, preview or "", body_doc], option=orjson.OPT_SORT_KEYS)
    ).digest()
    with _lock:
        hit = _cache.get(key)
        if hit is not None:
            _cache.move_to_end(key)
            return hit
    body = render_body(body_doc)
    page = compose(design, body.html, preview or "")
    foot = footer_text(design)
    text = body.text + "\n\n-- \n" + (foot + "\n" if foot else "")
    text += "Unsubscribe: {{ unsubscribe_url }}\n"
    content = CompiledContent(
        subject=_parse(TEXT_ENV, subject, "subject"),
        html=_parse(HTML_ENV, page, "body_doc"),
        text=_parse(TEXT_ENV, text, "body_doc"),
    )
    with _lock:
        _cache[key] = content
        if len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    return content


def _resolve(context: dict[str, Any], path: str) -> Any:
    value: Any = context
    for part in path.split("."):
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.lstrip("-").isdigit():
            try:
                value = value[int(part)]
            except IndexError:
                return None
        else:
            return None
    return value


def missing_variables(content: CompiledContent, context: dict[str, Any]) -> list[str]:
    """The variables the content uses that are absent (or null/empty) for this context."""
    return [p for p in content.variable_paths() if _resolve(context, p) in (None, "")]
