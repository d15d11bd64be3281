"""bodyDoc rendering to HTML and plain text."""

from __future__ import annotations

import pytest

from letter.errors import Invalid
from letter.templates.bodydoc import has_content, render_body


def text(value: str, *marks: dict) -> dict:
    node: dict = {"type": "text", "text": value}
    if marks:
        node["marks"] = list(marks)
    return node


FULL = {"type": "doc", "content": [
    {"type": "heading", "attrs": {"level": 2}, "content": [text("Title")]},
    {"type": "paragraph", "content": [
        text("bold", {"type": "bold"}), text(" "), text("it", {"type": "italic"}), text(" "),
        text("u", {"type": "underline"}), text(" "), text("s", {"type": "strike"}), text(" "),
        text("c", {"type": "code"}), {"type": "hardBreak"},
        text("site", {"type": "link", "attrs": {"href": "https://acme.test/?a=1&b=2"}})]},
    {"type": "bulletList", "content": [
        {"type": "listItem", "content": [{"type": "paragraph", "content": [text("one")]}]},
        {"type": "listItem", "content": [{"type": "paragraph", "content": [text("two")]}]}]},
    {"type": "orderedList", "content": [
        {"type": "listItem", "content": [{"type": "paragraph", "content": [text("first")]}]}]},
    {"type": "blockquote", "content": [{"type": "paragraph", "content": [text("quoted")]}]},
    {"type": "horizontalRule"},
    {"type": "image", "attrs": {"src": "https://acme.test/a.png", "alt": "Logo"}},
    {"type": "button", "attrs": {"href": "https://acme.test/go", "text": "Go now"}},
]}


def test_every_node_renders_to_html_and_text():
    out = render_body(FULL)
    for fragment in ("<h2>Title</h2>", "<strong>bold</strong>", "<em>it</em>", "<u>u</u>",
                     "<s>s</s>", "<code>c</code>", "<br>",
                     '<a href="https://acme.test/?a=1&amp;b=2">site</a>',
                     "<ul><li><p>one</p></li><li><p>two</p></li></ul>", "<ol><li>",
                     "<blockquote><p>quoted</p></blockquote>", "<hr",
                     '<img src="https://acme.test/a.png" alt="Logo"',
                     'class="button" href="https://acme.test/go"', "Go now"):
        assert fragment in out.html, fragment
    assert out.text == (
        "Title\n\nbold it u s c\nsite (https://acme.test/?a=1&b=2)\n\n- one\n- two\n\n"
        "1. first\n\n> quoted\n\n----\n\n[Logo]\n\nGo now: https://acme.test/go")


def test_text_is_escaped_but_liquid_is_kept():
    out = render_body({"type": "doc", "content": [{"type": "paragraph", "content": [
        text('<b>x</b> {{ contact.traits.name | default: "you" }} {% if a > b %}y{% endif %}')]}]})
    assert out.html == ('<p>&lt;b&gt;x&lt;/b&gt; {{ contact.traits.name | default: "you" }} '
                        "{% if a > b %}y{% endif %}</p>")


@pytest.mark.parametrize(("doc", "where"), [
    ({"type": "doc", "content": [{"type": "video"}]}, "body_doc.content[0].type"),
    ({"type": "doc", "content": [{"type": "paragraph", "content": [
        text("x", {"type": "blink"})]}]}, "body_doc.content[0].content[0].marks[0].type"),
    ({"type": "doc", "content": [{"type": "paragraph", "content": [
        text("x", {"type": "link", "attrs": {"href": "javascript:alert(1)"}})]}]}, "href"),
    ({"type": "doc", "content": [{"type": "heading", "attrs": {"level": 9}}]}, "level"),
    ({"type": "doc", "content": "nope"}, "content must be a list"),
    ({"type": "paragraph"}, "TipTap document"),
    ("text", "TipTap document"),
    ({"type": "doc", "content": [{"type": "paragraph", "content": [{"type": "text"}]}]},
     "text"),
    # Found by fuzzing: a TypeError, an AttributeError, then <hTrue> and <h2.0>.
    ({"type": "doc", "content": [{"type": "paragraph", "content": [
        text("x", {"type": ["bold"]})]}]}, "marks[0].type"),
    ({"type": "doc", "content": [{"type": "paragraph", "content": [
        text("x", {"type": "link", "attrs": ["https://x.test"]})]}]}, "marks[0].attrs.href"),
    ({"type": "doc", "content": [{"type": "heading", "attrs": {"level": True}}]}, "level"),
    ({"type": "doc", "content": [{"type": "heading", "attrs": {"level": 2.0}}]}, "level"),
])
def test_bad_documents_are_clear_validation_errors(doc, where):
    with pytest.raises(Invalid) as info:
        render_body(doc)
    assert where in info.value.message


def test_has_content():
    assert has_content(FULL)
    assert not has_content({"type": "doc", "content": [{"type": "paragraph"}]})
    assert not has_content({"type": "video"})
