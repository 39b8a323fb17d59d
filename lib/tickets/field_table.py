"""The ticket creation table: rows of (field, value, mode) kept in step with raw JSON.

Both directions are pure functions. Rows in ``exclude`` mode stay in the table
but leave the JSON; invalid JSON is refused and the table is left as it was.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection
from dataclasses import dataclass

from lib.jira.richtext import RICH_TEXT_SYSTEM_FIELDS, Doc, doc_from_text
from lib.tickets.description import doc_text

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
    """A value as the table shows it: text as is, a rich-text doc as its text, else JSON."""
    if isinstance(value, Doc):
        return doc_text(value)
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


def rows_to_fields(rows: list[FieldRow], rich_text: Collection[str] = ()) -> dict:
    """The fields to send: as ``rows_to_payload``, with rich-text text as a ``Doc``.

    ``environment`` is always rich text; ``rich_text`` adds the ids createmeta
    marks as textarea custom fields (``create_form.rich_text_fields``). The
    client renders a Doc as ADF (Cloud) or wiki markup (Data Center); a plain
    string there would be refused by Cloud. The description stays text: the
    client and the ticket service already treat it as rich text.

    Raises:
        FieldTableError: as ``rows_to_payload``.
    """
    fields = rows_to_payload(rows)["fields"]
    wanted = (set(RICH_TEXT_SYSTEM_FIELDS) | set(rich_text)) - {"description"}
    typed = {r.field.strip(): r.value for r in rows if r.mode == INCLUDE}
    # Text stays text ("42" is not a number here); an object typed in (ADF) is kept.
    return {
        name: doc_from_text(typed[name], links=True)
        if name in wanted and value is not None and not isinstance(value, (dict, list))
        else value
        for name, value in fields.items()
    }


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
