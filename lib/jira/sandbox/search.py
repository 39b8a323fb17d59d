"""JQL search in both styles (Cloud tokens, DC offsets), the removed search, the picker."""

from __future__ import annotations

import base64
import hashlib
import html
import json
import re

from starlette.responses import Response

from . import shapes
from .app import Call, api_route, jira_error, json_answer, json_body
from .jql import JqlError, parse_jql, run_query
from .state import Issue

REMOVED_SEARCH = (
    "The requested API has been removed. Please migrate to the /rest/api/3/search/jql API. "
    "A full migration guideline is available at https://developer.atlassian.com/changelog/#CHANGE-2046"
)
UNBOUNDED = (
    "Unbounded JQL queries are not allowed here. Please add a search restriction to your query."
)
INVALID_PAYLOAD = "Invalid request payload. Refer to the REST API documentation and try again."
TOKEN_KEYS = {
    "jql",
    "nextPageToken",
    "maxResults",
    "fields",
    "expand",
    "properties",
    "fieldsByKeys",
    "reconcileIssues",
    "failFast",
}
OFFSET_KEYS = {
    "jql",
    "startAt",
    "maxResults",
    "fields",
    "expand",
    "properties",
    "fieldsByKeys",
    "validateQuery",
    "validation",
}
CLOUD_PAGE_MAX, CLOUD_ID_PAGE_MAX = 100, 5000
DC_PAGE_MAX = 1000
PICKER_MAX = 50


def _matching(call: Call, jql: str, require_bound: bool) -> list[Issue]:
    """Run ``jql`` over the state. Raises: JqlError (Jira's 400)."""
    query = parse_jql(jql)
    if require_bound and not query.bounded:
        raise JqlError(UNBOUNDED)
    state = call.runtime.state
    with state.lock:
        issues = state.all_issues()
        known = {key for issue in issues for key in (issue.key, *issue.moved_from)}
        return run_query(query, issues, known)


async def _params(call: Call, allowed: set[str]) -> dict:
    """GET query parameters or a POST body as one dict. Raises: ValueError."""
    if call.request.method == "GET":
        query = call.request.query_params
        params = {k: v for k, v in query.items() if k in allowed}
        if "fields" in query:  # fields=a&fields=b and fields=a,b both occur
            params["fields"] = ",".join(query.getlist("fields"))
        return params
    body = await json_body(call.request) or {}
    if not isinstance(body, dict) or set(body) - allowed:
        # Unknown keys, e.g. ``startAt`` sent to /search/jql, are refused as a bad payload.
        raise ValueError(INVALID_PAYLOAD)
    return body


def _token(offset: int, jql: str) -> str:
    digest = hashlib.sha1(jql.encode()).hexdigest()[:12]
    return base64.urlsafe_b64encode(json.dumps({"o": offset, "q": digest}).encode()).decode()


def _offset_from_token(token: str | None, jql: str) -> int:
    """Raises: ValueError when the token is not ours or belongs to another query."""
    if not token:
        return 0
    data = json.loads(base64.urlsafe_b64decode(token.encode()))
    if data["q"] != hashlib.sha1(jql.encode()).hexdigest()[:12]:
        raise ValueError("token of another query")
    return int(data["o"])


async def search_jql(call: Call) -> Response:
    """Cloud's ``/search/jql``: nextPageToken/isLast, no total, only ids unless fields asked."""
    if not call.cloud_api:
        return jira_error(404, ["The requested resource could not be found."])
    try:
        params = await _params(call, TOKEN_KEYS)
    except ValueError as exc:
        return jira_error(400, [str(exc)])
    jql = params.get("jql") or ""
    fields = shapes.requested_fields(params.get("fields"), default=())
    try:
        offset = _offset_from_token(params.get("nextPageToken"), jql)
        cap = CLOUD_PAGE_MAX if fields else CLOUD_ID_PAGE_MAX
        max_results = max(1, min(int(params.get("maxResults") or 50), cap))
    except (ValueError, KeyError, TypeError):
        return jira_error(400, ["The nextPageToken or maxResults value is invalid."])
    try:
        found = _matching(call, jql, require_bound=True)
    except JqlError as exc:
        return jira_error(400, [str(exc)])
    page = found[offset : offset + max_results]
    issues = [
        shapes.issue(call.base, call.version, call.config, issue, fields)
        if fields
        else {"id": issue.id}
        for issue in page
    ]
    body: dict = {"issues": issues, "isLast": offset + len(page) >= len(found)}
    if not body["isLast"]:
        body["nextPageToken"] = _token(offset + len(page), jql)
    return json_answer(body)


async def search_offset(call: Call) -> Response:
    """DC's ``/search`` (startAt/total); 410 Gone wherever the server is Cloud."""
    if call.version == "3" or not call.config.serves_v2_offset_search:
        return jira_error(410, [REMOVED_SEARCH])
    try:
        params = await _params(call, OFFSET_KEYS)
        start_at = int(params.get("startAt") or 0)
        max_results = max(0, min(int(params.get("maxResults") or 50), DC_PAGE_MAX))
    except (ValueError, TypeError):
        return jira_error(400, [INVALID_PAYLOAD])
    try:
        found = _matching(call, params.get("jql") or "", require_bound=False)
    except JqlError as exc:
        return jira_error(400, [str(exc)])
    fields = shapes.requested_fields(params.get("fields"))
    page = found[start_at : start_at + max_results]
    return json_answer(
        {
            "expand": "schema,names",
            "startAt": start_at,
            "maxResults": max_results,
            "total": len(found),
            "issues": [
                shapes.issue(call.base, call.version, call.config, issue, fields) for issue in page
            ],
        }
    )


def _highlight(summary: str, words: list[str]) -> str:
    """Jira's picker marks the matched words with <b> in an HTML summary."""
    escaped = html.escape(summary)
    for word in words:
        escaped = re.sub(rf"(?i)\b({re.escape(html.escape(word))})", r"<b>\1</b>", escaped)
    return escaped


async def issue_picker(call: Call) -> Response:
    """``sections[].issues[]`` with integer ids and ``summaryText``, like Jira."""
    params = call.request.query_params
    query = params.get("query", "").strip()
    try:
        candidates = _matching(call, params.get("currentJQL", ""), require_bound=False)
    except JqlError as exc:
        return jira_error(400, [str(exc)])
    words = re.findall(r"[a-z0-9]+", query.lower())

    def matches(issue: Issue) -> bool:
        if not query:
            return True
        if issue.key.startswith(query.upper()):
            return True
        tokens = re.findall(r"[a-z0-9]+", issue.summary.lower())
        return bool(words) and all(any(t.startswith(w) for t in tokens) for w in words)

    found = sorted((i for i in candidates if matches(i)), key=lambda i: int(i.id), reverse=True)
    shown = found[:PICKER_MAX]
    suggestions = [
        {
            "id": int(issue.id),
            "key": issue.key,
            "keyHtml": html.escape(issue.key),
            "img": "/images/icons/issuetypes/task.svg",
            "summary": _highlight(issue.summary, words),
            "summaryText": issue.summary,
        }
        for issue in shown
    ]
    section = {
        "label": "Current Search",
        "id": "cs",
        "issues": suggestions,
        "sub": f"Showing {len(shown)} of {len(found)} matching issues",
    }
    history = {"label": "History Search", "id": "hs", "issues": []}
    return json_answer({"sections": [history, section]})


def routes(runtime) -> list:
    return [
        api_route("/search/jql", search_jql, ["GET", "POST"], runtime),
        api_route("/search", search_offset, ["GET", "POST"], runtime),
    ]
