"""TipTap/ProseMirror JSON (``bodyDoc``) to email-safe HTML and plain text.

Text may carry Liquid (``{{ contact.traits.name }}``): the Liquid parts are kept
verbatim and everything around them is HTML-escaped, so personalisation runs
afterwards on the result (with auto-escaping of the values it inserts).

>>> doc = {"type": "doc", "content": [{"type": "paragraph",
...        "content": [{"type": "text", "text": "Hi {{ contact.email }} & co"}]}]}
>>> render_body(doc).html
'<p>Hi {{ contact.email }} &amp; co</p>'
>>> render_body(doc).text
'Hi {{ contact.email }} & co'
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import Any

from letter.errors import Invalid

__all__ = ["RenderedBody", "has_content", "render_body"]

LIQUID = re.compile(r"({{.*?}}|{%.*?%})", re.S)
SAFE_URL = re.compile(r"^(https?:|mailto:|tel:|{{)", re.I)
MARK_TAGS = {"bold": "strong", "italic": "em", "underline": "u", "strike": "s", "code": "code"}
MAX_DEPTH = 40


@dataclass(frozen=True)
class RenderedBody:
    html: str
    text: str


def escape_keeping_liquid(value: str) -> str:
    """HTML-escape ``value`` except its ``{{ … }}`` / ``{% … %}`` parts."""
    parts = LIQUID.split(value)
    return "".join(p if i % 2 else html.escape(p, quote=True) for i, p in enumerate(parts))


class _Renderer:
    def __init__(self) -> None:
        self.text_lines: list[str] = []

    def fail(self, path: str, message: str) -> Invalid:
        return Invalid(f"body_doc{path}: {message}")

    def children(self, node: dict[str, Any], path: str, depth: int) -> list[tuple[str, str]]:
        content = node.get("content", [])
        if not isinstance(content, list):
            raise self.fail(path, "content must be a list")
        return [self.node(child, f"{path}.content[{i}]", depth + 1)
                for i, child in enumerate(content)]

    def inline(self, node: dict[str, Any], path: str, depth: int) -> tuple[str, str]:
        parts = self.children(node, path, depth)
        return "".join(h for h, _ in parts), "".join(t for _, t in parts)

    def url(self, value: Any, path: str) -> str:
        if not isinstance(value, str) or not SAFE_URL.match(value.strip()):
            raise self.fail(path, "links must be http(s):, mailto: or tel: URLs")
        return value.strip()

    def node(self, node: Any, path: str, depth: int) -> tuple[str, str]:
        if depth > MAX_DEPTH:
            raise self.fail(path, "nested too deeply")
        if not isinstance(node, dict) or not isinstance(node.get("type"), str):
            raise self.fail(path, "each node must be an object with a type")
        kind = node["type"]
        method = getattr(self, "n_" + kind, None)
        if method is None:
            raise self.fail(f"{path}.type", f"unknown node type {kind!r}")
        result: tuple[str, str] = method(node, path, depth)
        return result

    def attrs(self, node: dict[str, Any]) -> dict[str, Any]:
        attrs = node.get("attrs") or {}
        return attrs if isinstance(attrs, dict) else {}

    # Block nodes -------------------------------------------------------------
    def n_doc(self, node: dict[str, Any], path: str, depth: int) -> tuple[str, str]:
        parts = self.children(node, path, depth)
        return "".join(h for h, _ in parts), "\n\n".join(t for _, t in parts if t.strip())

    def n_paragraph(self, node: dict[str, Any], path: str, depth: int) -> tuple[str, str]:
        h, t = self.inline(node, path, depth)
        align = self.attrs(node).get("textAlign")
        style = f' style="text-align:{align}"' if align in ("center", "right", "justify") else ""
        return f"<p{style}>{h or '&nbsp;'}</p>", t

    def n_heading(self, node: dict[str, Any], path: str, depth: int) -> tuple[str, str]:
        level = self.attrs(node).get("level", 1)
        if not isinstance(level, int) or isinstance(level, bool) or not 1 <= level <= 6:
            raise self.fail(f"{path}.attrs.level", "must be 1-6")
        h, t = self.inline(node, path, depth)
        return f"<h{level}>{h}</h{level}>", t

    def n_blockquote(self, node: dict[str, Any], path: str, depth: int) -> tuple[str, str]:
        h, t = self.n_doc(node, path, depth)
        return f"<blockquote>{h}</blockquote>", "\n".join("> " + ln for ln in t.split("\n"))

    def _list(self, node: dict[str, Any], path: str, depth: int, tag: str) -> tuple[str, str]:
        parts = self.children(node, path, depth)
        start = self.attrs(node).get("start", 1)
        start = start if isinstance(start, int) else 1
        lines = []
        for i, (_, t) in enumerate(parts):
            bullet = f"{start + i}. " if tag == "ol" else "- "
            body = t.replace("\n", "\n" + " " * len(bullet))
            lines.append(bullet + body)
        return f"<{tag}>{''.join(h for h, _ in parts)}</{tag}>", "\n".join(lines)

    def n_bulletList(self, node: dict[str, Any], path: str, depth: int) -> tuple[str, str]:
        return self._list(node, path, depth, "ul")

    def n_orderedList(self, node: dict[str, Any], path: str, depth: int) -> tuple[str, str]:
        return self._list(node, path, depth, "ol")

    def n_listItem(self, node: dict[str, Any], path: str, depth: int) -> tuple[str, str]:
        parts = self.children(node, path, depth)
        inner = "".join(h for h, _ in parts)
        return f"<li>{inner}</li>", "\n".join(t for _, t in parts)

    def n_horizontalRule(self, node: dict[str, Any], path: str, depth: int) -> tuple[str, str]:
        return '<hr style="border:none;border-top:1px solid #e4e4e7;margin:24px 0">', "----"

    def n_hardBreak(self, node: dict[str, Any], path: str, depth: int) -> tuple[str, str]:
        return "<br>", "\n"

    def n_codeBlock(self, node: dict[str, Any], path: str, depth: int) -> tuple[str, str]:
        h, t = self.inline(node, path, depth)
        return f"<pre><code>{h}</code></pre>", t

    def n_image(self, node: dict[str, Any], path: str, depth: int) -> tuple[str, str]:
        attrs = self.attrs(node)
        src = self.url(attrs.get("src"), f"{path}.attrs.src")
        alt = str(attrs.get("alt") or "")
        return (f'<img src="{escape_keeping_liquid(src)}" alt="{escape_keeping_liquid(alt)}" '
                'style="max-width:100%;height:auto;display:block;border:0">',
                f"[{alt}]" if alt else "")

    def n_button(self, node: dict[str, Any], path: str, depth: int) -> tuple[str, str]:
        attrs = self.attrs(node)
        href = self.url(attrs.get("href") or attrs.get("url"), f"{path}.attrs.href")
        label = attrs.get("text") or attrs.get("label")
        if node.get("content"):
            h, t = self.inline(node, path, depth)
        elif isinstance(label, str) and label:
            h, t = escape_keeping_liquid(label), label
        else:
            raise self.fail(f"{path}.attrs.text", "a button needs a label")
        return (f'<p><a class="button" href="{escape_keeping_liquid(href)}" '
                'style="display:inline-block;padding:12px 20px;border-radius:6px;'
                f'text-decoration:none;font-weight:600">{h}</a></p>', f"{t}: {href}")

    # Inline ----------------------------------------------------------------
    def n_text(self, node: dict[str, Any], path: str, depth: int) -> tuple[str, str]:
        value = node.get("text")
        if not isinstance(value, str):
            raise self.fail(f"{path}.text", "must be a string")
        h, t = escape_keeping_liquid(value), value
        marks = node.get("marks") or []
        if not isinstance(marks, list):
            raise self.fail(f"{path}.marks", "must be a list")
        for i, mark in enumerate(marks):
            kind = mark.get("type") if isinstance(mark, dict) else None
            if not isinstance(kind, str):
                raise self.fail(f"{path}.marks[{i}].type", "each mark must have a type")
            if kind in MARK_TAGS:
                tag = MARK_TAGS[kind]
                h = f"<{tag}>{h}</{tag}>"
            elif kind == "link":
                href = self.url(self.attrs(mark).get("href"), f"{path}.marks[{i}].attrs.href")
                h = f'<a href="{escape_keeping_liquid(href)}">{h}</a>'
                if href != value:
                    t = f"{t} ({href})"
            elif kind in ("textStyle", "highlight"):
                continue
            else:
                raise self.fail(f"{path}.marks[{i}].type", f"unknown mark {kind!r}")
        return h, t


def render_body(doc: Any) -> RenderedBody:
    """Render a bodyDoc; raise Invalid (naming the path) on anything unknown."""
    if not isinstance(doc, dict) or doc.get("type") != "doc":
        raise Invalid('body_doc: must be a TipTap document {"type": "doc", "content": [...]}')
    h, t = _Renderer().node(doc, "", 0)
    return RenderedBody(html=h, text=t.strip())


def has_content(doc: Any) -> bool:
    """True when the document renders some visible text or an image/button."""
    try:
        rendered = render_body(doc)
    except Invalid:
        return False
    return bool(rendered.text.strip()) or "<img" in rendered.html
