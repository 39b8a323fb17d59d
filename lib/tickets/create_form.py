"""What the New ticket form needs from Jira's create metadata, and its answers mapped back.

The form shows summary, description and priority itself; any other field the
issue type requires gets an input chosen from the field's schema, and its value
is mapped to the shape Jira expects (an option by id, a list of options, text).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date

from lib.jira import FieldMeta, IssueType, JiraClient, Project
from lib.jira.richtext import Doc, doc_from_text

# Fields the form or the engine fills in: never asked for again.
HANDLED = frozenset(
    {
        "summary",
        "description",
        "priority",
        "project",
        "issuetype",
        "labels",
        "reporter",
        "attachment",
        "issuelinks",
    }
)


@dataclass(frozen=True)
class CreateForm:
    projects: tuple[Project, ...]
    issue_types: tuple[IssueType, ...]
    priorities: tuple[str, ...]  # empty: the priority field is not on the create screen
    extra_required: tuple[FieldMeta, ...]


def load_create_form(
    client: JiraClient, project_key: str | None, issue_type_id: str | None
) -> CreateForm:
    """Projects, and for the chosen project and type: types, priorities, other required fields.

    Raises:
        JiraError: Jira could not be read.
    """
    projects = tuple(sorted(client.projects(), key=lambda p: p.key))
    if not project_key:
        return CreateForm(projects, (), (), ())
    types = tuple(t for t in client.issue_types(project_key) if not t.subtask)
    if not issue_type_id:
        return CreateForm(projects, types, (), ())
    fields = client.fields_for_issue_type(project_key, issue_type_id)
    priority = next((f for f in fields if f.field_id == "priority"), None)
    priorities = tuple(v.name for v in priority.allowed_values) if priority else ()
    extra = tuple(f for f in fields if f.required and f.field_id not in HANDLED)
    return CreateForm(projects, types, priorities, extra)


def input_kind(field: FieldMeta) -> str:
    """How the form asks for a field: choice, choices, number, date, rich_text or text.

    ``rich_text`` (environment, a textarea custom field) is typed as text and
    sent as a ``Doc``, which the client renders as ADF or wiki markup.
    """
    if field.allowed_values:
        return "choices" if field.schema_type == "array" else "choice"
    if field.rich_text:
        return "rich_text"
    return {"number": "number", "date": "date"}.get(field.schema_type or "", "text")


def jira_value(field: FieldMeta, value):
    """The form's answer in the shape Jira takes for this field (None when left empty)."""
    kind = input_kind(field)
    by_name = {v.name: v.id for v in field.allowed_values}
    if value in (None, "", []):
        return None
    if kind == "choice":
        return {"id": by_name[value]}
    if kind == "choices":
        return [{"id": by_name[v]} for v in value]
    if kind == "date":
        return value.isoformat() if isinstance(value, date) else str(value)
    if kind == "rich_text":
        return value if isinstance(value, Doc) else doc_from_text(str(value), links=True)
    return value


def rich_text_fields(fields: Iterable[FieldMeta]) -> frozenset[str]:
    """Ids of the fields Jira takes as rich text, from one issue type's createmeta."""
    return frozenset(f.field_id for f in fields if f.rich_text)


def createmeta_lookup(
    client: JiraClient, project_key: str, issue_type: str
) -> Callable[[str], FieldMeta | None]:
    """Field id -> createmeta of one project and issue type (by id or name).

    The automation command's ``field_meta``: how it learns which custom field
    is a textarea (rich text), a number or a date. Unknown type: no fields.

    Raises:
        JiraError: Jira could not be read.
    """
    wanted = str(issue_type).strip().lower()
    found = next(
        (t for t in client.issue_types(project_key) if wanted in (t.id, t.name.lower())), None
    )
    if found is None:
        return lambda _field_id: None
    return {f.field_id: f for f in client.fields_for_issue_type(project_key, found.id)}.get
