"""The ticket creation table: rows of (field, value, mode) kept in step with raw JSON.

Both directions are pure functions. Rows in ``exclude`` mode stay in the table
but leave the JSON; invalid JSON is refused and the table is left as it was.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

INCLUDE, EXCLUDE = "include", "exclude"
FIELD_ID = re.compile(r"^(customfield_\d+|[a-z][A-Za-z0-9_]*)$")


class FieldTableError(ValueError):
    """The JSON or a row cannot be used; the message says which and why."""


@dataclass(frozen=True)
class FieldRow:
    field: str
    value: str
    mode: str = INCLUDE


def cell_to_value(text: str):
    """A cell as typed: JSON when it parses as an object, list, number or bool; else text."""
    stripped = text.strip()
    if (
        stripped[:1] in "{["
        or stripped in ("true", "false", "null")
        or re.match(r"^-?\d+(\.\d+)?$", stripped)
    ):
        try:
            return json.loads(stripped)
        except json.JSONDecodeError:
            return text
    return text


def value_to_cell(value) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def rows_to_payload(rows: list[FieldRow]) -> dict:
    """The ``{"fields": {...}}`` body from the included rows.

    Raises:
        FieldTableError: a bad field id, or the same field included twice.
    """
    fields: dict = {}
    for row in rows:
        name = row.field.strip()
        if not FIELD_ID.match(name):
            raise FieldTableError(
                f"'{row.field}' is not a field id (like summary or customfield_10010)."
            )
        if row.mode not in (INCLUDE, EXCLUDE):
            raise FieldTableError(f"Mode for '{name}' must be include or exclude.")
        if row.mode == EXCLUDE:
            continue
        if name in fields:
            raise FieldTableError(f"'{name}' is included twice.")
        fields[name] = cell_to_value(row.value)
    return {"fields": fields}


def rows_to_json(rows: list[FieldRow]) -> str:
    return json.dumps(rows_to_payload(rows), indent=2, ensure_ascii=False)


def json_to_rows(text: str, current: list[FieldRow]) -> list[FieldRow]:
    """New rows after the JSON was edited: included rows follow the JSON, excluded ones stay.

    Raises:
        FieldTableError: the text is not JSON, or not ``{"fields": {...}}``.
    """
    try:
        payload = json.loads(text)
    except json.JSONDecodeError as exc:
        raise FieldTableError(
            f"The JSON is not valid (line {exc.lineno}, column {exc.colno}: "
            f"{exc.msg}); the table was left as it was."
        ) from None
    if not isinstance(payload, dict) or not isinstance(payload.get("fields"), dict):
        raise FieldTableError(
            'The JSON must be an object like {"fields": {"summary": "..."}}; '
            "the table was left as it was."
        )
    unknown = [k for k in payload if k not in ("fields", "update", "properties")]
    if unknown:
        raise FieldTableError(
            f"Unexpected top-level key(s): {', '.join(unknown)}; the table was left as it was."
        )
    for name in payload["fields"]:
        if not FIELD_ID.match(name):
            raise FieldTableError(f"'{name}' is not a field id; the table was left as it was.")
    rows = [
        FieldRow(name, value_to_cell(value), INCLUDE) for name, value in payload["fields"].items()
    ]
    included = {r.field for r in rows}
    rows += [r for r in current if r.mode == EXCLUDE and r.field not in included]
    return rows
