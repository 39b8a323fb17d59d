"""Rich text as the sandbox needs it: check ADF, convert between flavours, render HTML.

The sandbox stores a description or comment body exactly as it was sent (an
ADF document from v3, a wiki string from v2) and converts only when the other
flavour reads it. The conversions are deliberately simple (structure and
links survive, exotic marks are flattened): enough for a faithful demo.
"""

from __future__ import annotations

import html
import re
from typing import Any

_SAFE_HREF = re.compile(r"^(https?://|mailto:|/|\?|#)", re.IGNORECASE)
_WIKI_LINK = re.compile(r"\[([^\[\]|]+)\|([^\[\]\s]+)\]")


def adf_problem(doc: Any) -> str | None:
    """Why ``doc`` is not an ADF document Jira would accept, or None when it is."""
    if not isinstance(doc, dict) or doc.get("type") != "doc":
        return "root must be an object of type 'doc'"
    if doc.get("version") != 1:
        return "root must have version 1"
    if not isinstance(doc.get("content"), list):
        return "root must have a content array"
    return _node_problem(doc)


def _node_problem(node: Any) -> str | None:
    if not isinstance(node, dict) or not isinstance(node.get("type"), str):
        return "every node must be an object with a type"
    if node["type"] == "text":
        # Jira refuses empty text nodes: a common cause of mysterious 400s.
        if not isinstance(node.get("text"), str) or not node["text"]:
            return "text nodes must have non-empty text"
        for mark in node.get("marks", []):
            if not isinstance(mark, dict) or "type" not in mark:
                return "marks must be objects with a type"
            if mark["type"] == "link" and not (mark.get("attrs") or {}).get("href"):
                return "link marks need attrs.href"
    for child in node.get("content", []) or []:
        problem = _node_problem(child)
        if problem:
            return problem
    return None


def adf_to_text(doc: Any) -> str:
    """Plain text of an ADF document (blocks separated by newlines)."""
    if isinstance(doc, str):
        return doc
    if not isinstance(doc, dict):
        return ""
    if doc.get("type") == "text":
        return doc.get("text", "")
    if doc.get("type") == "hardBreak":
        return "\n"
    parts = [adf_to_text(child) for child in doc.get("content", []) or []]
    joiner = "" if doc.get("type") in _INLINE_PARENTS else "\n"
    return joiner.join(parts)


_INLINE_PARENTS = {"paragraph", "heading", "codeBlock"}


def adf_to_wiki(doc: Any) -> str:
    """Wiki markup for an ADF document, for a v2 reader of a v3-written body."""
    if isinstance(doc, str):
        return doc
    blocks = [_block_to_wiki(block) for block in doc.get("content", []) or []]
    return "\n\n".join(block for block in blocks if block)


def _block_to_wiki(block: dict) -> str:
    kind = block.get("type")
    if kind == "heading":
        level = (block.get("attrs") or {}).get("level", 1)
        return f"h{level}. {_inline_to_wiki(block)}"
    if kind in ("bulletList", "orderedList"):
        bullet = "*" if kind == "bulletList" else "#"
        items = [adf_to_text(item).replace("\n", " ") for item in block.get("content", [])]
        return "\n".join(f"{bullet} {item}" for item in items)
    if kind == "codeBlock":
        return "{code}\n" + adf_to_text(block) + "\n{code}"
    if kind == "rule":
        return "----"
    return _inline_to_wiki(block)


def _inline_to_wiki(block: dict) -> str:
    out = []
    for node in block.get("content", []) or []:
        text = node.get("text", "\n" if node.get("type") == "hardBreak" else "")
        for mark in node.get("marks", []) or []:
            if mark.get("type") == "link":
                text = f"[{text}|{mark['attrs']['href']}]"
            elif mark.get("type") == "code":
                text = "{{" + text + "}}"
        out.append(text)
    return "".join(out)


