"""The sandbox's workflow: which transitions are offered, their screens, and refusals.

Decisions, and why:

- Every transition into a status of the Done category has a screen with the
  ``resolution`` field (not required, as on a team-managed project), whose
  allowed values are that API version's default resolutions
  (``state.RESOLUTIONS``): a client must read them with
  ``expand=transitions.fields`` and send one by id, as it would on a real site.
- Moving out of Done clears the resolution, as Jira's default workflow does
  with its "clear resolution" post function.
- A workflow that says no is scripted through ``POST /_sandbox/workflow``:
  ``{"refuse": true, "status": 400 | 409, "message": "...", "keys": [...]}``
  makes POST .../transitions answer that error (a validator or a conflict),
  ``{"hidden_categories": ["done"]}`` stops offering transitions into Done
  (a condition, or no permission: Jira then lists none, without an error).
  ``{}`` or ``POST /_sandbox/reset`` restores the open workflow.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .app import PayloadError, jira_error, json_body
from .state import RESOLUTIONS, TRANSITIONS, Issue, Resolution, WorkflowRules, status_by_id

REFUSAL_STATUSES = (400, 409)


def offered(issue: Issue, rules: WorkflowRules) -> dict[str, str]:
    """Transition id -> target status id, for the transitions offered on ``issue`` now."""
    return {
        transition_id: status_id
        for transition_id, status_id in TRANSITIONS.items()
        if status_id != issue.status_id
        and status_by_id(status_id).category_key not in rules.hidden_categories
    }


def has_screen(status_id: str) -> bool:
    """Transitions into the Done category show the resolution screen."""
    return status_by_id(status_id).category_key == "done"


def resolution_field(version: str, base_api: str) -> dict:
    """FieldMetadata of the resolution field on a Done transition's screen."""
    meta: dict[str, Any] = {
        "required": False,
        "schema": {"type": "resolution", "system": "resolution"},
        "name": "Resolution",
        "operations": ["set"],
        "allowedValues": [resolution(r, base_api) for r in RESOLUTIONS[version]],
        "hasDefaultValue": False,
    }
    # Cloud's FieldMetadata names the field ``key``; Data Center's ``fieldId``.
    meta["key" if version == "3" else "fieldId"] = "resolution"
    return meta


def resolution(item: Resolution, base_api: str) -> dict:
    return {
        "self": f"{base_api}resolution/{item.id}",
        "id": item.id,
        "name": item.name,
        "description": "",
    }


# "Done" has this id on both flavours: what Jira sets when no screen asks.
DEFAULT_RESOLUTION_ID = "10000"


def find_resolution(resolution_id: str | None) -> Resolution | None:
    """A resolution by id, from either version's list."""
    for items in RESOLUTIONS.values():
        for item in items:
            if item.id == resolution_id:
                return item
    return None


def refusal(issue: Issue, rules: WorkflowRules) -> Response | None:
    """The scripted refusal for this issue, or None when the workflow allows the move."""
    if rules.refuse and (not rules.keys or issue.key in rules.keys):
        return jira_error(rules.refuse_status, [rules.message])
    return None


def screen_values(fields: Any, target: str, version: str) -> tuple[str | None, dict[str, str]]:
    """(resolution id, field errors) for the ``fields`` sent with a transition to ``target``."""
    fields = fields if isinstance(fields, dict) else {}
    errors = {
        name: f"Field '{name}' cannot be set. It is not on the appropriate screen, or unknown."
        for name in fields
        if name != "resolution" or not has_screen(target)
    }
    value = fields.get("resolution")
    if errors or value is None:
        return None, errors
    allowed = RESOLUTIONS[version]
    wanted = value if isinstance(value, dict) else {}
    found = next(
        (
            r
            for r in allowed
            if ("id" in wanted and str(wanted["id"]) == r.id)
            or ("id" not in wanted and wanted.get("name") == r.name)
        ),
        None,
    )
    if found is None:
        return None, {
            "resolution": f"Resolution '{wanted.get('id') or wanted.get('name')}' is not valid."
        }
    return found.id, {}


def control_routes(state) -> list[Route]:
    """``GET/POST /_sandbox/workflow``: show or script how the workflow answers."""

    async def workflow(request: Request) -> Response:
        if request.method == "POST":
            try:
                state.workflow = rules_from_json(await json_body(request) or {})
            except (PayloadError, ValueError, TypeError) as exc:
                return JSONResponse({"error": str(exc)}, status_code=400)
        return JSONResponse(asdict(state.workflow))

    return [Route("/_sandbox/workflow", workflow, methods=["GET", "POST"])]


def rules_from_json(data: dict) -> WorkflowRules:
    """Raises: ValueError on unknown keys or a status Jira would not refuse with."""
    known = {"refuse", "status", "message", "keys", "hidden_categories"}
    if not isinstance(data, dict) or set(data) - known:
        raise ValueError(f"workflow rules take only {sorted(known)}")
    status = int(data.get("status", 400))
    if status not in REFUSAL_STATUSES:
        raise ValueError(f"status must be one of {REFUSAL_STATUSES}")
    defaults = WorkflowRules()
    return WorkflowRules(
        refuse=bool(data.get("refuse", False)),
        refuse_status=status,
        message=str(data.get("message") or defaults.message),
        keys=tuple(str(k).upper() for k in data.get("keys") or ()),
        hidden_categories=tuple(str(c) for c in data.get("hidden_categories") or ()),
    )
