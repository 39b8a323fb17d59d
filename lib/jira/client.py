"""The Jira REST client: one request method, thin endpoint methods, both flavours."""

from __future__ import annotations

import enum
import json
import logging
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlsplit

import requests

from lib.jira import records, richtext
from lib.jira.auth import BasicAuth, BearerAuth
from lib.jira.errors import (
    BadRequest,
    CaptchaRequired,
    JiraError,
    NotFound,
    answer_json,
    error_from_element,
    error_from_exception,
    error_from_response,
    failure_kind,
    log_failure,
)
from lib.jira.jql import jql_quote
from lib.jira.retry import RetryPolicy, retry_delay

log = logging.getLogger("anomaly_desk.jira")

MAX_PAGES = 200  # pagination cap: at 100 items a page, 20,000 items is already suspicious
BULK_CHUNK = 50  # Jira Cloud refuses more than 50 issues per /issue/bulk call
PROPERTY_LIMIT = 32_768  # bytes of JSON per issue property
ISSUE_FIELDS = ("summary", "status", "priority", "updated", "labels")
# What the inbound poll reads: the state in Jira and the comments, in the search itself.
POLL_FIELDS = ("summary", "status", "priority", "updated", "resolution", "assignee", "comment")


class Flavour(enum.Enum):
    CLOUD = "cloud"
    DATA_CENTER = "data_center"


def detect_flavour(
    base_url: str,
    session: requests.Session | None = None,
    *,
    timeout: float = 10.0,
    verify: bool | str = True,
) -> Flavour:
    """Cloud for ``*.atlassian.net``, else what ``/serverInfo`` says (anonymous call).

    Raises:
        JiraError: when ``/serverInfo`` cannot be read.
    """
    host = (urlsplit(base_url).hostname or "").lower()
    if host == "atlassian.net" or host.endswith(".atlassian.net"):
        return Flavour.CLOUD
    # rest/api/2 exists on both flavours, so it is the safe probe.
    probe = JiraClient(
        base_url,
        None,
        flavour=Flavour.DATA_CENTER,
        session=session,
        timeout=timeout,
        verify=verify,
        api_prefix="rest/api/2",
    )
    info = probe.server_info()
    return Flavour.CLOUD if info.deployment_type.lower() == "cloud" else Flavour.DATA_CENTER


