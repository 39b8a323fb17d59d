"""Moving a linked ticket into or out of Jira's Done: the pure rules (no HTTP here).

Decisions, and why:

- A move is found by the target status's **category** (``done``; out of Done
  ``indeterminate``, else ``new``) or by a transition id the connection names,
  never by a transition or status name: names are localised and renamed, the
  category keys and ids are not.
- Already in the target category: nothing is sent (Sentry's rule: compare
  first). The same check makes a retry safe: a move whose answer was lost is
  found done by re-reading the issue, never sent twice.
- The archive reason becomes a resolution only when the transition's screen
  has the resolution field, chosen among its ``allowedValues`` (by name, as the
  values are a site's own, then sent by id): Resolved -> Fixed, else Done;
  Duplicate -> Duplicate; Invalid and Discarded -> Won't Do. A screen that
  requires a resolution none of those names fits refuses the move (a wrong
  resolution would be worse than a comment).
- The status comment is sent in any case; a refused move adds one more
  comment (``refused_comment``) so the Jira side learns why it did not move.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from enum import StrEnum

from lib.jira.records import Transition
from lib.store.models import Status


class MoveTarget(StrEnum):
    DONE = "done"  # the anomaly was archived
    OUT_OF_DONE = "out_of_done"  # the anomaly was reopened


DONE_CATEGORY = "done"
# Out of Done, in order of preference: back to work, else to the start.
REOPEN_CATEGORIES = ("indeterminate", "new")
RESOLUTIONS = {
    "Resolved": ("Fixed", "Done"),
    "Duplicate": ("Duplicate",),
    "Invalid": ("Won't Do",),
    "Discarded": ("Won't Do",),
}


@dataclass(frozen=True)
class MovePlan:
    """What one ``transition`` row is to do, stored in its ``request_json`` under ``move``."""

    target: MoveTarget
    archive_reason: str | None = None
    transition_id: str | None = None  # the connection's chosen id; None: by category
    status_text: str = ""  # the status comment's text, repeated by a refusal's comment

    def to_request(self) -> dict:
        return {"move": {**asdict(self), "target": str(self.target)}}

    @classmethod
    def from_request(cls, request: dict) -> MovePlan:
        """Raises: ValueError when the row holds no plan (a bug, never user input)."""
        move = request.get("move")
        if not isinstance(move, dict):
            raise ValueError("transition row without a move plan")
        return cls(
            MoveTarget(move["target"]),
            move.get("archive_reason"),
            move.get("transition_id"),
            str(move.get("status_text") or ""),
        )

    @property
    def target_label(self) -> str:
        return "to Done" if self.target is MoveTarget.DONE else "out of Done"


def move_target(from_status: str | None, to_status: str) -> MoveTarget | None:
    """Archived: into Done; out of Archived (reopened, or acknowledged by an import): out."""
    archived = str(Status.ARCHIVED)
    if to_status == archived and from_status != archived:
        return MoveTarget.DONE
    if from_status == archived and to_status != archived:
        return MoveTarget.OUT_OF_DONE
    return None


def already_there(category: str | None, target: MoveTarget) -> bool:
    """Whether an issue in status ``category`` needs no move."""
    in_done = category == DONE_CATEGORY
    return in_done if target is MoveTarget.DONE else (category is not None and not in_done)


def pick_transition(
    offered: Sequence[Transition], plan: MovePlan, status_name: str | None
) -> Transition | str:
    """The transition to send, or why there is none (a refusal, in words)."""
    if plan.transition_id:
        found = next((t for t in offered if t.id == plan.transition_id), None)
        if found is not None:
            return found
        return (
            f"transition {plan.transition_id} is not available from '{status_name}'"
            f" (offered: {_ids(offered)})"
        )
    wanted = (DONE_CATEGORY,) if plan.target is MoveTarget.DONE else REOPEN_CATEGORIES
    for category in wanted:
        found = next((t for t in offered if t.to_category == category), None)
        if found is not None:
            return found
    where = "into the Done category" if plan.target is MoveTarget.DONE else "out of Done"
    return f"no transition {where} is available from '{status_name}' (offered: {_ids(offered)})"


def _ids(offered: Sequence[Transition]) -> str:
    return ", ".join(f"{t.id} to {t.to_category or '?'}" for t in offered) or "none"


def _name_key(name: str) -> str:
    """Resolution names compared without case, spacing or the apostrophe's shape."""
    return re.sub(r"[\s'’`]+", "", name).casefold()


def resolution_fields(transition: Transition, plan: MovePlan) -> tuple[dict | None, str | None]:
    """(the ``fields`` to send with the move, or None; why the move cannot be made, or None)."""
    field = transition.field("resolution")
    if plan.target is not MoveTarget.DONE or field is None:
        return None, None
    allowed = {_name_key(v.name): v for v in field.allowed_values}
    names = RESOLUTIONS.get(plan.archive_reason or "", ())
    chosen = next((allowed[_name_key(n)] for n in names if _name_key(n) in allowed), None)
    if chosen is not None:
        return {"resolution": {"id": chosen.id}}, None
    if field.required:
        offered = ", ".join(v.name for v in field.allowed_values) or "none"
        wanted = " or ".join(names) or "a resolution"
        return None, f"the screen requires a resolution and {wanted} is not allowed ({offered})"
    return None, None


def resolution_name(transition: Transition, fields: dict | None) -> str | None:
    """The name of the resolution ``fields`` set (for the Log)."""
    wanted = ((fields or {}).get("resolution") or {}).get("id")
    field = transition.field("resolution")
    if wanted is None or field is None:
        return None
    return next((v.name for v in field.allowed_values if v.id == wanted), None)


def refused_comment(plan: MovePlan, why: str) -> str:
    """The comment sent when Jira's workflow refuses the move."""
    lead = f"{plan.status_text}. " if plan.status_text else ""
    return (
        f"{lead}Anomaly Desk could not move this ticket {plan.target_label}, "
        f"the workflow refused: {why}. Please move it by hand."
    )


def refused_log_text(why: str) -> str:
    """What the Log row of a refused move says."""
    return f"transition refused by the workflow: {why}; status comment sent instead"
