"""The create form as JSON: Jira's create metadata for one project and issue type.

Built on ``lib.tickets.create_form.load_create_form`` (the dashboard's New
ticket form), so the API and the page ask for the same fields: title,
description and priority always (priority with Jira's allowed values), plus
every other field the issue type requires, typed as the form would ask for it.
"""

from __future__ import annotations

from lib.http.api.errors import ApiError, from_jira
from lib.jira import JiraError, NotFound
from lib.outbox.policy import ActiveJira
from lib.tickets.create_form import input_kind, load_create_form


def _choices(items) -> list[dict]:
    return [{"id": i.id, "name": getattr(i, "name", "") or getattr(i, "key", "")} for i in items]


def _resolve_type(form, wanted: str | None) -> str | None:
    if not wanted:
        return None
    for kind in form.issue_types:
        if wanted in (kind.id, kind.name) or wanted.lower() == kind.name.lower():
            return kind.id
    raise ApiError(
        404,
        f"This project has no issue type {wanted!r}.",
        {"issue_type": "Not an issue type of this project."},
    )


def build_form_specification(
    active: ActiveJira, project: str | None, issue_type: str | None
) -> dict:
    """Raises: ApiError (404 unknown project or type; Jira failures mapped)."""
    project = (project or active.default_project or "").strip().upper() or None
    issue_type = (issue_type or active.default_issue_type or "").strip() or None
    try:
        form = load_create_form(active.client, project, None)
        if project and project not in {p.key for p in form.projects}:
            raise ApiError(404, f"Jira has no project {project}.", {"project": "Unknown project."})
        type_id = _resolve_type(form, issue_type) if project else None
        if type_id:
            form = load_create_form(active.client, project, type_id)
    except NotFound:
        raise ApiError(
            404, f"Jira has no project {project}.", {"project": "Unknown project."}
        ) from None
    except JiraError as exc:
        raise from_jira(exc) from None
    fields = [
        _field("title", "Summary", "text", True),
        _field("description", "Description", "text", False),
    ]
    if form.priorities:
        fields.append(
            _field(
                "priority",
                "Priority",
                "choice",
                False,
                [{"id": p, "name": p} for p in form.priorities],
                active.default_priority,
            )
        )
    for meta in form.extra_required:
        fields.append(
            _field(
                meta.field_id,
                meta.name,
                input_kind(meta),
                meta.required,
                _choices(meta.allowed_values),
            )
        )
    return {
        "project": project,
        "issue_type": type_id,
        "projects": [{"id": p.id, "name": f"{p.key}: {p.name}"} for p in form.projects],
        "issue_types": _choices(form.issue_types),
        "fields": fields if type_id else [],
    }


def _field(field_id, name, kind, required, allowed=(), default=None) -> dict:
    return {
        "id": field_id,
        "name": name,
        "type": kind,
        "required": required,
        "allowed_values": list(allowed),
        "default": default,
    }
