"""Issue endpoints: create, bulk create, get, edit, comments, transitions, properties."""

from __future__ import annotations

from starlette.responses import Response

from . import shapes, workflow
from .app import NOT_FOUND_ISSUE, Call, api_route, jira_error, json_answer, json_body, no_content
from .config import DEMO_DC_USERNAME, OTHER_DC_USERNAME, OTHER_USER, PRIMARY_USER
from .search import issue_picker
from .state import Issue, find_project
from .validation import check_issue_payload, property_error, rich_text_error

BULK_MAX = 50
# Who may be assigned: Cloud account ids and DC user names of the two sandbox users.
ASSIGNABLE = {
    "sandbox-account-1": PRIMARY_USER,
    shapes.OTHER_ACCOUNT_ID: OTHER_USER,
    DEMO_DC_USERNAME: PRIMARY_USER,
    OTHER_DC_USERNAME: OTHER_USER,
}
COMMENTS_MAX_RESULTS = 5000


def _issue_or_404(call: Call) -> tuple[Issue | None, Response | None]:
    issue = call.runtime.state.get(call.request.path_params["key"])
    if issue is None:
        return None, jira_error(404, [NOT_FOUND_ISSUE])
    return issue, None


def _create(call: Call, payload) -> tuple[Issue | None, dict]:
    """Validate and create one issue; (issue, {}) or (None, field errors)."""
    changes, errors = check_issue_payload(payload, call.version)
    if errors:
        return None, errors
    values = dict(changes.values)
    labels = [
        label
        for label in values.pop("labels", []) + changes.labels_add
        if label not in changes.labels_remove
    ]
    issue = call.runtime.state.create_issue(
        changes.project.key,
        labels=list(dict.fromkeys(labels)),
        properties=changes.properties,
        custom=dict(changes.custom),
        **values,
    )
    return issue, {}


def _created(call: Call, issue: Issue) -> dict:
    return {
        "id": issue.id,
        "key": issue.key,
        "self": f"{shapes.api(call.base, call.version)}issue/{issue.id}",
    }


async def create_issue(call: Call) -> Response:
    issue, errors = _create(call, await json_body(call.request))
    if errors:
        return jira_error(400, errors=errors)
    return json_answer(_created(call, issue), 201)


async def bulk_create(call: Call) -> Response:
    """201 when any issue was made, 400 when all failed; per-item errors either way."""
    body = await json_body(call.request)
    updates = body.get("issueUpdates") if isinstance(body, dict) else None
    if not isinstance(updates, list):
        return jira_error(
            400, ["Invalid request payload. Refer to the REST API documentation and try again."]
        )
    if len(updates) > BULK_MAX:
        message = f"Bulk create is limited to {BULK_MAX} issues per request, not {len(updates)}."
        failure = {"status": 400, "elementErrors": {"errorMessages": [message], "errors": {}}}
        return json_answer({"issues": [], "errors": [failure]}, 400)
    created, failures = [], []
    for number, payload in enumerate(updates):
        issue, errors = _create(call, payload)
        if issue is not None:
            created.append(_created(call, issue))
        else:
            failures.append(
                {
                    "status": 400,
                    "failedElementNumber": number,
                    "elementErrors": {"errorMessages": [], "errors": errors},
                }
            )
    return json_answer({"issues": created, "errors": failures}, 201 if created else 400)


async def get_issue(call: Call) -> Response:
    issue, missing = _issue_or_404(call)
    if missing:
        return missing
    wanted = shapes.requested_fields(call.request.query_params.get("fields"))
    return json_answer(shapes.issue(call.base, call.version, call.config, issue, wanted))


async def edit_issue(call: Call) -> Response:
    """204 with an empty body, as Jira answers a successful edit."""
    issue, missing = _issue_or_404(call)
    if missing:
        return missing
    changes, errors = check_issue_payload(
        await json_body(call.request) or {}, call.version, find_project(issue.project_key)
    )
    if errors:
        return jira_error(400, errors=errors)
    state = call.runtime.state
    with state.lock:
        for name, value in changes.values.items():
            setattr(issue, name, value)
        labels = [
            label
            for label in issue.labels + changes.labels_add
            if label not in changes.labels_remove
        ]
        issue.labels = list(dict.fromkeys(labels))
        issue.properties.update(changes.properties)
        issue.custom.update(changes.custom)
        state.touch(issue)
    return no_content()


async def add_comment(call: Call) -> Response:
    issue, missing = _issue_or_404(call)
    if missing:
        return missing
    payload = await json_body(call.request)
    body = payload.get("body") if isinstance(payload, dict) else None
    if body is None or body == "" or body == {}:
        return jira_error(400, errors={"comment": "Comment body can not be empty!"})
    problem = rich_text_error(body, call.version)
    if problem:
        return jira_error(400, errors={"comment": problem})
    comment = call.runtime.state.add_comment(issue, body, call.user)  # whoever authenticated
    return json_answer(shapes.comment(call.base, call.version, call.config, issue, comment), 201)


