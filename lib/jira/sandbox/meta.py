"""Who am I, what server is this, which projects, issue types and fields exist."""

from __future__ import annotations

from starlette.responses import Response

from . import shapes
from .app import Call, api_route, jira_error, json_answer
from .state import (
    ISSUE_TYPES,
    PRIORITIES,
    PROJECTS,
    find_issue_type,
    find_project,
    jira_time,
    now_utc,
)

CLOUD_VERSION = ("1001.0.0-SNAPSHOT", [1001, 0, 0])
DC_VERSION = ("10.3.1", [10, 3, 1])


def _int_param(call: Call, name: str, default: int) -> int:
    """Raises: ValueError for a non-integer (answered as Jira's 400)."""
    raw = call.request.query_params.get(name)
    return default if raw in (None, "") else int(raw)


async def myself(call: Call) -> Response:
    return json_answer(shapes.user(call.base, call.version, call.config, call.user))


async def server_info(call: Call) -> Response:
    version, numbers = DC_VERSION if call.config.flavour == "dc" else CLOUD_VERSION
    base = call.base.rstrip("/")
    return json_answer(
        {
            "baseUrl": base,
            "displayUrl": base,
            "version": version,
            "versionNumbers": numbers,
            "deploymentType": call.config.deployment_type,
            "buildNumber": 100289,
            "buildDate": "2025-12-01T00:00:00.000+0000",
            "serverTime": jira_time(now_utc()),
            "scmInfo": "sandbox",
            "serverTitle": "Anomaly Desk Jira sandbox",
        }
    )


async def project_list(call: Call) -> Response:
    return json_answer([shapes.project(call.base, call.version, p) for p in PROJECTS])


async def project_one(call: Call) -> Response:
    project = find_project(call.request.path_params["key"])
    if project is None:
        key = call.request.path_params["key"]
        return jira_error(404, [f"No project could be found with key '{key}'."])
    return json_answer(shapes.project(call.base, call.version, project))


async def project_search(call: Call) -> Response:
    """Cloud's paged project search; 404 when nothing matches, as Jira does."""
    if not call.cloud_api:
        return jira_error(404, ["The requested resource could not be found."])
    params = call.request.query_params
    try:
        start_at = _int_param(call, "startAt", 0)
        max_results = min(_int_param(call, "maxResults", 50), 100)
    except ValueError:
        return jira_error(400, ["startAt and maxResults must be integers."])
    query = params.get("query", "").lower()
    keys = {k.upper() for k in params.getlist("keys")}
    found = [
        p
        for p in PROJECTS
        if (query in p.key.lower() or query in p.name.lower()) and (not keys or p.key in keys)
    ]
    if not found:
        return jira_error(404, ["No projects found matching the search criteria."])
    page = found[start_at : start_at + max_results]
    body = {
        "self": str(call.request.url),
        "maxResults": max_results,
        "startAt": start_at,
        "total": len(found),
        "isLast": start_at + len(page) >= len(found),
        "values": [shapes.project(call.base, call.version, p) for p in page],
    }
    return json_answer(body)


def _page(call: Call, items: list, key: str) -> Response:
    try:
        start_at = _int_param(call, "startAt", 0)
        max_results = min(_int_param(call, "maxResults", 50), 200)
    except ValueError:
        return jira_error(400, ["startAt and maxResults must be integers."])
    page = items[start_at : start_at + max_results]
    body = {"maxResults": max_results, "startAt": start_at, "total": len(items), key: page}
    if not call.cloud_api:
        body["isLast"] = start_at + len(page) >= len(items)
    return json_answer(body)


async def createmeta_issue_types(call: Call) -> Response:
    """Cloud answers ``issueTypes``, DC ``values``: clients must parse both."""
    project = find_project(call.request.path_params["project"])
    if project is None:
        return jira_error(404, ["Project does not exist or you do not have permission to see it."])
    items = [shapes.issue_type(call.base, call.version, t) for t in ISSUE_TYPES]
    return _page(call, items, "issueTypes" if call.cloud_api else "values")


async def createmeta_fields(call: Call) -> Response:
    project = find_project(call.request.path_params["project"])
    issue_type = find_issue_type(id_=call.request.path_params["type_id"])
    if project is None or issue_type is None:
        return jira_error(
            404, ["Issue type or project does not exist or you do not have permission to see it."]
        )
    items = shapes.create_fields(call.base, call.version, project, issue_type)
    return _page(call, items, "fields" if call.cloud_api else "values")


async def priorities(call: Call) -> Response:
    return json_answer([shapes.priority(call.base, call.version, name) for name in PRIORITIES])


def routes(runtime) -> list:
    return [
        api_route("/myself", myself, ["GET"], runtime),
        api_route("/serverInfo", server_info, ["GET"], runtime, anonymous=True),
        api_route("/project", project_list, ["GET"], runtime),
        api_route("/project/search", project_search, ["GET"], runtime),
        api_route("/project/{key}", project_one, ["GET"], runtime),
        api_route(
            "/issue/createmeta/{project}/issuetypes", createmeta_issue_types, ["GET"], runtime
        ),
        api_route(
            "/issue/createmeta/{project}/issuetypes/{type_id}", createmeta_fields, ["GET"], runtime
        ),
        api_route("/priority", priorities, ["GET"], runtime),
    ]
