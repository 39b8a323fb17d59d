"""Masking before display: the outbox already scrubs secrets when it writes; this is a second net."""

from __future__ import annotations

import json
import re
from typing import Any

MASK = "[masked]"
_SECRET_KEY = re.compile(r"authorization|token|password|passwd|secret|api[_-]?key|cookie", re.I)
_SECRET_VALUE = re.compile(r"\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+", re.I)
_SECRET_PAIR = re.compile(
    r'("?(?:authorization|[a-z_]*token|password|secret|api[_-]?key)"?\s*[:=]\s*)("[^"]*"|[^\s,}]+)',
    re.I,
)


def mask_value(value: Any) -> Any:
    """``value`` with secret-looking keys and Bearer/Basic credentials masked, at any depth."""
    if isinstance(value, dict):
        return {
            k: (MASK if _SECRET_KEY.search(str(k)) else mask_value(v)) for k, v in value.items()
        }
    if isinstance(value, list):
        return [mask_value(v) for v in value]
    if isinstance(value, str):
        return mask_text(value)
    return value


def mask_text(text: str) -> str:
    """Free text with ``Bearer x``/``Basic x`` and ``token=x``-like pairs masked."""
    text = _SECRET_VALUE.sub(lambda m: f"{m.group(1)} {MASK}", text)
    return _SECRET_PAIR.sub(lambda m: f"{m.group(1)}{MASK}", text)


def pretty_masked(raw: str | None) -> str:
    """Stored JSON as indented text with secrets masked; non-JSON text masked as text."""
    if not raw:
        return ""
    try:
        value = json.loads(raw)
    except ValueError:
        return mask_text(raw)
    return json.dumps(mask_value(value), indent=2, ensure_ascii=False, sort_keys=True)