async def list_comments(call: Call) -> Response:
    issue, missing = _issue_or_404(call)
    if missing:
        return missing
    params = call.request.query_params
    try:
        start_at = int(params.get("startAt") or 0)
        max_results = min(
            int(params.get("maxResults") or COMMENTS_MAX_RESULTS), COMMENTS_MAX_RESULTS
        )
    except ValueError:
        return jira_error(400, ["startAt and maxResults must be integers."])
    order = params.get("orderBy", "created")
    if order.lstrip("+-") != "created":
        return jira_error(400, [f"Invalid orderBy value '{order}': only 'created' is supported."])
    comments = sorted(
        issue.comments, key=lambda c: (c.created, int(c.id)), reverse=order.startswith("-")
    )
    return json_answer(
        shapes.comment_page(
            call.base, call.version, call.config, issue, comments, start_at, max_results
        )
    )


async def get_transitions(call: Call) -> Response:
    issue, missing = _issue_or_404(call)
    if missing:
        return missing
    expand = call.request.query_params.get("expand") or ""
    offered = workflow.offered(issue, call.runtime.state.workflow)
    return json_answer(
        shapes.transitions(
            call.base,
            call.version,
            issue,
            offered,
            fields="transitions.fields" in expand.split(","),
        )
    )


async def do_transition(call: Call) -> Response:
    issue, missing = _issue_or_404(call)
    if missing:
        return missing
    payload = await json_body(call.request)
    transition = (payload or {}).get("transition") if isinstance(payload, dict) else None
    if not isinstance(transition, dict) or not transition.get("id"):
        return jira_error(400, ["Missing 'transition' identifier"])
    transition_id = str(transition["id"])
    target = workflow.offered(issue, call.runtime.state.workflow).get(transition_id)
    if target is None:
        return jira_error(400, [f"Transition id '{transition_id}' is not valid for this issue."])
    # Only a Done transition has a screen (the resolution); other fields cannot be set.
    resolution, extra = workflow.screen_values(payload.get("fields"), target, call.version)
    if extra:
        return jira_error(400, errors=extra)
    refused = workflow.refusal(issue, call.runtime.state.workflow)
    if refused is not None:
        return refused
    with call.runtime.state.lock:
        issue.status_id = target
        issue.resolution = resolution if workflow.has_screen(target) else None
        call.runtime.state.touch(issue)
    return no_content()


async def set_assignee(call: Call) -> Response:
    """``PUT .../assignee``: ``{"accountId"}`` on Cloud, ``{"name"}`` on DC; null unassigns."""
    issue, missing = _issue_or_404(call)
    if missing:
        return missing
    payload = await json_body(call.request)
    if not isinstance(payload, dict):
        return jira_error(400, ["Invalid request payload. Refer to the REST API documentation."])
    ref = payload.get("accountId") if call.version == "3" else payload.get("name")
    ref = payload.get("accountId", payload.get("name")) if ref is None else ref
    if ref is not None and ref not in ASSIGNABLE:
        return jira_error(400, errors={"assignee": f"User '{ref}' cannot be assigned issues."})
    with call.runtime.state.lock:
        issue.assignee = ASSIGNABLE.get(ref) if ref is not None else None
        call.runtime.state.touch(issue)
    return no_content()


async def delete_issue(call: Call) -> Response:
    """``DELETE /issue/{key}``: 204; afterwards the issue answers 404 everywhere."""
    issue, missing = _issue_or_404(call)
    if missing:
        return missing
    call.runtime.state.delete_issue(issue)
    return no_content()


async def list_properties(call: Call) -> Response:
    issue, missing = _issue_or_404(call)
    if missing:
        return missing
    base = f"{shapes.api(call.base, call.version)}issue/{issue.id}/properties/"
    return json_answer({"keys": [{"self": base + key, "key": key} for key in issue.properties]})


async def one_property(call: Call) -> Response:
    issue, missing = _issue_or_404(call)
    if missing:
        return missing
    key, method = call.request.path_params["prop"], call.request.method
    state = call.runtime.state
    if method == "PUT":
        value = await json_body(call.request)
        problem = property_error(value)
        if problem:
            return jira_error(400, [problem])
        with state.lock:
            existed = key in issue.properties
            issue.properties[key] = value
            state.save()
        return no_content(200 if existed else 201)
    if key not in issue.properties:
        return jira_error(404, [f"The property with key '{key}' does not exist."])
    if method == "DELETE":
        with state.lock:
            del issue.properties[key]
            state.save()
        return no_content()
    return json_answer({"key": key, "value": issue.properties[key]})


def routes(runtime) -> list:
    return [
        api_route("/issue", create_issue, ["POST"], runtime),
        api_route("/issue/bulk", bulk_create, ["POST"], runtime),
        # Before /issue/{key}, or "picker" would be taken for an issue key.
        api_route("/issue/picker", issue_picker, ["GET"], runtime),
        api_route("/issue/{key}", get_issue, ["GET"], runtime),
        api_route("/issue/{key}", edit_issue, ["PUT"], runtime),
        api_route("/issue/{key}", delete_issue, ["DELETE"], runtime),
        api_route("/issue/{key}/assignee", set_assignee, ["PUT"], runtime),
        api_route("/issue/{key}/comment", add_comment, ["POST"], runtime),
        api_route("/issue/{key}/comment", list_comments, ["GET"], runtime),
        api_route("/issue/{key}/transitions", get_transitions, ["GET"], runtime),
        api_route("/issue/{key}/transitions", do_transition, ["POST"], runtime),
        api_route("/issue/{key}/properties", list_properties, ["GET"], runtime),
        api_route(
            "/issue/{key}/properties/{prop}", one_property, ["GET", "PUT", "DELETE"], runtime
        ),
    ]
