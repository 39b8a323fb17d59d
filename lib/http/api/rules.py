"""Auto-ticket rules over the API: list, create, read, replace, delete, and a dry run.

Everything goes through ``RuleService`` (the Rules page's use case): the same
checks, the same answers. A new rule is paused unless the body says
``"paused": false``; ``POST /rules/{id}/dry-run`` shows what it would do to
the anomalies present now (which tickets, which comments) with the same
planning function the run uses. Field errors come back under the body's own
names (``conditions.weight_max``, ``ticket.labels``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

from fastapi import APIRouter, Depends, Path, Response
from pydantic import BaseModel, ConfigDict, Field

from lib.http.api.common import errors
from lib.http.api.errors import ApiError
from lib.http.api.models import UtcTime
from lib.services import Services
from lib.store.rules import RuleConditions, RuleDraft, TicketRule, TicketTemplate
from lib.tickets.rules import (
    MAX_REOPEN_DAYS,
    MAX_WINDOW_MINUTES,
    NAME_LIMIT,
    RuleNotFound,
    RuleRefused,
    RuleService,
    step_rows,
)

RuleId = Path(ge=1, le=2**62, description="The rule's id")


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid")  # an unknown field is a 422, not ignored


class RuleConditionsBody(_Input):
    datastore_ids: list[int] = Field(default=[], max_length=500)
    containers: list[str] = Field(default=[], max_length=500, description="Tables")
    anomaly_types: list[Literal["shape", "record"]] = []
    weight_min: int | None = Field(default=None, ge=0, le=2**31 - 1)
    weight_max: int | None = Field(default=None, ge=0, le=2**31 - 1)
    tags: list[str] = Field(default=[], max_length=500, description="Any of them")
    rule_types: list[str] = Field(
        default=[], max_length=500, description="Any failed check's rule type"
    )


class RuleTicketBody(_Input):
    project: str | None = Field(default=None, max_length=255)
    issue_type: str | None = Field(default=None, max_length=255)
    priority: str | None = Field(default=None, max_length=255)
    labels: list[str] = Field(default=[], max_length=100)
    components: list[str] = Field(default=[], max_length=100)
    assignee: str | None = Field(
        default=None, max_length=255, description="Cloud: account id; Data Center: user name"
    )


class RuleBody(_Input):
    name: str = Field(min_length=1, max_length=NAME_LIMIT)
    action: Literal["ticket", "skip"] = Field(
        default="ticket", description="skip: do not ticket what matches"
    )
    conditions: RuleConditionsBody = RuleConditionsBody()
    ticket: RuleTicketBody = RuleTicketBody()
    group_by: Literal["none", "table", "datastore", "check"] = "none"
    window_minutes: int = Field(default=60, ge=1, le=MAX_WINDOW_MINUTES)
    reopen_days: int = Field(default=7, ge=0, le=MAX_REOPEN_DAYS)
    paused: bool = True
    position: int | None = Field(default=None, ge=1, le=10_000, description="1 = first")


class RuleConditionsOut(BaseModel):
    datastore_ids: list[int]
    containers: list[str]
    anomaly_types: list[str]
    weight_min: int | None
    weight_max: int | None
    tags: list[str]
    rule_types: list[str]


class RuleTicketOut(BaseModel):
    project: str | None
    issue_type: str | None
    priority: str | None
    labels: list[str]
    components: list[str]
    assignee: str | None


class RuleOut(BaseModel):
    id: int
    position: int
    name: str
    paused: bool
    action: str
    conditions: RuleConditionsOut
    ticket: RuleTicketOut
    group_by: str
    window_minutes: int
    reopen_days: int
    created_at: UtcTime
    updated_at: UtcTime


class RuleList(BaseModel):
    items: list[RuleOut]
    paused_reason: str | None = Field(
        description="Why every rule is paused now (the integration is failing), or null"
    )


class DryRunStep(BaseModel):
    anomaly_id: int
    rule: str
    action: str  # skip | create | link | seen_again | reopen | wait
    ticket: str
    comment: str
    what: str


class DryRun(BaseModel):
    rule_id: int
    steps: list[DryRunStep]
    message: str


def rule_json(rule: TicketRule) -> dict:
    c, t = rule.conditions, rule.ticket
    return {
        "id": rule.id,
        "position": rule.position,
        "name": rule.name,
        "paused": rule.paused,
        "action": rule.action,
        "conditions": {
            "datastore_ids": list(c.datastore_ids),
            "containers": list(c.containers),
            "anomaly_types": list(c.anomaly_types),
            "weight_min": c.weight_min,
            "weight_max": c.weight_max,
            "tags": list(c.tags),
            "rule_types": list(c.rule_types),
        },
        "ticket": {
            "project": t.project,
            "issue_type": t.issue_type,
            "priority": t.priority,
            "labels": list(t.labels),
            "components": list(t.components),
            "assignee": t.assignee,
        },
        "group_by": rule.group_by,
        "window_minutes": rule.window_minutes,
        "reopen_days": rule.reopen_days,
        "created_at": rule.created_at,
        "updated_at": rule.updated_at,
    }


def draft_of(body: RuleBody) -> RuleDraft:
    c, t = body.conditions, body.ticket
    return RuleDraft(
        name=body.name,
        action=body.action,
        conditions=RuleConditions(
            tuple(c.datastore_ids),
            tuple(c.containers),
            tuple(c.anomaly_types),
            c.weight_min,
            c.weight_max,
            tuple(c.tags),
            tuple(c.rule_types),
        ),
        ticket=TicketTemplate(
            t.project, t.issue_type, t.priority, tuple(t.labels), tuple(t.components), t.assignee
        ),
        group_by=body.group_by,
        window_minutes=body.window_minutes,
        reopen_days=body.reopen_days,
        paused=body.paused,
    )


def _refusal(exc: RuleRefused) -> ApiError:
    if isinstance(exc, RuleNotFound):
        return ApiError(404, str(exc))
    if exc.field_errors:
        return ApiError(422, str(exc), exc.field_errors)
    return ApiError(503, str(exc))  # no Jira connection to plan against


def rules_router(get_services: Callable[[], Services], auth: Callable) -> APIRouter:
    router = APIRouter(prefix="/rules", tags=["rules"], dependencies=[Depends(auth)])

    def service() -> RuleService:
        return get_services().rules

    @router.get("", response_model=RuleList, responses=errors(401))
    def list_rules() -> dict:
        """Every rule in order (first match wins), and why rules are paused, if they are."""
        rules = service()
        paused = rules.paused()
        return {
            "items": [rule_json(r) for r in rules.rules()],
            "paused_reason": paused.reason if paused else None,
        }

    @router.post("", response_model=RuleOut, status_code=201, responses=errors(401, 422))
    def create_rule(body: RuleBody) -> dict:
        """A new rule, last or at ``position``; paused unless ``paused`` is false."""
        try:
            return rule_json(service().create(draft_of(body), body.position))
        except RuleRefused as exc:
            raise _refusal(exc) from None

    @router.get("/{rule_id}", response_model=RuleOut, responses=errors(401, 404, 422))
    def get_rule(rule_id: int = RuleId) -> dict:
        try:
            return rule_json(service().get(rule_id))
        except RuleRefused as exc:
            raise _refusal(exc) from None

    @router.put("/{rule_id}", response_model=RuleOut, responses=errors(401, 404, 422))
    def replace_rule(body: RuleBody, rule_id: int = RuleId) -> dict:
        """Replace a rule's settings (and its place, with ``position``)."""
        try:
            return rule_json(service().update(rule_id, draft_of(body), body.position))
        except RuleRefused as exc:
            raise _refusal(exc) from None

    @router.delete("/{rule_id}", status_code=204, responses=errors(401, 404, 422))
    def delete_rule(rule_id: int = RuleId) -> Response:
        """Remove a rule; the tickets it made stay, and are not made again."""
        try:
            service().delete(rule_id)
        except RuleRefused as exc:
            raise _refusal(exc) from None
        return Response(status_code=204)

    @router.post("/{rule_id}/dry-run", response_model=DryRun, responses=errors(401, 404, 422, 503))
    def dry_run(rule_id: int = RuleId) -> dict:
        """What the rule would do now, as if enabled: which tickets, which comments. Sends nothing."""
        try:
            report = service().dry_run(rule_id)
        except RuleRefused as exc:
            raise _refusal(exc) from None
        return {"rule_id": rule_id, "steps": step_rows(report), "message": report.message}

    return router
