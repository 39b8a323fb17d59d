"""Typed records parsed from Jira JSON by pure functions (no HTTP here).

Parsers are lenient about missing optional parts (a field the account may not
see is simply absent) and strict about the identity of a thing (id, key).
Ids are kept as strings: the issue picker answers integers, the rest strings.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from lib.jira.richtext import adf_to_text, is_rich_text_field


@dataclass(frozen=True)
class ServerInfo:
    base_url: str
    version: str
    deployment_type: str  # "Cloud", "Server" or "DataCenter"
    server_title: str


@dataclass(frozen=True)
class Myself:
    account_id: str | None  # Cloud
    name: str | None  # Data Center user name
    display_name: str
    email: str | None
    time_zone: str | None = None  # JQL dates are read in this zone


@dataclass(frozen=True)
class Project:
    id: str
    key: str
    name: str


@dataclass(frozen=True)
class IssueType:
    id: str
    name: str
    subtask: bool


@dataclass(frozen=True)
class AllowedValue:
    id: str
    name: str


@dataclass(frozen=True)
class FieldMeta:
    field_id: str
    name: str
    required: bool
    schema_type: str | None
    allowed_values: tuple[AllowedValue, ...]
    schema_custom: str | None = None  # e.g. ...customfieldtypes:textarea
    schema_system: str | None = None

    @property
    def rich_text(self) -> bool:
        """Jira takes this field as ADF on Cloud and a wiki string on Data Center."""
        return is_rich_text_field(self.schema_system or self.field_id, self.schema_custom)


@dataclass(frozen=True)
class CreatedIssue:
    id: str
    key: str
    self_url: str


@dataclass(frozen=True)
class BulkItemError:
    code: str  # "rejected" (Jira said no) or a JiraError code ("timeout", ...)
    status: int | None
    messages: tuple[str, ...]
    field_errors: dict[str, str]


@dataclass(frozen=True)
class BulkItem:
    index: int  # position in the list given to create_issues_bulk
    created: CreatedIssue | None
    error: BulkItemError | None


@dataclass(frozen=True)
class Issue:
    id: str
    key: str
    summary: str | None
    status_name: str | None
    status_category: str | None  # "new", "indeterminate", "done"
    priority_name: str | None
    updated: datetime | None
    labels: tuple[str, ...]
    browse_url: str


@dataclass(frozen=True)
class Comment:
    id: str
    created: datetime | None
    body_text: str
    author: str | None
    author_id: str | None = None  # accountId on Cloud, the user name on Data Center


@dataclass(frozen=True)
class PickerIssue:
    key: str
    summary_text: str
    id: str


@dataclass(frozen=True)
class Transition:
    id: str
    name: str
    to_status: str | None
    to_category: str | None
    # The transition screen's fields (only with ``expand=transitions.fields``).
    fields: tuple[FieldMeta, ...] = ()

    def field(self, field_id: str) -> FieldMeta | None:
        """One field of the transition screen (``resolution``), or None when not on it."""
        return next((f for f in self.fields if f.field_id == field_id), None)


def parse_jira_datetime(value: Any) -> datetime | None:
    """``2021-01-17T12:34:00.000+0000`` (and ISO variants) as an aware datetime."""
    if not isinstance(value, str) or not value:
        return None
    for fmt in ("%Y-%m-%dT%H:%M:%S.%f%z", "%Y-%m-%dT%H:%M:%S%z"):
        try:
            return datetime.strptime(value, fmt)
        except ValueError:
            continue
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def parse_server_info(data: dict) -> ServerInfo:
    return ServerInfo(
        str(data.get("baseUrl", "")),
        str(data.get("version", "")),
        str(data.get("deploymentType", "")),
        str(data.get("serverTitle", "")),
    )


def parse_myself(data: dict) -> Myself:
    return Myself(
        data.get("accountId"),
        data.get("name"),
        str(data.get("displayName", "")),
        data.get("emailAddress"),
        data.get("timeZone"),
    )


def parse_project(data: dict) -> Project:
    return Project(str(data["id"]), str(data["key"]), str(data.get("name", "")))


def parse_issue_type(data: dict) -> IssueType:
    return IssueType(str(data["id"]), str(data.get("name", "")), bool(data.get("subtask", False)))


def parse_field_meta(data: dict) -> FieldMeta:
    schema = data.get("schema") if isinstance(data.get("schema"), dict) else {}
    values = tuple(
        AllowedValue(str(v.get("id", "")), str(v.get("name") or v.get("value") or ""))
        for v in data.get("allowedValues") or []
        if isinstance(v, dict)
    )
    return FieldMeta(
        str(data.get("fieldId") or data.get("key") or ""),
        str(data.get("name", "")),
        bool(data.get("required", False)),
        schema.get("type"),
        values,
        schema.get("custom"),
        schema.get("system"),
    )


def parse_created(data: dict) -> CreatedIssue:
    return CreatedIssue(str(data["id"]), str(data["key"]), str(data.get("self", "")))


def parse_bulk(data: dict, size: int, offset: int = 0) -> list[BulkItem]:
    """Per-item results of one ``/issue/bulk`` call of ``size`` items.

    Jira lists failures by position and successes in order, so the successes
    fill the positions that did not fail.
    """
    failed: dict[int, BulkItemError] = {}
    for err in data.get("errors") or []:
        n = err.get("failedElementNumber")
        if not isinstance(n, int) or not 0 <= n < size:
            continue
        element = err.get("elementErrors") or {}
        fields = element.get("errors") if isinstance(element.get("errors"), dict) else {}
        failed[n] = BulkItemError(
            "rejected",
            err.get("status") or element.get("status"),
            tuple(str(m) for m in element.get("errorMessages") or []),
            {str(k): str(v) for k, v in fields.items()},
        )
    created = iter(parse_created(i) for i in data.get("issues") or [])
    items = []
    for n in range(size):
        if n in failed:
            items.append(BulkItem(offset + n, None, failed[n]))
        else:
            items.append(BulkItem(offset + n, next(created, None), None))
    return items


def parse_issue(data: dict, browse: Callable[[str], str]) -> Issue:
    fields = data.get("fields") or {}
    status = fields.get("status") if isinstance(fields.get("status"), dict) else {}
    category = (
        status.get("statusCategory") if isinstance(status.get("statusCategory"), dict) else {}
    )
    priority = fields.get("priority") if isinstance(fields.get("priority"), dict) else {}
    key = str(data["key"])
    return Issue(
        str(data["id"]),
        key,
        fields.get("summary"),
        status.get("name"),
        category.get("key"),
        priority.get("name"),
        parse_jira_datetime(fields.get("updated")),
        tuple(str(x) for x in fields.get("labels") or []),
        browse(key),
    )


def parse_comment(data: dict) -> Comment:
    body = data.get("body")
    text = adf_to_text(body) if isinstance(body, dict) else str(body or "")
    author = data.get("author") if isinstance(data.get("author"), dict) else {}
    return Comment(
        str(data["id"]),
        parse_jira_datetime(data.get("created")),
        text,
        author.get("displayName"),
        author.get("accountId") or author.get("name"),
    )


def parse_picker(data: dict) -> list[PickerIssue]:
    """Issues from all picker sections, once each (sections overlap)."""
    seen: dict[str, PickerIssue] = {}
    for section in data.get("sections") or []:
        for item in section.get("issues") or []:
            key = str(item.get("key", ""))
            if key and key not in seen:
                # summaryText is plain; summary carries HTML highlight markup.
                seen[key] = PickerIssue(
                    key, str(item.get("summaryText") or ""), str(item.get("id", ""))
                )
    return list(seen.values())


def parse_transition(data: dict) -> Transition:
    to = data.get("to") if isinstance(data.get("to"), dict) else {}
    category = to.get("statusCategory") if isinstance(to.get("statusCategory"), dict) else {}
    # Screen fields are keyed by field id; Cloud repeats it as ``key``, DC as ``fieldId``.
    screen = data.get("fields") if isinstance(data.get("fields"), dict) else {}
    fields = tuple(
        parse_field_meta({"fieldId": name, **meta})
        for name, meta in screen.items()
        if isinstance(meta, dict)
    )
    return Transition(
        str(data["id"]), str(data.get("name", "")), to.get("name"), category.get("key"), fields
    )


@dataclass(frozen=True)
class PolledIssue:
    """What the inbound poll reads of an issue: its state in Jira and its comments."""

    issue: Issue
    status_color: str | None  # the status category's colour name ("green", "yellow", ...)
    resolution: str | None
    assignee: str | None  # display name
    comments: tuple[Comment, ...]
    comments_total: int  # Jira's total: more than ``comments`` holds means "read the rest"


def parse_polled_issue(data: dict, browse: Callable[[str], str]) -> PolledIssue:
    fields = data.get("fields") or {}
    status = fields.get("status") if isinstance(fields.get("status"), dict) else {}
    category = (
        status.get("statusCategory") if isinstance(status.get("statusCategory"), dict) else {}
    )
    resolution = fields.get("resolution") if isinstance(fields.get("resolution"), dict) else {}
    assignee = fields.get("assignee") if isinstance(fields.get("assignee"), dict) else {}
    page = fields.get("comment") if isinstance(fields.get("comment"), dict) else {}
    comments = tuple(
        parse_comment(c) for c in page.get("comments") or [] if isinstance(c, dict) and "id" in c
    )
    total = page.get("total")
    return PolledIssue(
        parse_issue(data, browse),
        category.get("colorName"),
        resolution.get("name"),
        assignee.get("displayName"),
        comments,
        total if isinstance(total, int) else len(comments),
    )
