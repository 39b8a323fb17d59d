"""Rich text: ADF valid for any input, wiki markup that shows untrusted text as text."""

from __future__ import annotations

import json
import random
import re

import pytest

from lib.jira.richtext import (
    SUMMARY_LIMIT,
    TEXT_LIMIT,
    TRUNCATION_MARKER,
    BulletList,
    CodeBlock,
    Doc,
    HardBreak,
    Heading,
    Link,
    Paragraph,
    Rule,
    Text,
    adf_to_text,
    doc_from_text,
    fit_doc,
    fit_summary,
    to_adf,
    to_wiki,
    truncate,
    wiki_escape,
)

NASTY = [
    "",
    " ",
    "   ",
    "\n",
    "\n\n\n",
    "\t",
    "\r\n",
    "\x00",
    "\x00\x01\x1f",
    "\u200b",
    "\ud800",
    "a\ud800b",
    "{code}",
    "{code}x{code}",
    "{noformat}",
    "{code}{noformat}",
    "[x|javascript:alert(1)]",
    "[x|http://a]",
    "*bold*",
    "_em_",
    "-strike-",
    "+ins+",
    "^sup^",
    "~sub~",
    "??cite??",
    "{{mono}}",
    "h1. heading",
    "bq. quote",
    "----",
    "||a||b||",
    "|a|b|",
    "# item",
    "* item",
    "!image.png!",
    "@user",
    "%",
    "\\",
    "\\\\",
    "&#92;",
    "&amp;",
    "<script>alert(1)</script>",
    "[~accountid:123]",
    "{color:red}x{color}",
    ":)",
    "(y)",
    "emoji 🎉",
    "RTL \u202e txet",
    "line1\nline2",
    "para1\n\npara2",
    " lead",
    "trail ",
    "a" * 1000,
]


def random_strings(n: int = 200) -> list[str]:
    rng = random.Random(1234)
    alphabet = "ab {}[]|*_-+^~?!#%@()\\\n\t\r\x00\x07 &;:/.h1" + "é漢🎉\u200b\ud800"
    return ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40))) for _ in range(n)]


def docs_for(text: str) -> list[Doc]:
    inlines = (
        Text(text),
        Text(text, strong=True),
        Text(text, em=True, strong=True),
        Text(text, code=True),
        HardBreak(),
        Link(text, "https://dash.example/?anomaly=1"),
        Link(text, text),
    )
    return [
        doc_from_text(text),
        Doc(
            (
                Paragraph(inlines),
                Heading(3, inlines),
                BulletList((inlines, (Text(text),), ())),
                CodeBlock(text, language=text),
                Rule(),
                Paragraph(()),
                Heading(9, ()),
            )
        ),
    ]


@pytest.mark.parametrize("text", NASTY + random_strings())
def test_adf_is_valid_for_any_text(text, adf_validator):
    for doc in docs_for(text):
        adf = to_adf(doc)
        adf_validator.validate(adf)
        json.dumps(adf)  # serialisable, lone surrogates removed
        assert "\ud800" not in json.dumps(adf, ensure_ascii=False).encode(
            "utf-8", "surrogatepass"
        ).decode("utf-8", "replace")


def _all_texts(node):
    if isinstance(node, dict):
        if node.get("type") == "text":
            yield node["text"]
        for child in node.get("content", []):
            yield from _all_texts(child)


def test_empty_and_whitespace_produce_no_empty_text_nodes(adf_validator):
    for text in ("", " ", "\n", "\n\n"):
        adf = to_adf(doc_from_text(text))
        assert adf == {"type": "doc", "version": 1, "content": []}
        adf = to_adf(Doc((Paragraph((Text(text),)),)))
        assert all(t for t in _all_texts(adf))
        adf_validator.validate(adf)


def _unescaped(markup: str) -> str:
    return re.sub(r"\\(.)", "", markup)


@pytest.mark.parametrize("text", NASTY + random_strings())
def test_wiki_never_lets_text_become_markup(text):
    out = to_wiki(Doc((Paragraph((Text(text),)),)))
    # Drop escapes, entities and our own line breaks: what is left must be plain.
    bare = re.sub(r"&#?\w+;", "", _unescaped(out.replace("\\\\ ", " ")))
    for token in ("{", "}", "[", "]", "|", "*", "_", "!", "^", "~", "+", "(", ")", "#", "@"):
        assert token not in bare, (text, out)
    assert not re.match(r"^\s*(h[1-6]|bq)\.", out)


