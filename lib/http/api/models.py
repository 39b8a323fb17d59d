"""Pydantic models of every payload the API takes or answers (the OpenAPI document's schemas).

Shapes follow Qualytics' ticketing integration (``ticket_id``, ``ticket_number``,
``title``...), so a script written for it needs few changes. Times are naive UTC
as the store keeps them, written ISO 8601 without an offset.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, WithJsonSchema

# Answers write times as the store keeps them, naive UTC to the second
# (``2025-12-02T12:34:20``, as Qualytics does). Declared as a pattern, not
# ``date-time``: RFC 3339 would demand an offset.
UtcTime = Annotated[
    datetime,
    PlainSerializer(lambda moment: moment.strftime("%Y-%m-%dT%H:%M:%S"), return_type=str),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$",
            "description": "UTC, ISO 8601 without offset",
        },
        mode="serialization",
    ),
]

TITLE_LIMIT = 255
TEXT_LIMIT = 32_767


class Error(BaseModel):
    error: str
    code: str
    field_errors: dict[str, str] = {}


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


# -- ticketing ------------------------------------------------------------------


class Ticket(BaseModel):
    ticket_id: str | None
    ticket_number: str
    title: str | None = None
    description: str | None = None
    status: str | None = None
    priority: str | None = None
    urgency: str | None = None
    impact: str | None = None
    category: str | None = None
    subcategory: str | None = None
    created_at: UtcTime | None = None
    updated_at: UtcTime | None = None
    resolved_at: UtcTime | None = None
    closed_at: UtcTime | None = None
    assigned_to: str | None = None
    assigned_group: str | None = None
    requester: str | None = None
    url: str
    comments_count: int | None = None
    metadata: dict[str, Any] = {}


class TicketSummary(BaseModel):
    ticket_id: str | None
    ticket_number: str
    title: str | None = None
    description: str | None = None
    status: str | None = None
    priority: str | None = None
    created_at: UtcTime | None = None
    updated_at: UtcTime | None = None
    assigned_to: str | None = None
    url: str


class TicketSearch(BaseModel):
    items: list[TicketSummary]
    total: int
    page: int
    size: int
    pages: int


class CreateTicket(_Input):
    title: str = Field(min_length=1, max_length=TITLE_LIMIT)
    description: str = Field("", max_length=TEXT_LIMIT)
    priority: str | None = Field(None, max_length=200)
    project: str | None = Field(
        None, max_length=200, description="Project key; default: the connection's"
    )
    issue_type: str | None = Field(None, max_length=200, description="Issue type name or id")
    fields: dict[str, Any] = Field({}, description="Other Jira fields by id, in Jira's shape")


class CreatedTicket(BaseModel):
    ticket: Ticket | None
    anomaly_id: int
    integration_id: int
    message: str
    status: Literal["created", "pending"]
    sync_log_id: int


class Choice(BaseModel):
    id: str
    name: str


class FormField(BaseModel):
    id: str
    name: str
    type: str
    required: bool
    allowed_values: list[Choice] = []
    default: str | None = None


class FormSpecification(BaseModel):
    project: str | None
    issue_type: str | None
    projects: list[Choice]
    issue_types: list[Choice]
    fields: list[FormField]


class LinkTicket(_Input):
    ticket_id: str = Field(min_length=1, max_length=100, description="Issue key (or id)")


class TicketLinkOut(BaseModel):
    id: int
    anomaly_id: int
    integration_id: int
    ticket_id: str
    ticket_number: str
    url: str
    title: str | None
    status: str | None
    priority: str | None
    created_by_us: bool
    linked_at: UtcTime
    linked_by: str
    last_synced_at: UtcTime | None
    unlinked_at: UtcTime | None = None


# -- anomalies -----------------------------------------------------------------


class FailedCheckOut(BaseModel):
    check_id: int
    rule_type: str
    message: str


class AnomalyRow(BaseModel):
    id: int
    detected_at: UtcTime
    datastore_name: str
    container: str
    fields: str
    anomaly_type: str
    status: str
    archive_reason: str | None
    weight: int | None
    checks: int


class AnomalyList(BaseModel):
    items: list[AnomalyRow]
    total: int
    page: int
    size: int
    pages: int
    status_counts: dict[str, int]


class StatusChangeOut(BaseModel):
    changed_by: str
    changed_at: UtcTime
    from_status: str | None
    from_reason: str | None
    to_status: str
    to_reason: str | None


class AnomalyOut(BaseModel):
    id: int
    datastore_id: int
    datastore_name: str
    container: str
    fields: list[str]
    anomaly_type: str
    status: str
    archive_reason: str | None
    detected_at: UtcTime
    description: str | None
    weight: int | None
    tags: list[str]
    failed_checks: list[FailedCheckOut]
    history: list[StatusChangeOut] = []


class Archive(_Input):
    status: Literal["Archived"]
    archive_reason: Literal["Resolved", "Invalid", "Duplicate", "Discarded"]


class Reopen(_Input):
    status: Literal["Active", "Acknowledged"]


# A tagged union, so the document itself says "a reason with Archived, and only then".
ChangeStatus = Annotated[Archive | Reopen, Field(discriminator="status")]
# Pydantic puts the tag into an error's location; the error names the field without it.
UNION_TAGS = frozenset({"Active", "Acknowledged", "Archived"})


class NewComment(_Input):
    text: str = Field(min_length=1, max_length=TEXT_LIMIT)
    author: str = Field("api", min_length=1, max_length=100)


class CommentOut(BaseModel):
    id: int
    anomaly_id: int
    author: str
    body: str
    created_at: UtcTime


# -- operations ----------------------------------------------------------------


class LogEntryOut(BaseModel):
    id: int
    created_at: UtcTime
    type: str
    status: str
    action: str
    anomaly_id: int | None
    ticket_id: str | None
    ticket_key: str | None
    ticket_url: str | None
    error: str | None
    error_kind: str | None = Field(None, description="Failure kind of a failed row")


class LogPageOut(BaseModel):
    items: list[LogEntryOut]
    total: int
    page: int
    size: int
    pages: int


class CounterOut(BaseModel):
    name: Literal["create", "update", "total"]
    label: str
    total: int = Field(description="Since the latest reset (all time when never reset)")
    today: int = Field(description="Today in the time zone asked for, whatever the resets")
    yesterday: int
    all_time: int = Field(description="Every success ever counted (resets and cleanups aside)")
    last_reset: UtcTime | None
    counts: str = Field(description="What this counter counts")


class ResetOut(BaseModel):
    reset_at: UtcTime
    reset_by: str | None
    created: int = Field(description="Create's all-time count when reset (its baseline)")
    updated: int = Field(description="Update's all-time count when reset (its baseline)")
    total: int


class Statistics(BaseModel):
    time_zone: str
    counters: list[CounterOut]
    last_reset: ResetOut | None
    resets: list[ResetOut] = Field(description="The latest resets, newest first (at most 20)")


class CleanupOut(BaseModel):
    removed: int = Field(description="Finished log rows removed")
    by_age: int = Field(description="Removed for being older than max_age_days")
    by_count: int = Field(description="Removed beyond the newest max_entries")
    max_entries: int = Field(description="The saved setting used (0: no limit)")
    max_age_days: int = Field(description="The saved setting used (0: no limit)")


class IntegrationHealthOut(BaseModel):
    """The active connection's health (lib/outbox/health.py's state machine).

    The route is open, so the connection's host and account are not in it.
    """

    state: Literal["connected", "degraded", "failing"]
    reason: str | None = Field(None, description="What the failure that set the state said")
    kind: str | None = Field(
        None,
        description="Failure kind: authentication, permission, validation, not_found, "
        "rate_limited, network, server, other",
    )
    since: UtcTime | None = Field(None, description="When the state began")
    automation_paused: bool
    explanation: str | None = Field(None, description="Why automation is paused, in words")


class Health(BaseModel):
    status: Literal["ok"]
    anomalies: int
    outbox_depth: int
    oldest_pending_age_s: float | None
    integration: IntegrationHealthOut


class LegacyHealth(BaseModel):
    status: Literal["ok"]
    anomalies: int
    sync_workers: int
