"""The one-line automation command: ``GUID|CREATE|summary;Disk full|priority;High``.

Parsing is pure and happens before anything is sent: a malformed string is
refused with a message naming the part that is wrong. Field values are mapped
to the shapes Jira expects (priority by name, labels as a list, a description
as rich text, custom fields by id).

Decisions, and why:
- A backslash escapes the next ``|``, ``;`` or ``\\``, so a value can hold
  them (``summary;a \\| b``). Before any other character it is kept as
  typed: ``C:\\temp`` needs no doubling.
- Which custom field is a textarea (rich text: ADF on Cloud, wiki on Data
  Center), a number or a date is only known from Jira's create metadata, so
  the caller passes a lookup (``field_meta``: field id -> ``FieldMeta`` of
  the target project and issue type: ``create_form.createmeta_lookup``, or
  ``fields_lookup`` over fields already read).
  Without it a custom field's text is sent as text and only its JSON is
  checked; with it, a value the field's type cannot take is refused here.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from lib.jira.records import FieldMeta
from lib.jira.richtext import SUMMARY_LIMIT, doc_from_text

FieldLookup = Callable[[str], "FieldMeta | None"]

GUID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:\-]{0,127}$")
CUSTOM_FIELD = re.compile(r"^customfield_\d{3,}$")
KNOWN_FIELDS = (
    "summary",
    "description",
    "priority",
    "labels",
    "issuetype",
    "project",
    "duedate",
    "components",
    "environment",
)


class Action(StrEnum):
    CREATE = "CREATE"
    UPDATE = "UPDATE"


class AutomationRefused(ValueError):
    """The command string is malformed; the message names the wrong part."""


@dataclass(frozen=True)
class AutomationCommand:
    guid: str
    action: Action
    fields: dict  # Jira's shapes, ready for create_issue / edit_issue

    @property
    def summary(self) -> str | None:
        return self.fields.get("summary")


def fields_lookup(fields: Iterable[FieldMeta]) -> FieldLookup:
    """A ``field_meta`` lookup over one issue type's createmeta fields."""
    by_id = {f.field_id: f for f in fields}
    return by_id.get


def parse_command(text: str, field_meta: FieldLookup | None = None) -> AutomationCommand:
    """Parse and map a command string.

    Raises:
        AutomationRefused: missing parts, an empty GUID, unknown action, a field
            without ``;``, an unknown field, a value its field cannot take.
            Nothing has been sent.
    """
    parts = split_unescaped((text or "").strip(), "|")
    if len(parts) >= 2 and not parts[0].strip():
        raise AutomationRefused(
            "Part 1 (GUID) is empty: start with an id of your own, for example "
            "'abc-1|CREATE|summary;Disk full on orders'."
        )
    if len(parts) < 3 or not parts[1].strip():
        raise AutomationRefused(
            "Expected GUID|ACTION|field;value[|field;value...] "
            f"(got {len(parts)} part(s)); for example "
            "'abc-1|CREATE|summary;Disk full on orders|priority;High'."
        )
    guid, action = unescape(parts[0]).strip(), parts[1].strip().upper()
    if not GUID.match(guid):
        raise AutomationRefused(
            f"Part 1 (GUID) '{guid[:40]}' must be 1-128 letters, digits, '.', '_', ':' or '-'."
        )
    if action not in Action.__members__:
        raise AutomationRefused(f"Part 2 (action) '{parts[1].strip()}' is not CREATE or UPDATE.")
    fields: dict = {}
    for number, part in enumerate(parts[2:], start=3):
        name, value = _split_field(number, part)
        if name in fields:
            raise AutomationRefused(f"Part {number}: field '{name}' is given twice.")
        meta = field_meta(name) if field_meta is not None else None
        fields[name] = _map_value(number, name, value, meta)
    if action == Action.CREATE and "summary" not in fields:
        raise AutomationRefused("A CREATE needs a summary (for example 'summary;Disk full').")
    return AutomationCommand(guid, Action(action), fields)


_ESCAPABLE = "|;\\"


def split_unescaped(text: str, sep: str, maxsplit: int = -1) -> list[str]:
    """``text`` split on ``sep`` where no backslash escapes it; escapes are kept."""
    parts, current, i = [], [], 0
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text) and text[i + 1] in _ESCAPABLE:
            current.append(text[i : i + 2])
            i += 2
            continue
        if ch == sep and (maxsplit < 0 or len(parts) < maxsplit):
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
        i += 1
    parts.append("".join(current))
    return parts