class JiraClient:
    """A thin client over one ``requests.Session``; see ``lib.jira`` for the method list."""

    MYSELF = "/myself"
    SERVER_INFO = "/serverInfo"
    PROJECT_SEARCH = "/project/search"  # Cloud, paged
    PROJECTS = "/project"  # Data Center, plain array
    ISSUE_TYPES = "/issue/createmeta/{project}/issuetypes"
    ISSUE_TYPE_FIELDS = "/issue/createmeta/{project}/issuetypes/{issue_type}"
    PRIORITY_SEARCH = "/priority/search"  # Cloud fallback
    PRIORITIES = "/priority"  # Data Center fallback
    ISSUES = "/issue"
    ISSUES_BULK = "/issue/bulk"
    ISSUE = "/issue/{key}"
    COMMENTS = "/issue/{key}/comment"
    PICKER = "/issue/picker"
    TRANSITIONS = "/issue/{key}/transitions"
    PROPERTY = "/issue/{key}/properties/{prop}"
    SEARCH_JQL = "/search/jql"  # Cloud (token paging)
    SEARCH = "/search"  # Data Center (startAt paging); 410 Gone on Cloud

    def __init__(
        self,
        base_url: str,
        auth: BasicAuth | BearerAuth | None,
        *,
        flavour: Flavour,
        session: requests.Session | None = None,
        timeout: float = 30.0,
        api_prefix: str | None = None,
        verify: bool | str = True,
        trust_env: bool = True,
        retry_policy: RetryPolicy = RetryPolicy(),
        sleep: Callable[[float], None] = time.sleep,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        if verify is False or verify is None or verify == "":
            # An internal CA is handled with a bundle path; never by turning checks off.
            raise ValueError(
                "TLS verification cannot be switched off: pass verify=<CA bundle path>"
            )
        self.base_url = base_url.rstrip("/")
        self.flavour = Flavour(flavour)
        default_prefix = "rest/api/3" if self.flavour is Flavour.CLOUD else "rest/api/2"
        self.api_prefix = (api_prefix or default_prefix).strip("/")
        self.timeout = timeout
        self.retry_policy = retry_policy
        self.near_limit = False  # last X-RateLimit-NearLimit seen: a worker may slow down
        self._auth = auth
        self._verify = verify
        self._sleep = sleep
        self._now = now
        self._session = session or requests.Session()
        if not trust_env:
            self._session.trust_env = False  # ignore HTTP(S)_PROXY, .netrc and env CA bundles

    def __repr__(self) -> str:
        return f"JiraClient({self.base_url!r}, flavour={self.flavour.value}, auth={self._auth!r})"

    @property
    def cloud(self) -> bool:
        return self.flavour is Flavour.CLOUD

    # ------------------------------------------------------------ transport
    def url(self, path: str) -> str:
        """Full URL of an API path: base_url (with any context path) + prefix + path."""
        return f"{self.base_url}/{self.api_prefix}{path}"

    def browse_url(self, key: str) -> str:
        """The page of an issue in Jira's web UI."""
        return f"{self.base_url}/browse/{quote(key, safe='')}"

    def _request(
        self,
        method: str,
        path: str,
        *,
        params: dict | None = None,
        body: Any = None,
        accept: frozenset[int] = frozenset(),
    ) -> Any:
        """Send one API call with timeout, retries and error mapping.

        Returns the parsed JSON, or None for 204 / an empty body. Statuses in
        ``accept`` are returned as parsed JSON instead of raised.

        Raises:
            JiraError: a subclass for each failure (see lib.jira.errors).
        """
        url = self.url(path)
        attempt = 0
        while True:
            attempt += 1
            response, failure = self._send(method, url, path, params, body, attempt)
            if response is not None and (
                response.status_code < 400 or response.status_code in accept
            ):
                return answer_json(response)
            if response is not None:
                error = error_from_response(
                    response, self.flavour, redact=self._secrets(), now=self._now()
                )
                delay = retry_delay(
                    self.retry_policy,
                    method,
                    attempt=attempt,
                    status=response.status_code,
                    captcha=isinstance(error, CaptchaRequired),
                    headers=response.headers,
                    now=self._now(),
                )
            else:
                error = failure
                delay = retry_delay(
                    self.retry_policy, method, attempt=attempt, failure=failure_kind(error)
                )
            if delay is None:
                log_failure(
                    log, logging.WARNING, "jira.request.failed", error, path, self._secrets()
                )
                raise error
            log_failure(
                log, logging.INFO, "jira.request.retry", error, path, self._secrets(), delay
            )
            self._sleep(delay)

    def _send(
        self, method: str, url: str, path: str, params: dict | None, body: Any, attempt: int
    ) -> tuple[requests.Response | None, JiraError | None]:
        started = time.monotonic()
        try:
            response = self._session.request(
                method,
                url,
                params=params,
                json=body,
                auth=self._auth,
                timeout=self.timeout,
                verify=self._verify,
                headers={"Accept": "application/json"},
            )
        except requests.RequestException as exc:
            # Built outside the raise so the original (whose request holds the
            # Authorization header) is not chained onto what callers see.
            return None, error_from_exception(
                exc, method=method, url=url, redact=self._secrets(), timeout=self.timeout
            )
        near = response.headers.get("X-RateLimit-NearLimit", "")
        self.near_limit = near.strip().lower() == "true"
        log.debug(
            "jira.request",
            extra={
                "jira_method": method,
                "jira_path": path,
                "jira_status": response.status_code,
                "jira_attempt": attempt,
                "jira_ms": round((time.monotonic() - started) * 1000, 1),
            },
        )
        return response, None

    def _secrets(self) -> tuple[str, ...]:
        return self._auth.secrets() if self._auth is not None else ()

    def _pages(
        self,
        method: str,
        path: str,
        *,
        params: dict | None = None,
        items: Sequence[str],
        page_size: int = 50,
    ) -> Iterator[dict]:
        """Items of a startAt/maxResults/total (or isLast) paged resource."""
        start = 0
        for _ in range(MAX_PAGES):
            data = (
                self._request(
                    method,
                    path,
                    params={**(params or {}), "startAt": start, "maxResults": page_size},
                )
                or {}
            )
            batch = next((data[k] for k in items if isinstance(data.get(k), list)), [])
            yield from batch
            start += len(batch)
            total = data.get("total")
            if not batch or data.get("isLast") or (isinstance(total, int) and start >= total):
                return
        log.warning("jira.pages.capped", extra={"jira_path": path, "jira_pages": MAX_PAGES})

    # ------------------------------------------------------------ reads
    def myself(self) -> records.Myself:
        """The signed-in user: the credentials probe (401 if they are wrong)."""
        return records.parse_myself(self._request("GET", self.MYSELF))

    def server_info(self) -> records.ServerInfo:
        return records.parse_server_info(self._request("GET", self.SERVER_INFO))

    def projects(self) -> Iterator[records.Project]:
        """Projects the account can see."""
        if not self.cloud:
            for item in self._request("GET", self.PROJECTS) or []:
                yield records.parse_project(item)
            return
        try:
            for item in self._pages("GET", self.PROJECT_SEARCH, items=("values",)):
                yield records.parse_project(item)
        except NotFound:
            return  # Cloud answers 404 when no project matches: that is an empty list

    def issue_types(self, project_key: str) -> list[records.IssueType]:
        path = self.ISSUE_TYPES.format(project=_seg(project_key))
        return [
            records.parse_issue_type(i)
            for i in self._pages("GET", path, items=("issueTypes", "values"))
        ]

    def fields_for_issue_type(
        self, project_key: str, issue_type_id: str
    ) -> list[records.FieldMeta]:
        """Create-screen fields of one issue type (required flag, allowedValues)."""
        path = self.ISSUE_TYPE_FIELDS.format(
            project=_seg(project_key), issue_type=_seg(issue_type_id)
        )
        return [
            records.parse_field_meta(f)
            for f in self._pages("GET", path, items=("fields", "values"))
        ]

    def priorities(self, project_key: str, issue_type_id: str) -> list[str]:
        """Priority names valid for new issues of this type.

        Empty when the priority field is not on the create screen (then no
        priority may be sent). When the field lists no values, fall back to
        the global list (Cloud /priority/search, Data Center /priority).
        """
        fields = self.fields_for_issue_type(project_key, issue_type_id)
        field = next((f for f in fields if f.field_id == "priority"), None)
        if field is None:
            return []
        if field.allowed_values:
            return [v.name for v in field.allowed_values]
        if self.cloud:
            return [
                str(p.get("name"))
                for p in self._pages("GET", self.PRIORITY_SEARCH, items=("values",))
            ]
        return [str(p.get("name")) for p in self._request("GET", self.PRIORITIES) or []]

    def get_issue(self, key: str) -> records.Issue:
        """One issue (under its current key if it moved). Raises NotFound."""
        data = self._request(
            "GET", self.ISSUE.format(key=_seg(key)), params={"fields": ",".join(ISSUE_FIELDS)}
        )
        return records.parse_issue(data, self.browse_url)

    def comments(self, key: str) -> Iterator[records.Comment]:
        """Comments of an issue, oldest first, with ADF flattened to text."""
        path = self.COMMENTS.format(key=_seg(key))
        for item in self._pages("GET", path, params={"orderBy": "created"}, items=("comments",)):
            yield records.parse_comment(item)

    def issue_picker(self, query: str, current_jql: str | None = None) -> list[records.PickerIssue]:
        """Suggestions by key or words. An empty answer does not prove nothing matches."""
        params = {"query": query}
        if current_jql:
            params["currentJQL"] = current_jql
        return records.parse_picker(self._request("GET", self.PICKER, params=params) or {})

    def search(self, jql: str, fields: Sequence[str] = ISSUE_FIELDS) -> Iterator[records.Issue]:
        """Issues matching ``jql`` (Cloud needs a bounded query, e.g. ``project = X``)."""
        pages = self._search_cloud(jql, fields) if self.cloud else self._search_dc(jql, fields)
        for item in pages:
            yield records.parse_issue(item, self.browse_url)

    def poll_issues(self, jql: str) -> Iterator[records.PolledIssue]:
        """Issues matching ``jql`` with status, resolution, assignee, updated and comments."""
        fields = POLL_FIELDS
        pages = self._search_cloud(jql, fields) if self.cloud else self._search_dc(jql, fields)
        for item in pages:
            yield records.parse_polled_issue(item, self.browse_url)

    def _search_cloud(self, jql: str, fields: Sequence[str]) -> Iterator[dict]:
        body: dict[str, Any] = {"jql": jql, "fields": list(fields), "maxResults": 100}
        for _ in range(MAX_PAGES):
            data = self._request("POST", self.SEARCH_JQL, body=body) or {}
            yield from data.get("issues") or []
            token = data.get("nextPageToken")
            if data.get("isLast", not token) or not token:
                return
            body = {**body, "nextPageToken": token}
        log.warning(
            "jira.pages.capped", extra={"jira_path": self.SEARCH_JQL, "jira_pages": MAX_PAGES}
        )

    def _search_dc(self, jql: str, fields: Sequence[str]) -> Iterator[dict]:
        # POST keeps long JQL out of URLs and proxy logs; paging past 10,000 fails on DC.
        start = 0
        for _ in range(MAX_PAGES):
            body = {"jql": jql, "fields": list(fields), "startAt": start, "maxResults": 100}
            data = self._request("POST", self.SEARCH, body=body) or {}
            batch = data.get("issues") or []
            yield from batch
            start += len(batch)
            if not batch or start >= int(data.get("total") or 0):
                return
        log.warning("jira.pages.capped", extra={"jira_path": self.SEARCH, "jira_pages": MAX_PAGES})

    def find_issues_by_label(self, label: str, project: str | None = None) -> list[records.Issue]:
        """Issues carrying ``label``, oldest first (search is eventually consistent)."""
        if not label or any(c.isspace() for c in label) or len(label) > 255:
            raise ValueError("a Jira label has no spaces and at most 255 characters")
        jql = f"labels = {jql_quote(label)}"
        if project:
            jql = f"project = {jql_quote(project)} AND {jql}"
        return list(self.search(jql + " ORDER BY created ASC"))

    def transitions(self, key: str) -> list[records.Transition]:
        """Transitions the account may do now (empty without the permission)."""
        data = self._request("GET", self.TRANSITIONS.format(key=_seg(key))) or {}
        return [records.parse_transition(t) for t in data.get("transitions") or []]

    def get_transitions(self, key: str) -> list[records.Transition]:
        """Transitions with their screens' fields (the resolution and its allowed values)."""
        path, params = self.TRANSITIONS.format(key=_seg(key)), {"expand": "transitions.fields"}
        data = self._request("GET", path, params=params) or {}
        return [records.parse_transition(t) for t in data.get("transitions") or []]

    def get_property(self, key: str, prop: str) -> Any:
        """The JSON value of an issue property. Raises NotFound if unset."""
        data = self._request("GET", self.PROPERTY.format(key=_seg(key), prop=_seg(prop))) or {}
        return data.get("value")

    # ------------------------------------------------------------ writes
    def render(self, value: richtext.Doc | str) -> Any:
        """Rich text for this flavour (ADF or wiki), cut to Jira's 32,767 limit."""
        renderer = richtext.to_adf if self.cloud else richtext.to_wiki
        return renderer(richtext.fit_doc(richtext.as_doc(value), renderer))

    def _prepare_fields(self, fields: dict) -> dict:
        out = dict(fields)
        for name, value in fields.items():
            # A plain string for a system rich-text field is rich text too; a
            # textarea custom field is known only from createmeta, so its
            # producers give a Doc.
            if isinstance(value, richtext.Doc) or (
                name in richtext.RICH_TEXT_SYSTEM_FIELDS and isinstance(value, str)
            ):
                out[name] = self.render(value)
        if isinstance(out.get("summary"), str):
            out["summary"] = richtext.fit_summary(out["summary"])
        return out

    def create_issue(self, fields: dict, properties: dict | None = None) -> records.CreatedIssue:
        """Create one issue. Not retried if the answer is lost: look for it first.

        ``description`` (and any ``Doc`` value) is rendered for the flavour.
        """
        body: dict[str, Any] = {"fields": self._prepare_fields(fields)}
        if properties:
            body["properties"] = [{"key": k, "value": v} for k, v in properties.items()]
        return records.parse_created(self._request("POST", self.ISSUES, body=body))

    def create_issues_bulk(
        self, items: Sequence[tuple[dict, dict | None]]
    ) -> list[records.CreatedIssue | JiraError]:
        """One ``POST /issue/bulk`` of at most 50 (fields, properties): one result per item.

        Each result, in input order, is the created issue or that element's
        refusal as a JiraError (from ``failedElementNumber`` and
        ``elementErrors``). Like ``create_issue``, never retried after a lost
        answer: the caller looks for each item by its label first.

        Raises:
            ValueError: more than 50 items (Jira Cloud refuses the call).
            JiraError: the call failed as a whole (its answer may be lost).
        """
        if not 0 < len(items) <= BULK_CHUNK:
            raise ValueError(f"a bulk create takes 1 to {BULK_CHUNK} issues, not {len(items)}")
        updates = []
        for fields, properties in items:
            update: dict[str, Any] = {"fields": self._prepare_fields(fields)}
            if properties:
                update["properties"] = [{"key": k, "value": v} for k, v in properties.items()]
            updates.append(update)
        path = urlsplit(self.url(self.ISSUES_BULK)).path
        data = self._request(
            "POST", self.ISSUES_BULK, body={"issueUpdates": updates}, accept=frozenset({400})
        )
        if not isinstance((data or {}).get("errors"), list):
            raise BadRequest(
                f"Jira rejected the bulk create: {json.dumps(data)[:300]}",
                status=400,
                method="POST",
                path=path,
            )
        out: list[records.CreatedIssue | JiraError] = []
        for item in records.parse_bulk(data, len(items)):
            if item.created is not None:
                out.append(item.created)
                continue
            error = item.error or records.BulkItemError("rejected", 400, ("no answer",), {})
            out.append(
                error_from_element(
                    error.status,
                    error.messages,
                    error.field_errors,
                    method="POST",
                    path=path,
                    flavour=self.flavour,
                )
            )
        return out

    def edit_issue(self, key: str, fields: dict) -> None:
        """Update fields (PUT, Jira answers 204 with no body). Raises Conflict on 409."""
        self._request(
            "PUT", self.ISSUE.format(key=_seg(key)), body={"fields": self._prepare_fields(fields)}
        )

    def add_comment(self, key: str, body: richtext.Doc | str) -> records.Comment:
        """Add a comment. Not retried if the answer is lost: list comments first."""
        data = self._request(
            "POST", self.COMMENTS.format(key=_seg(key)), body={"body": self.render(body)}
        )
        return records.parse_comment(data)

    def do_transition(self, key: str, transition_id: str, fields: dict | None = None) -> None:
        """Move the issue (POST, 204). ``fields`` are the screen's (``{"resolution": {"id"}}``).

        Not retried if the answer is lost: re-read the status first.
        """
        body: dict[str, Any] = {"transition": {"id": str(transition_id)}}
        if fields:
            body["fields"] = fields
        self._request("POST", self.TRANSITIONS.format(key=_seg(key)), body=body)

    def set_property(self, key: str, prop: str, value: Any) -> None:
        """Store a JSON value on the issue (not searchable by JQL: use labels to find)."""
        size = len(json.dumps(value).encode())
        if size > PROPERTY_LIMIT:
            raise ValueError(
                f"issue property {prop!r} is {size} bytes; Jira allows {PROPERTY_LIMIT}"
            )
        self._request("PUT", self.PROPERTY.format(key=_seg(key), prop=_seg(prop)), body=value)


def _seg(value: str) -> str:
    """One URL path segment: a key or id cannot add path parts or a query."""
    return quote(str(value), safe="")
