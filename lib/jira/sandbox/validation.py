"""Check create/edit payloads the way Jira does, with Jira's own error messages.

Pure functions: a payload in, (changes, errors) out. ``errors`` maps a field
to a message, as in Jira's ``{"errorMessages": [], "errors": {...}}``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from lib.jira.demo_credentials import DEMO_DC_USERNAME

from .richtext import adf_problem
from .state import (
    CUSTOM_FIELDS,
    PRIORITIES,
    TEXTAREA,
    Project,
    find_custom_field,
    find_issue_type,
    find_project,
)

SUMMARY_MAX = 255
TEXT_MAX = 32767
LABEL_MAX = 255
PROPERTY_MAX_BYTES = 32768
ADF_REQUIRED = "Operation value must be an Atlassian Document (see the Atlassian Document Format)"
STRING_REQUIRED = "Operation value must be a string"
NUMBER_REQUIRED = "Operation value must be a number"
SETTABLE = {
    "project",
    "issuetype",
    "summary",
    "description",
    "priority",
    "labels",
    "environment",
    "duedate",
    "components",
    "assignee",
    *(f.id for f in CUSTOM_FIELDS),
}
# The sandbox's one user, as each flavour names a user in a field.
ASSIGNABLE = {"3": ("accountId", "sandbox-account-1"), "2": ("name", DEMO_DC_USERNAME)}


@dataclass
class IssueChanges:
    """The validated effect of a create or edit payload."""

    values: dict[str, Any] = field(default_factory=dict)
    project: Project | None = None
    labels_add: list[str] = field(default_factory=list)
    labels_remove: list[str] = field(default_factory=list)
    properties: dict[str, Any] = field(default_factory=dict)
    custom: dict[str, Any] = field(default_factory=dict)


def rich_text_error(value: Any, version: str) -> str | None:
    """Why ``value`` is not acceptable rich text for this API version."""
    if version == "3":
        if not isinstance(value, dict) or adf_problem(value):
            return ADF_REQUIRED
        if len(json.dumps(value)) > TEXT_MAX * 4:
            return (
                "The entered text is too long. It exceeds the allowed limit of 32,767 characters."
            )
        return None
    if not isinstance(value, str):
        return STRING_REQUIRED
    if len(value) > TEXT_MAX:
        return "The entered text is too long. It exceeds the allowed limit of 32,767 characters."
    return None


def check_issue_payload(
    body: Any, version: str, existing_project: Project | None = None
) -> tuple[IssueChanges, dict]:
    """Validate a POST /issue (``existing_project`` None) or PUT /issue/{key} body."""
    changes, errors = IssueChanges(), {}
    if not isinstance(body, dict):
        return changes, {"": "Invalid request payload."}
    fields = body.get("fields") or {}
    if not isinstance(fields, dict):
        return changes, {"fields": "Field 'fields' must be an object."}
    creating = existing_project is None
    for name in fields:
        if name not in SETTABLE:
            errors[name] = (
                f"Field '{name}' cannot be set. It is not on the appropriate screen, or unknown."
            )
    if creating:
        changes.project = _check_project(fields, errors)
        _check_issue_type(fields, changes, errors)
    else:
        changes.project = existing_project
        if "project" in fields:
            errors["project"] = (
                "Field 'project' cannot be set. It is not on the appropriate screen, or unknown."
            )
        if "issuetype" in fields:
            _check_issue_type(fields, changes, errors)
    _check_summary(fields, creating, changes, errors)
    for name in ("description", "environment"):
        _check_rich_text(fields, name, version, changes.values, errors)
    _check_duedate(fields, changes, errors)
    _check_components(fields, changes, errors)
    _check_assignee(fields, version, changes, errors)
    _check_custom(fields, version, changes, errors)
    _check_priority(fields, changes, errors)
    _check_labels(fields, body.get("update"), changes, errors)
    _check_properties(body.get("properties"), changes, errors)
    return changes, errors


def _check_rich_text(fields: dict, name: str, version: str, into: dict, errors: dict) -> None:
    if name not in fields:
        return
    if fields[name] is not None and (problem := rich_text_error(fields[name], version)):
        errors[name] = problem
    into[name] = fields[name]


def _check_duedate(fields: dict, changes: IssueChanges, errors: dict) -> None:
    if "duedate" not in fields:
        return
    value = fields["duedate"]
    if value is not None:
        try:
            if not isinstance(value, str) or len(value) != 10:
                raise ValueError
            date.fromisoformat(value)
        except ValueError:
            errors["duedate"] = f"Error parsing date string: {value}"
            return
    changes.values["duedate"] = value


def _check_components(fields: dict, changes: IssueChanges, errors: dict) -> None:
    if "components" not in fields:
        return
    refs = fields["components"] or []
    if not isinstance(refs, list):
        errors["components"] = "data was not an array"
        return
    known = changes.project.components if changes.project is not None else ()
    ids = []
    for ref in refs:
        ref = ref if isinstance(ref, dict) else {}
        found = next(
            (
                c
                for c in known
                if (ref.get("id") is not None and str(ref["id"]) == c.id)
                or (ref.get("name") is not None and ref["name"] == c.name)
            ),
            None,
        )
        if found is None:
            shown = ref.get("name") or ref.get("id")
            errors["components"] = (
                f"Component name '{shown}' is not valid"
                if ref.get("name")
                else f"Component with id '{shown}' does not exist."
            )
            return
        ids.append(found.id)
    changes.values["components"] = list(dict.fromkeys(ids))


def _check_assignee(fields: dict, version: str, changes: IssueChanges, errors: dict) -> None:
    """Cloud names a user by ``accountId``, Data Center by ``name``; null unassigns."""
    if "assignee" not in fields:
        return
    ref, (attribute, known) = fields["assignee"], ASSIGNABLE[version]
    if ref is None:
        changes.values["assignee"] = None
        return
    given = ref.get(attribute) if isinstance(ref, dict) else None
    if given != known:
        errors["assignee"] = (
            "Specified user does not exist or you do not have required permissions"
            if version == "3"
            else f"User '{given}' does not exist."
        )
        return
    changes.values["assignee"] = given


def _check_custom(fields: dict, version: str, changes: IssueChanges, errors: dict) -> None:
    for name, value in fields.items():
        custom = find_custom_field(name)
        if custom is None:
            continue
        if value is None:
            problem = None
        elif custom.custom == TEXTAREA:
            problem = rich_text_error(value, version)
        elif custom.schema_type == "number":
            is_number = isinstance(value, (int, float)) and not isinstance(value, bool)
            problem = None if is_number else NUMBER_REQUIRED
        else:
            problem = None
        if problem:
            errors[name] = problem
        else:
            changes.custom[name] = value


def _check_project(fields: dict, errors: dict) -> Project | None:
    ref = fields.get("project")
    if not isinstance(ref, dict) or not (ref.get("key") or ref.get("id")):
        errors["project"] = "Specify a valid project ID or key"
        return None
    project = find_project(str(ref.get("key") or ref.get("id")))
    if project is None:
        errors["project"] = "valid project is required"
    return project


def _check_issue_type(fields: dict, changes: IssueChanges, errors: dict) -> None:
    ref = fields.get("issuetype")
    if not isinstance(ref, dict) or not (ref.get("name") or ref.get("id")):
        errors["issuetype"] = "Specify an issue type"
        return
    found = find_issue_type(name=ref.get("name"), id_=str(ref["id"]) if ref.get("id") else None)
    if found is None:
        errors["issuetype"] = "The issue type selected is invalid."
    else:
        changes.values["issuetype_id"] = found.id


def _check_summary(fields: dict, creating: bool, changes: IssueChanges, errors: dict) -> None:
    if "summary" not in fields and not creating:
        return
    summary = fields.get("summary")
    if summary is not None and not isinstance(summary, str):
        errors["summary"] = STRING_REQUIRED
    elif not summary or not summary.strip():
        errors["summary"] = "You must specify a summary of the issue."
    elif len(summary) > SUMMARY_MAX:
        errors["summary"] = "Summary must be less than 255 characters."
    elif "\n" in summary or "\r" in summary:
        errors["summary"] = "The summary is invalid because it contains newline characters."
    else:
        changes.values["summary"] = summary


def _check_priority(fields: dict, changes: IssueChanges, errors: dict) -> None:
    if "priority" not in fields:
        return
    ref = fields["priority"]
    if not isinstance(ref, dict) or not (ref.get("name") or ref.get("id")):
        errors["priority"] = "Could not find valid 'id' or 'name' in priority object."
        return
    if ref.get("id"):
        name = next((n for n, i in PRIORITIES.items() if i == str(ref["id"])), None)
    else:
        name = next((n for n in PRIORITIES if n.lower() == str(ref["name"]).lower()), None)
    if name is None:
        shown = ref.get("name") or ref.get("id")
        errors["priority"] = (
            f"Priority name '{shown}' is not valid"
            if ref.get("name")
            else "The priority selected is invalid."
        )
        return
    if changes.project is not None and name not in changes.project.allowed_priorities:
        # Exists on the site, but not in this project's priority scheme.
        errors["priority"] = "The priority selected is invalid."
        return
    changes.values["priority"] = name


def label_error(label: Any) -> str | None:
    if not isinstance(label, str) or not label:
        return "Labels must be non-empty strings."
    if any(ch.isspace() for ch in label):
        return f"The label '{label}' contains spaces which is invalid."
    if len(label) > LABEL_MAX:
        return (
            f"The label '{label}' exceeds the maximum length for a single label of 255 characters."
        )
    return None


def _check_labels(fields: dict, update: Any, changes: IssueChanges, errors: dict) -> None:
    if "labels" in fields:
        labels = fields["labels"]
        if not isinstance(labels, list):
            errors["labels"] = "data was not an array"
        else:
            problems = [label_error(label) for label in labels]
            if any(problems):
                errors["labels"] = next(p for p in problems if p)
            else:
                changes.values["labels"] = list(dict.fromkeys(labels))
    operations = (update or {}).get("labels") if isinstance(update, dict) else None
    for operation in operations or []:
        for verb, label in (operation or {}).items():
            problem = (
                label_error(label)
                if verb in ("add", "remove")
                else f"Operation '{verb}' is not supported for labels."
            )
            if problem:
                errors["labels"] = problem
            elif verb == "add":
                changes.labels_add.append(label)
            else:
                changes.labels_remove.append(label)


def property_error(value: Any) -> str | None:
    if len(json.dumps(value).encode()) > PROPERTY_MAX_BYTES:
        return "The property value exceeds the maximum length of 32768 bytes."
    return None


def _check_properties(properties: Any, changes: IssueChanges, errors: dict) -> None:
    if properties is None:
        return
    if not isinstance(properties, list):
        errors["properties"] = "Properties must be an array of {key, value}."
        return
    for item in properties:
        if (
            not isinstance(item, dict)
            or not isinstance(item.get("key"), str)
            or "value" not in item
        ):
            errors["properties"] = "Each property needs a key and a value."
            return
        problem = property_error(item["value"])
        if problem:
            errors["properties"] = problem
            return
        changes.properties[item["key"]] = item["value"]