def unescape(text: str) -> str:
    r"""``\|``, ``\;`` and ``\\`` as the character they stand for."""
    return re.sub(r"\\([|;\\])", r"\1", text)


def _split_field(number: int, part: str) -> tuple[str, str]:
    pieces = split_unescaped(part, ";", maxsplit=1)
    if len(pieces) < 2:
        raise AutomationRefused(
            f"Part {number} '{unescape(part).strip()[:60]}' has no ';' between the field "
            "and its value."
        )
    name, value = unescape(pieces[0]).strip(), unescape(pieces[1])
    name = name.lower() if not name.startswith("customfield_") else name
    if not name:
        raise AutomationRefused(f"Part {number} has no field name before ';'.")
    if name not in KNOWN_FIELDS and not CUSTOM_FIELD.match(name):
        raise AutomationRefused(
            f"Part {number}: unknown field '{name}' (use {', '.join(KNOWN_FIELDS)} "
            "or customfield_NNNNN)."
        )
    if not value.strip():
        raise AutomationRefused(f"Part {number}: field '{name}' has no value.")
    return name, value.strip()


def _map_value(number: int, name: str, value: str, meta: FieldMeta | None = None):
    if name == "summary":
        if len(value) > SUMMARY_LIMIT:
            raise AutomationRefused(
                f"Part {number}: the summary has {len(value)} characters; Jira allows {SUMMARY_LIMIT}."
            )
        return value
    if name in ("description", "environment"):
        return doc_from_text(value, links=True)
    if name in ("priority", "issuetype"):
        return _reference(number, name, value)
    if name == "project":
        return {"key": value.upper()}
    if name == "labels":
        labels = [label.strip() for label in value.split(",") if label.strip()]
        spaced = [label for label in labels if " " in label]
        if spaced:
            raise AutomationRefused(
                f"Part {number}: Jira labels cannot contain spaces ('{spaced[0]}')."
            )
        return labels
    if name == "components":
        return [{"name": c.strip()} for c in value.split(",") if c.strip()]
    if name == "duedate":
        return _date(number, name, value)
    return _custom_value(number, name, value, meta)


def _reference(number: int, name: str, value: str) -> dict:
    """A priority or issue type: a name, or JSON ``{"name": ...}`` / ``{"id": ...}``."""
    if value[:1] not in "{[":
        return {"name": value}
    try:
        ref = json.loads(value)
    except json.JSONDecodeError:
        ref = None
    if (
        isinstance(ref, dict)
        and len(ref) == 1
        and next(iter(ref)) in ("name", "id")
        and isinstance(next(iter(ref.values())), str)
        and next(iter(ref.values())).strip()
    ):
        return ref
    raise AutomationRefused(
        f"Part {number}: {name} must be a name (like 'High') or "
        f'{{"name": "..."}} / {{"id": "..."}}, got \'{value[:60]}\'.'
    )


def _date(number: int, name: str, value: str) -> str:
    try:
        if not re.match(r"^\d{4}-\d{2}-\d{2}$", value):
            raise ValueError
        return date.fromisoformat(value).isoformat()
    except ValueError:
        raise AutomationRefused(
            f"Part {number}: {name} must be YYYY-MM-DD (a real date), got '{value[:40]}'."
        ) from None


def _custom_value(number: int, name: str, value: str, meta: FieldMeta | None):
    kind = (meta.schema_type or "") if meta is not None else ""
    if meta is not None and meta.rich_text and value[:1] != "{":
        return doc_from_text(value, links=True)
    if kind == "number":
        if not re.match(r"^-?\d+(\.\d+)?$", value):
            raise AutomationRefused(
                f"Part {number}: '{name}' ({meta.name}) is a number field, got '{value[:40]}'."
            )
        return json.loads(value)
    if kind == "date":
        return _date(number, name, value)
    # A custom field takes JSON when it looks like JSON ({"value": "x"}, [..], 3), else text.
    if value[:1] in "{[" or re.match(r"^-?\d+(\.\d+)?$", value) or value in ("true", "false"):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            raise AutomationRefused(
                f"Part {number}: '{name}' looks like JSON but is not valid JSON."
            ) from None
    return value