def test_wiki_examples():
    assert wiki_escape("{code}") == "\\{code\\}"
    assert wiki_escape("[x|javascript:alert(1)]") == "\\[x\\|javascript:alert\\(1\\)\\]"
    assert wiki_escape("a\\b") == "a&#92;b"
    doc = Doc(
        (
            Heading(3, (Text("Anomaly #42"),)),
            Paragraph(
                (
                    Text("Rows "),
                    Text("dropped", strong=True),
                    Text(" in "),
                    Text("orders", code=True),
                    HardBreak(),
                    Link("Open", "https://dash.example/?anomaly=42"),
                )
            ),
            BulletList(((Text("one"),), (Text("two"),))),
            CodeBlock("select 1", "sql"),
            Rule(),
        )
    )
    assert to_wiki(doc) == (
        "h3. Anomaly \\#42\n\n"
        "Rows *dropped* in {{orders}}\\\\ [Open|https://dash.example/?anomaly=42]\n\n"
        "* one\n* two\n\n{code:sql}\nselect 1\n{code}\n\n----"
    )


def test_unsafe_links_are_text():
    doc = Doc((Paragraph((Link("click", "javascript:alert(1)"),)),))
    assert to_wiki(doc) == "click"
    assert to_adf(doc)["content"][0]["content"] == [{"type": "text", "text": "click"}]
    pipes = to_wiki(Doc((Paragraph((Link("a|b]", "https://x/?q=a|b]c d"),)),)))
    assert pipes == "[a\\|b\\]|https://x/?q=a%7Cb%5Dc%20d]"


def test_code_block_cannot_be_closed_by_its_content():
    assert to_wiki(Doc((CodeBlock("x {code} y"),))) == "{noformat}\nx {code} y\n{noformat}"
    both = to_wiki(Doc((CodeBlock("{code}{noformat}"),)))
    assert both.count("{noformat}") == 2


def test_adf_shape(adf_validator):
    adf = to_adf(
        Doc(
            (
                Paragraph((Text("a\nb", strong=True), Link("site", "https://x"))),
                CodeBlock("print(1)", "python"),
            )
        )
    )
    adf_validator.validate(adf)
    para, code = adf["content"]
    assert para["content"][0] == {"type": "text", "text": "a", "marks": [{"type": "strong"}]}
    assert para["content"][1] == {"type": "hardBreak"}
    assert para["content"][3]["marks"] == [{"type": "link", "attrs": {"href": "https://x"}}]
    assert code == {
        "type": "codeBlock",
        "content": [{"type": "text", "text": "print(1)"}],
        "attrs": {"language": "python"},
    }


def test_adf_to_text_round_trip():
    doc = Doc(
        (
            Heading(2, (Text("Title"),)),
            Paragraph((Text("a"), HardBreak(), Text("b"))),
            BulletList(((Text("x"),), (Text("y"),))),
            CodeBlock("code"),
        )
    )
    assert adf_to_text(to_adf(doc)) == "Title\na\nb\n- x\n- y\ncode"
    assert (
        adf_to_text(
            {"type": "doc", "content": [{"type": "mention", "attrs": {"text": "@Ann"}}, 5, None]}
        )
        == "@Ann"
    )
    assert adf_to_text(None) == "" and adf_to_text("plain") == "plain"


def test_truncation_has_a_visible_marker():
    assert truncate("short", 10) == "short"
    cut = truncate("x" * 300, SUMMARY_LIMIT)
    assert len(cut) == SUMMARY_LIMIT and cut.endswith(TRUNCATION_MARKER)
    summary = fit_summary("line one\nline two " + "y" * 400)
    assert len(summary) == SUMMARY_LIMIT and "\n" not in summary


@pytest.mark.parametrize("render", [to_wiki, to_adf])
def test_fit_doc_respects_text_limit(render, adf_validator):
    big = Doc(
        (Paragraph((Text("{" * 20_000),)), CodeBlock("z" * 20_000), Paragraph((Text("tail"),)))
    )
    fitted = fit_doc(big, render)
    out = render(fitted)
    size = len(out) if isinstance(out, str) else len(json.dumps(out, separators=(",", ":")))
    assert TEXT_LIMIT - 200 < size <= TEXT_LIMIT
    assert "truncated" in (out if isinstance(out, str) else adf_to_text(out))
    if not isinstance(out, str):
        adf_validator.validate(out)
    small = doc_from_text("fits")
    assert fit_doc(small, render) is small
