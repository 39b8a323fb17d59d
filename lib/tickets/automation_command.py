"""The one-line automation command: ``GUID|CREATE|summary;Disk full|priority;High``.

Parsing is pure and happens before anything is sent: a malformed string is
refused with a message naming the part that is wrong. Field values are mapped
to the shapes Jira expects (priority by name, labels as a list, a description
as rich text, custom fields by id).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from enum import StrEnum

from lib.jira.richtext import SUMMARY_LIMIT, doc_from_text

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


def parse_command(text: str) -> AutomationCommand:
    """Parse and map a command string.

    Raises:
        AutomationRefused: missing parts, unknown action, a field without ``;``,
            an unknown field, a bad value. Nothing has been sent.
    """
    parts = (text or "").strip().split("|")
    if len(parts) < 3 or not all(p.strip() for p in parts[:2]):
        raise AutomationRefused(
            "Expected GUID|ACTION|field;value[|field;value...] "
            f"(got {len(parts)} part(s)); for example "
            "'abc-1|CREATE|summary;Disk full on orders|priority;High'."
        )
    guid, action = parts[0].strip(), parts[1].strip().upper()
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
        fields[name] = _map_value(number, name, value)
    if action == Action.CREATE and "summary" not in fields:
        raise AutomationRefused("A CREATE needs a summary (for example 'summary;Disk full').")
    return AutomationCommand(guid, Action(action), fields)


def _split_field(number: int, part: str) -> tuple[str, str]:
    if ";" not in part:
        raise AutomationRefused(
            f"Part {number} '{part.strip()[:60]}' has no ';' between the field and its value."
        )
    name, value = part.split(";", 1)
    name = name.strip().lower() if not name.strip().startswith("customfield_") else name.strip()
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


def _map_value(number: int, name: str, value: str):
    if name == "summary":
        if len(value) > SUMMARY_LIMIT:
            raise AutomationRefused(
                f"Part {number}: the summary has {len(value)} characters; Jira allows {SUMMARY_LIMIT}."
            )
        return value
    if name in ("description", "environment"):
        return doc_from_text(value)
    if name in ("priority", "issuetype"):
        return {"name": value}
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
        if not re.match(r"^\d{4}-\d{2}-\d{2}$", value):
            raise AutomationRefused(f"Part {number}: duedate must be YYYY-MM-DD, got '{value}'.")
        return value
    # A custom field takes JSON when it looks like JSON ({"value": "x"}, [..], 3), else text.
    if value[:1] in "{[" or re.match(r"^-?\d+(\.\d+)?$", value) or value in ("true", "false"):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            raise AutomationRefused(
                f"Part {number}: '{name}' looks like JSON but is not valid JSON."
            ) from None
    return value