def wiki_to_adf(text: str) -> dict:
    """A valid ADF document for a wiki string, for a v3 reader of a v2-written body."""
    content: list[dict] = []
    for kind, payload in _wiki_blocks(text):
        if kind == "code":
            node: dict = {"type": "codeBlock"}
            if payload:
                node["content"] = [{"type": "text", "text": payload}]
            content.append(node)
        elif kind == "heading":
            level, line = payload
            inline = _wiki_inline_to_adf(line)
            content.append({"type": "heading", "attrs": {"level": level}, "content": inline})
        elif kind == "bullets":
            items = [{"type": "listItem", "content": [_paragraph(item)]} for item in payload]
            content.append({"type": "bulletList", "content": items})
        else:
            content.append(_paragraph(payload))
    return {"type": "doc", "version": 1, "content": content}


def _paragraph(line: str) -> dict:
    inline = _wiki_inline_to_adf(line)
    return {"type": "paragraph", "content": inline} if inline else {"type": "paragraph"}


def _wiki_inline_to_adf(line: str) -> list[dict]:
    nodes, pos = [], 0
    for match in _WIKI_LINK.finditer(line):
        if match.start() > pos:
            nodes.append({"type": "text", "text": line[pos : match.start()]})
        link = {"type": "link", "attrs": {"href": match.group(2)}}
        nodes.append({"type": "text", "text": match.group(1), "marks": [link]})
        pos = match.end()
    if pos < len(line):
        nodes.append({"type": "text", "text": line[pos:]})
    return nodes


def _wiki_blocks(text: str):
    """Yield (kind, payload) blocks of a wiki string: code, heading, bullets, para."""
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        fence = re.match(r"^\{(code|noformat)(:[^}]*)?\}\s*$", line.strip())
        if fence:
            end = i + 1
            while end < len(lines) and lines[end].strip() not in ("{code}", "{noformat}"):
                end += 1
            yield "code", "\n".join(lines[i + 1 : end])
            i = end + 1
            continue
        heading = re.match(r"^h([1-6])\.\s+(.*)$", line)
        if heading:
            yield "heading", (int(heading.group(1)), heading.group(2))
        elif re.match(r"^[*#-]\s+", line):
            items = []
            while i < len(lines) and re.match(r"^[*#-]\s+", lines[i]):
                items.append(re.sub(r"^[*#-]\s+", "", lines[i]))
                i += 1
            yield "bullets", items
            continue
        elif line.strip():
            yield "para", line
        i += 1


def rich_to_html(body: Any) -> str:
    """Escaped HTML for a stored body, whichever flavour wrote it."""
    if isinstance(body, dict):
        return "".join(_adf_block_html(block) for block in body.get("content", []) or [])
    if isinstance(body, str):
        return _adf_to_html_via_wiki(body)
    return ""


def _adf_to_html_via_wiki(text: str) -> str:
    # Wiki goes through the ADF converter so both flavours render identically.
    return rich_to_html(wiki_to_adf(text))


def _adf_block_html(block: dict) -> str:
    kind = block.get("type")
    inner = "".join(_adf_inline_html(node) for node in block.get("content", []) or [])
    if kind == "heading":
        level = int((block.get("attrs") or {}).get("level", 1))
        return f"<h{level}>{inner}</h{level}>"
    if kind in ("bulletList", "orderedList"):
        tag = "ul" if kind == "bulletList" else "ol"
        items = "".join(
            "<li>" + "".join(_adf_block_html(b) for b in item.get("content", [])) + "</li>"
            for item in block.get("content", [])
        )
        return f"<{tag}>{items}</{tag}>"
    if kind == "codeBlock":
        return f"<pre><code>{html.escape(adf_to_text(block))}</code></pre>"
    if kind == "rule":
        return "<hr>"
    return f"<p>{inner}</p>"


def _adf_inline_html(node: dict) -> str:
    if node.get("type") == "hardBreak":
        return "<br>"
    if node.get("type") != "text":
        return html.escape(adf_to_text(node))
    text = html.escape(node.get("text", ""))
    for mark in node.get("marks", []) or []:
        kind = mark.get("type")
        if kind in ("strong", "em", "code"):
            tag = {"strong": "strong", "em": "em", "code": "code"}[kind]
            text = f"<{tag}>{text}</{tag}>"
        elif kind == "link":
            href = (mark.get("attrs") or {}).get("href", "")
            # Untrusted hrefs: only plain web links become clickable (no javascript:).
            if _SAFE_HREF.match(href):
                text = f'<a href="{html.escape(href, quote=True)}">{text}</a>'
    return text
