"""The bodyDoc renderer and personalisation under arbitrary input
(hypothesis, a fixed budget): whatever a client stores as a body, rendering
it either works or raises ``Invalid`` naming the problem — no other
exception, and no example takes long (no hang)."""

from __future__ import annotations

import os
from datetime import timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from letter.errors import Invalid
from letter.templates.bodydoc import render_body
from letter.templates.design import PRESETS
from letter.templates.render import compile_content

EXAMPLES = int(os.environ.get("LETTER_FUZZ_EXAMPLES", "200"))
DERANDOMIZE = "LETTER_FUZZ_EXAMPLES" not in os.environ
BUDGET = settings(max_examples=EXAMPLES, derandomize=DERANDOMIZE, database=None,
                  deadline=timedelta(seconds=5), suppress_health_check=list(HealthCheck))

NODE_TYPES = ["doc", "paragraph", "heading", "blockquote", "bulletList", "orderedList",
              "listItem", "horizontalRule", "hardBreak", "codeBlock", "image", "button",
              "text", "table"]
MARKS = ["bold", "italic", "underline", "strike", "code", "link", "textStyle", "highlight",
         "superscript"]
LIQUID = ["{{ contact.email }}", "{{ contact.traits.name | upcase }}", "{% if x %}",
          "{% endif %}", "{{", "}}", "{%", "%}", "{% for i in (1..100000) %}{{ i }}{% endfor %}",
          "{{ 'a' | append: x }}", "{% raw %}", "{% comment %}", "{{ x | divided_by: 0 }}",
          "{% assign a = 1 %}", "{% endfor %}", "{% include 'x' %}", "{{ a.b.c.d.e.f }}"]
URLS = ["https://example.com/a?b=1&c=<2>", "mailto:a@example.com", "tel:+1", "javascript:x",
        "{{ unsubscribe_url }}", " http://x ", "data:text/html,hi", ""]

scalars = st.one_of(st.none(), st.booleans(), st.integers(-3, 10), st.floats(allow_nan=True),
                    st.text(max_size=20), st.sampled_from(URLS))
odd_values = st.one_of(scalars, st.lists(scalars, max_size=2),
                       st.dictionaries(st.sampled_from(["type", "href", "text"]), scalars))
text_values = st.lists(st.one_of(st.text(max_size=30), st.sampled_from(LIQUID)),
                       max_size=4).map("".join)
attrs = st.fixed_dictionaries({}, optional={
    "level": st.integers(0, 7), "textAlign": st.sampled_from(["center", "left", "x"]),
    "start": st.integers(-2, 5), "src": st.sampled_from(URLS), "alt": text_values,
    "href": st.sampled_from(URLS), "url": st.sampled_from(URLS), "text": text_values})
marks = st.lists(st.fixed_dictionaries({"type": st.sampled_from(MARKS)},
                                       optional={"attrs": attrs}), max_size=3)
leaves = st.fixed_dictionaries({"type": st.just("text"), "text": text_values},
                               optional={"marks": marks})


def _block(children: st.SearchStrategy[Any] | None) -> st.SearchStrategy[Any]:
    content = st.lists(children, max_size=4) if children is not None else st.just([])
    return st.fixed_dictionaries({"type": st.sampled_from(NODE_TYPES), "content": content},
                                 optional={"attrs": attrs})


well_formed = st.fixed_dictionaries({"type": st.just("doc"), "content": st.lists(
    st.recursive(leaves | _block(None), _block, max_leaves=30), max_size=4)})


def _slots(value: Any) -> list[tuple[Any, Any]]:
    """Every (container, key) in a document, to overwrite one of them."""
    found: list[tuple[Any, Any]] = []
    items = value.items() if isinstance(value, dict) else enumerate(value)
    for key, child in items:
        found.append((value, key))
        if isinstance(child, dict | list):
            found.extend(_slots(child))
    return found


@st.composite
def docs(draw: st.DrawFn) -> Any:
    """A well-formed document with up to three values replaced by odd ones."""
    doc = draw(well_formed)
    for _ in range(draw(st.integers(0, 3))):
        slots = _slots(doc)
        container, key = draw(st.sampled_from(slots))
        container[key] = draw(odd_values)
    return doc


def _deep(depth: int) -> dict[str, Any]:
    doc: dict[str, Any] = {"type": "text", "text": "x"}
    for _ in range(depth):
        doc = {"type": "blockquote", "content": [doc]}
    return {"type": "doc", "content": [doc]}


@BUDGET
@given(doc=docs())
def test_render_body_renders_or_says_invalid(doc: Any) -> None:
    try:
        rendered = render_body(doc)
    except Invalid as exc:
        assert str(exc).startswith("body_doc")
        return
    assert isinstance(rendered.html, str) and isinstance(rendered.text, str)
    for unsafe in ('href="javascript', 'src="javascript', 'href="data:', 'src="data:'):
        assert unsafe not in rendered.html


@BUDGET
@given(doc=docs(), subject=text_values, preview=text_values,
       traits=st.dictionaries(st.sampled_from(["name", "plan", "x"]), scalars | text_values))
def test_personalised_rendering_renders_or_says_invalid(doc: Any, subject: str, preview: str,
                                                         traits: dict[str, Any]) -> None:
    context = {"contact": {"email": "ada@example.com", "traits": traits}, "x": traits.get("x"),
               "unsubscribe_url": "https://l.test/u"}
    try:
        out = compile_content(PRESETS["branded"], subject=subject, preview=preview,
                              body_doc=doc).render(context)
    except Invalid:
        return
    assert "\n" not in out.subject and "\r" not in out.subject


def test_nesting_beyond_the_limit_is_invalid_not_a_recursion_error() -> None:
    for depth in (39, 41, 5000):
        try:
            render_body(_deep(depth))
        except Invalid as exc:
            assert depth > 39 and "nested too deeply" in str(exc)
