"""The template layout: a design becomes MJML, compiled by mrml once per
template version, then wrapped around a body and passed through css-inline.

The compiled layout keeps three markers (body, preview, unsubscribe link) that
:func:`compose` fills in; Liquid in the body is shielded from the CSS inliner
(which would re-escape ``>`` in ``{% if a > b %}``) and restored afterwards.

>>> page = compose(PRESETS["plain"], '<p>Hi {{ contact.email }}</p>', "Soon")  # doctest: +SKIP
"""

from __future__ import annotations

import html
import re
from functools import lru_cache

import css_inline
import mrml
import orjson

from letter.templates.bodydoc import LIQUID, escape_keeping_liquid
from letter.templates.design import PRESETS, font_stack

__all__ = ["PRESETS", "compile_layout", "compose", "footer_text"]

BODY, PREVIEW, UNSUB = "@@LETTER_BODY@@", "@@LETTER_PREVIEW@@", "@@LETTER_UNSUB@@"
SHIELD = re.compile(r"@@LQ(\d+)@@")
_BLANKS = re.compile(r"[ \t]{2,}|\t")
_inliner = css_inline.CSSInliner(
    keep_style_tags=True, keep_at_rules=True, load_remote_stylesheets=False
)


def _mjml(design: dict[str, object]) -> str:
    colors: dict[str, str] = design["colors"]  # type: ignore[assignment]
    footer: dict[str, str] = design["footer"]  # type: ignore[assignment]
    logo = design.get("logo")
    align = str(design["align"])
    font = html.escape(font_stack(str(design["font"])), quote=True)
    accent, text = colors["accent"], colors["text"]
    logo_part = ""
    if isinstance(logo, dict):
        src, alt = html.escape(logo["url"]), html.escape(str(logo.get("alt", "")))
        width = int(logo.get("width", 120))
        logo_part = (
            f'<mj-section padding="24px 0 0"><mj-column><mj-image src="{src}" alt="{alt}"'
            f' width="{width}px" align="{align}" padding="0 24px"/></mj-column></mj-section>'
        )
    foot = "<br>".join(
        escape_keeping_liquid(part).replace("\n", "<br>")
        for part in (footer.get("text", ""), footer.get("address", ""))
        if part
    )
    foot = (foot + "<br>" if foot else "") + f'<a href="{UNSUB}">Unsubscribe</a>'
    return f"""<mjml><mj-head>
<mj-preview>{PREVIEW}</mj-preview>
<mj-attributes><mj-all font-family="{font}"/>
<mj-text color="{text}" font-size="16px" line-height="1.6"/></mj-attributes>
<mj-style>
a {{ color: {accent}; }}
h1 {{ font-size: 26px; line-height: 1.3; margin: 0 0 16px; }}
h2 {{ font-size: 21px; line-height: 1.3; margin: 0 0 14px; }}
h3 {{ font-size: 18px; margin: 0 0 12px; }}
p {{ margin: 0 0 16px; }}
blockquote {{ margin: 0 0 16px; padding-left: 14px; border-left: 3px solid #d4d4d8; }}
code {{ font-family: {font_stack("mono")}; background: #f4f4f5; padding: 1px 4px; }}
a.button {{ background: {accent}; color: #ffffff; }}
.footer a {{ color: #71717a; }}
</mj-style></mj-head>
<mj-body background-color="{colors["background"]}" width="600px">{logo_part}
<mj-section background-color="{colors["content"]}" padding="24px 0">
<mj-column><mj-text padding="0 24px">{BODY}</mj-text></mj-column></mj-section>
<mj-section padding="16px 0 32px"><mj-column>
<mj-text css-class="footer" align="{align}" font-size="12px" color="#71717a"
 padding="0 24px">{foot}</mj-text>
</mj-column></mj-section></mj-body></mjml>"""


_PREVIEW_STYLE = 'style="display:none;font-size:1px;color:#ffffff;line-height:1px;'


@lru_cache(maxsize=256)
def _compile(design_json: bytes) -> str:
    html = str(mrml.to_html(_mjml(orjson.loads(design_json))).content)
    # The hidden preview text is white: on a tinted background spam filters read
    # that as text made hard to see on purpose (SpamAssassin HTML_FONT_LOW_CONTRAST).
    # It is display:none and opacity 0 already, so it needs no colour at all.
    html = html.replace(_PREVIEW_STYLE, _PREVIEW_STYLE.replace("color:#ffffff;", ""), 1)
    # The layout has no <pre>: runs of blanks mean nothing in it, and without them
    # DKIM's relaxed body canonicalisation has nothing to rewrite.
    return _BLANKS.sub(" ", html)


def compile_layout(design: dict[str, object]) -> str:
    """MJML → HTML for one design; cached on the design's content, so a template
    is compiled once per version (a new version is a new design)."""
    return _compile(orjson.dumps(design, option=orjson.OPT_SORT_KEYS))


def compose(design: dict[str, object], body_html: str, preview: str) -> str:
    """The whole email page (still Liquid source): layout + body + preview, inlined."""
    shielded: list[str] = []

    def shield(match: re.Match[str]) -> str:
        shielded.append(match.group(0))
        return f"@@LQ{len(shielded) - 1}@@"

    page = (
        compile_layout(design)
        .replace(BODY, LIQUID.sub(shield, body_html))
        .replace(PREVIEW, LIQUID.sub(shield, escape_keeping_liquid(preview)))
        .replace(UNSUB, "@@LQ_UNSUB@@")
    )
    page = _inliner.inline(page)
    page = page.replace("@@LQ_UNSUB@@", "{{ unsubscribe_url }}")
    return SHIELD.sub(lambda m: shielded[int(m.group(1))], page)


def footer_text(design: dict[str, object]) -> str:
    footer: dict[str, str] = design.get("footer") or {}  # type: ignore[assignment]
    lines = [footer.get("text", ""), footer.get("address", "")]
    return "\n".join(line for line in lines if line)
