"""A tiny rich-text model rendered to ADF (Cloud) and wiki markup (Data Center).

Callers build a ``Doc`` (or pass a plain string, see ``doc_from_text``); the
client renders it for the flavour it talks to. Text is treated as untrusted:
an anomaly message such as ``{code}`` or ``[x|javascript:alert(1)]`` must be
shown as text, never interpreted as markup or as a live link.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import quote, urlsplit

SUMMARY_LIMIT = 255
TEXT_LIMIT = 32_767
TRUNCATION_MARKER = "… [truncated]"
SAFE_SCHEMES = frozenset({"http", "https", "mailto"})
# Fields Jira treats as rich text (ADF on Cloud v3, a wiki string on DC v2), as
# createmeta names them: system fields by id, custom fields by schema.custom.
RICH_TEXT_SYSTEM_FIELDS = frozenset({"description", "environment"})
TEXTAREA_CUSTOM = "com.atlassian.jira.plugin.system.customfieldtypes:textarea"
# A web address in plain text; trailing punctuation is the sentence's, not the URL's.
_URL = re.compile(r"https?://[^\s<>\"'\[\]{}|\\^`]+[^\s<>\"'\[\]{}|\\^`.,;:!?)]")


@dataclass(frozen=True)
class Text:
    text: str
    strong: bool = False
    em: bool = False
    code: bool = False


@dataclass(frozen=True)
class Link:
    text: str
    href: str


@dataclass(frozen=True)
class HardBreak:
    pass


Inline = Text | Link | HardBreak


@dataclass(frozen=True)
class Paragraph:
    inlines: tuple[Inline, ...] = ()


@dataclass(frozen=True)
class Heading:
    level: int
    inlines: tuple[Inline, ...] = ()


@dataclass(frozen=True)
class BulletList:
    items: tuple[tuple[Inline, ...], ...] = ()


@dataclass(frozen=True)
class CodeBlock:
    text: str
    language: str | None = None


@dataclass(frozen=True)
class Rule:
    pass


Block = Paragraph | Heading | BulletList | CodeBlock | Rule


@dataclass(frozen=True)
class Doc:
    blocks: tuple[Block, ...] = field(default_factory=tuple)


# Control characters (except tab and newline) and lone surrogates break Jira's
# storage and JSON encoders, so they are dropped from every text we send.
_BAD_CHARS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\ud800-\udfff]")


def clean_text(text: str) -> str:
    """``text`` without control characters and lone surrogates; CRLF -> LF."""
    return _BAD_CHARS.sub("", str(text).replace("\r\n", "\n").replace("\r", "\n"))


def doc_from_text(text: str, *, links: bool = False) -> Doc:
    """A plain string as paragraphs (blank lines) with hard breaks (newlines).

    With ``links``, http(s) addresses become links: a form's text that still
    holds the anomaly's address must reach Jira as a link, not as text.
    """
    blocks = []
    for chunk in re.split(r"\n\s*\n", clean_text(text)):
        if chunk.strip():
            blocks.append(Paragraph(_lines_to_inlines(chunk, links)))
    return Doc(tuple(blocks))


def as_doc(value: Doc | str) -> Doc:
    return value if isinstance(value, Doc) else doc_from_text(value)


def is_rich_text_field(field_id: str, custom: str | None = None) -> bool:
    """Whether Jira takes this field as rich text (createmeta's ``schema.custom``)."""
    return field_id in RICH_TEXT_SYSTEM_FIELDS or custom == TEXTAREA_CUSTOM


def _lines_to_inlines(text: str, links: bool = False) -> tuple[Inline, ...]:
    out: list[Inline] = []
    for i, line in enumerate(text.split("\n")):
        if i:
            out.append(HardBreak())
        out.extend(_linked(line) if links else (Text(line),))
    return tuple(out)


def _linked(line: str) -> list[Inline]:
    out: list[Inline] = []
    at = 0
    for match in _URL.finditer(line):
        if match.start() > at:
            out.append(Text(line[at : match.start()]))
        out.append(Link(match.group(0), match.group(0)))
        at = match.end()
    if at < len(line) or not out:
        out.append(Text(line[at:]))
    return out


def safe_href(href: str) -> str | None:
    """``href`` if its scheme is harmless (http, https, mailto), else None."""
    href = clean_text(href).strip()
    try:
        scheme = urlsplit(href).scheme.lower()
    except ValueError:
        return None
    return href if scheme in SAFE_SCHEMES and len(href) > len(scheme) + 1 else None


# ---------------------------------------------------------------- ADF
def to_adf(doc: Doc) -> dict[str, Any]:
    """The ADF document for ``doc``: valid against the ADF schema for any text."""
    content = [node for block in doc.blocks if (node := _adf_block(block)) is not None]
    return {"type": "doc", "version": 1, "content": content}


def _adf_block(block: Block) -> dict[str, Any] | None:
    if isinstance(block, Paragraph):
        return {"type": "paragraph", "content": _adf_inlines(block.inlines)}
    if isinstance(block, Heading):
        level = min(6, max(1, int(block.level)))
        return {
            "type": "heading",
            "attrs": {"level": level},
            "content": _adf_inlines(block.inlines),
        }
    if isinstance(block, BulletList):
        # A listItem needs at least one child and text must sit in a paragraph.
        items = [
            {"type": "listItem", "content": [{"type": "paragraph", "content": _adf_inlines(i)}]}
            for i in block.items
        ]
        return {"type": "bulletList", "content": items} if items else None
    if isinstance(block, CodeBlock):
        node: dict[str, Any] = {"type": "codeBlock", "content": []}
        text = clean_text(block.text)
        if text:
            node["content"] = [{"type": "text", "text": text}]  # code text takes no marks
        if block.language and _language(block.language):
            node["attrs"] = {"language": _language(block.language)}
        return node
    if isinstance(block, Rule):
        return {"type": "rule"}
    raise TypeError(f"not a rich-text block: {type(block).__name__}")


def _adf_inlines(inlines: tuple[Inline, ...]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for inline in inlines:
        if isinstance(inline, HardBreak):
            out.append({"type": "hardBreak"})
        elif isinstance(inline, Link):
            out.extend(_adf_link(inline))
        elif isinstance(inline, Text):
            out.extend(_adf_text(inline))
        else:
            raise TypeError(f"not a rich-text inline: {type(inline).__name__}")
    return out


def _adf_text(inline: Text) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    marks = [{"type": m} for m, on in (("strong", inline.strong), ("em", inline.em)) if on]
    if inline.code:
        marks = [{"type": "code"}]  # Jira refuses code combined with other marks
    for i, line in enumerate(clean_text(inline.text).split("\n")):
        if i:
            out.append({"type": "hardBreak"})
        if line:  # ADF text nodes must not be empty
            out.append({"type": "text", "text": line, **({"marks": marks} if marks else {})})
    return out


def _adf_link(link: Link) -> list[dict[str, Any]]:
    href = safe_href(link.href)
    label = clean_text(link.text).replace("\n", " ") or clean_text(link.href).replace("\n", " ")
    if not label:
        return []
    if href is None:  # an unsafe scheme is shown as plain text, never as a link
        return [{"type": "text", "text": label}]
    return [{"type": "text", "text": label, "marks": [{"type": "link", "attrs": {"href": href}}]}]


def _language(language: str) -> str:
    return re.sub(r"[^A-Za-z0-9+#_-]", "", language)[:30]


# ---------------------------------------------------------------- wiki markup
_WIKI_SPECIAL = re.compile(r"([-#*_+?^~|%{}\[\]()!@\\])")
_ENTITY_LIKE = re.compile(r"&(?=#?\w+;)")
_BLOCK_START = re.compile(r"^(\s*)(h[1-6]|bq)\.", re.I)


def wiki_escape(text: str) -> str:
    """Untrusted text as wiki markup that renders as the same text."""
    text = _ENTITY_LIKE.sub("&amp;", clean_text(text))
    # A backslash escapes the next character and "\\" is a line break in wiki,
    # so a literal backslash is written as an HTML entity instead (one pass, so
    # the entity's "#" is not escaped again).
    return _WIKI_SPECIAL.sub(lambda m: "&#92;" if m.group(1) == "\\" else "\\" + m.group(1), text)


def to_wiki(doc: Doc) -> str:
    """Wiki markup (Jira Data Center / Server) for ``doc``."""
    rendered = [text for block in doc.blocks if (text := _wiki_block(block)).strip()]
    return "\n\n".join(rendered)


def _wiki_block(block: Block) -> str:
    if isinstance(block, Paragraph):
        # "h1." or "bq." at the start of a paragraph would become markup.
        return _BLOCK_START.sub(
            lambda m: m.group(1) + m.group(2) + "&#46;", _wiki_inlines(block.inlines)
        )
    if isinstance(block, Heading):
        level = min(6, max(1, int(block.level)))
        text = _wiki_inlines(tuple(i for i in block.inlines if not isinstance(i, HardBreak)))
        return f"h{level}. {text.replace(chr(92) * 2, ' ')}" if text.strip() else ""
    if isinstance(block, BulletList):
        lines = [f"* {_wiki_inlines(item)}" for item in block.items]
        return "\n".join(line for line in lines if line.strip() != "*")
    if isinstance(block, CodeBlock):
        return _wiki_code(clean_text(block.text), block.language)
    if isinstance(block, Rule):
        return "----"
    raise TypeError(f"not a rich-text block: {type(block).__name__}")


def _wiki_inlines(inlines: tuple[Inline, ...]) -> str:
    parts: list[str] = []
    for inline in inlines:
        if isinstance(inline, HardBreak):
            parts.append("\\\\ ")
        elif isinstance(inline, Link):
            parts.append(_wiki_link(inline))
        elif isinstance(inline, Text):
            parts.append(
                "\\\\ ".join(
                    _wiki_span(line, inline) for line in clean_text(inline.text).split("\n")
                )
            )
        else:
            raise TypeError(f"not a rich-text inline: {type(inline).__name__}")
    return "".join(parts)


def _wiki_span(text: str, inline: Text) -> str:
    core = text.strip()
    if not core:
        return text
    lead, trail = text[: len(text) - len(text.lstrip())], text[len(text.rstrip()) :]
    body = _wiki_text(core) if not inline.code else wiki_escape(core)
    if inline.code:
        body = "{{" + body + "}}"
    else:
        # Wiki emphasis only works when the markers touch the words.
        if inline.em:
            body = f"_{body}_"
        if inline.strong:
            body = f"*{body}*"
    return lead + body + trail


def _wiki_text(text: str) -> str:
    """Escaped text whose web addresses stay usable links (``[url]``, not ``...\\?x``)."""
    parts, at = [], 0
    for match in _URL.finditer(text):
        parts.append(wiki_escape(text[at : match.start()]))
        parts.append(f"[{_wiki_url(match.group(0))}]")
        at = match.end()
    parts.append(wiki_escape(text[at:]))
    return "".join(parts)


def _wiki_link(link: Link) -> str:
    label = clean_text(link.text).replace("\n", " ").strip()
    href = safe_href(link.href)
    if href is None:
        shown = label or clean_text(link.href).replace("\n", " ")
        return wiki_escape(shown)
    url = _wiki_url(href)
    # A label that is the address itself is written as the (encoded) address:
    # escaped, it would show as ".../\\?anomaly=9".
    shown = url if label in (href, url) else wiki_escape(label)
    return f"[{shown}|{url}]" if label else f"[{url}]"


def _wiki_url(href: str) -> str:
    # Characters that would end the link markup are percent-encoded.
    return quote(href, safe="/:?=&#%~._-@+,;!$'*")


def _wiki_code(text: str, language: str | None) -> str:
    # Code content is literal until the closing macro, so pick the macro whose
    # terminator does not occur in the text; break it if both occur.
    lang = _language(language or "")
    if "{code" not in text:
        return ("{code:" + lang + "}" if lang else "{code}") + "\n" + text + "\n{code}"
    if "{noformat" not in text:
        return "{noformat}\n" + text + "\n{noformat}"
    return "{noformat}\n" + text.replace("{noformat", "{\u200bnoformat") + "\n{noformat}"


# ---------------------------------------------------------------- reading back
def adf_to_text(node: Any) -> str:
    """Plain text of an ADF document (comments read back from Cloud)."""
    return _squeeze("".join(_adf_text_parts(node)))


_BLOCK_TYPES = {"paragraph", "heading", "codeBlock", "blockquote", "panel", "rule", "mediaSingle"}


def _adf_text_parts(node: Any) -> list[str]:
    if isinstance(node, str):
        return [node]
    if isinstance(node, list):
        return [p for child in node for p in _adf_text_parts(child)]
    if not isinstance(node, dict):
        return []
    kind = node.get("type")
    attrs = node.get("attrs") if isinstance(node.get("attrs"), dict) else {}
    if kind == "text":
        return [str(node.get("text") or "")]
    if kind == "hardBreak":
        return ["\n"]
    if kind in ("mention", "emoji", "status", "date"):
        return [str(attrs.get("text") or attrs.get("shortName") or "")]
    if kind in ("inlineCard", "blockCard"):
        return [str(attrs.get("url") or "")]
    inner = _adf_text_parts(node.get("content") or [])
    if kind == "listItem":
        return ["- "] + inner
    if kind in _BLOCK_TYPES or kind in ("bulletList", "orderedList"):
        return inner + ["\n"]
    return inner


def _squeeze(text: str) -> str:
    return re.sub(r"\n{2,}", "\n", text).strip()


# ---------------------------------------------------------------- limits
def truncate(text: str, limit: int, marker: str = TRUNCATION_MARKER) -> str:
    """``text`` cut to ``limit`` characters, ending in a visible marker if cut."""
    if len(text) <= limit:
        return text
    return text[: max(0, limit - len(marker))].rstrip() + marker[:limit]


def fit_summary(text: str) -> str:
    """One line, at most Jira's 255 characters."""
    return truncate(" ".join(clean_text(text).split()), SUMMARY_LIMIT)


def fit_doc(doc: Doc, render: Callable[[Doc], Any], limit: int = TEXT_LIMIT) -> Doc:
    """``doc`` cut so ``render(doc)`` stays within ``limit`` characters.

    The size is measured on the rendered output (compact JSON for ADF), which
    is never shorter than what Jira counts, so the cut doc is always accepted.
    """
    if _size(render(doc)) <= limit:
        return doc
    marker = Paragraph((Text(TRUNCATION_MARKER, em=True),))
    low, high = 0, _text_length(doc)
    while low < high:  # the largest text budget that still fits
        mid = (low + high + 1) // 2
        if _size(render(Doc(_cut_blocks(doc.blocks, mid) + (marker,)))) <= limit:
            low = mid
        else:
            high = mid - 1
    return Doc(_cut_blocks(doc.blocks, low) + (marker,))


def _size(rendered: Any) -> int:
    return (
        len(rendered)
        if isinstance(rendered, str)
        else len(json.dumps(rendered, separators=(",", ":")))
    )


def _text_length(doc: Doc) -> int:
    return sum(len(t) for b in doc.blocks for t in _block_texts(b))


def _block_texts(block: Block) -> list[str]:
    if isinstance(block, CodeBlock):
        return [block.text]
    inl = (
        [i for item in block.items for i in item]
        if isinstance(block, BulletList)
        else list(getattr(block, "inlines", ()))
    )
    return [i.text for i in inl if isinstance(i, (Text, Link))]


def _cut_blocks(blocks: tuple[Block, ...], budget: int) -> tuple[Block, ...]:
    out: list[Block] = []
    for block in blocks:
        if budget <= 0:
            break
        if isinstance(block, CodeBlock):
            out.append(replace(block, text=block.text[:budget]))
            budget -= len(block.text)
        elif isinstance(block, BulletList):
            items = []
            for item in block.items:
                cut, budget = _cut_inlines(item, budget)
                items.append(cut)
                if budget <= 0:
                    break
            out.append(BulletList(tuple(items)))
        elif isinstance(block, (Paragraph, Heading)):
            cut, budget = _cut_inlines(block.inlines, budget)
            out.append(replace(block, inlines=cut))
        else:
            out.append(block)
    return tuple(out)


def _cut_inlines(inlines: tuple[Inline, ...], budget: int) -> tuple[tuple[Inline, ...], int]:
    out: list[Inline] = []
    for inline in inlines:
        if budget <= 0:
            break
        if isinstance(inline, (Text, Link)):
            out.append(replace(inline, text=inline.text[:budget]))
            budget -= len(inline.text)
        else:
            out.append(inline)
    return tuple(out), budget
