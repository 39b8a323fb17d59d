"""Rich-text documents as JSON, for the outbox.

A ``Doc`` is stored flavour-neutral because the flavour (ADF on Cloud, wiki
markup on Data Center) is only known when the row is sent.
"""

from __future__ import annotations

import json
from dataclasses import fields, is_dataclass
from typing import Any

from lib.jira.richtext import (
    BulletList,
    CodeBlock,
    Doc,
    HardBreak,
    Heading,
    Link,
    Paragraph,
    Rule,
    Text,
)

_TYPES = {
    cls.__name__: cls
    for cls in (Doc, Paragraph, Heading, BulletList, CodeBlock, Rule, Text, Link, HardBreak)
}


def _encode(value: Any) -> Any:
    if is_dataclass(value):
        return {
            "t": type(value).__name__,
            **{f.name: _encode(getattr(value, f.name)) for f in fields(value)},
        }
    if isinstance(value, (tuple, list)):
        return [_encode(v) for v in value]
    return value


def _decode(value: Any) -> Any:
    if isinstance(value, dict) and value.get("t") in _TYPES:
        cls = _TYPES[value["t"]]
        return cls(**{k: _decode(v) for k, v in value.items() if k != "t"})
    if isinstance(value, list):
        return tuple(_decode(v) for v in value)
    return value


def doc_to_json(doc: Doc) -> str:
    return json.dumps(_encode(doc), separators=(",", ":"))


def doc_from_json(text: str) -> Doc:
    """Raises: ValueError when ``text`` is not a stored doc."""
    doc = _decode(json.loads(text))
    if not isinstance(doc, Doc):
        raise ValueError("not a stored rich-text document")
    return doc
