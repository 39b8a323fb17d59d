"""Frozen records the store returns: what an anomaly is, as the rest of the app sees it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class Status(StrEnum):
    ACTIVE = "Active"
    ACKNOWLEDGED = "Acknowledged"
    ARCHIVED = "Archived"


class ArchiveReason(StrEnum):
    RESOLVED = "Resolved"
    INVALID = "Invalid"
    DUPLICATE = "Duplicate"
    DISCARDED = "Discarded"


ANOMALY_TYPES = ("shape", "record")


def status_label(status: str, reason: str | None) -> str:
    """``Archived (Resolved)`` for archived anomalies, the bare status otherwise."""
    return f"{status} ({reason})" if reason else status


@dataclass(frozen=True)
class FailedCheck:
    check_id: int
    rule_type: str
    message: str


@dataclass(frozen=True)
class Comment:
    id: int
    anomaly_id: int
    author: str
    body: str
    created_at: datetime


@dataclass(frozen=True)
class StatusChange:
    id: int
    anomaly_id: int
    changed_by: str
    changed_at: datetime
    from_status: str | None
    from_reason: str | None
    to_status: str
    to_reason: str | None

    @property
    def from_label(self) -> str:
        return status_label(self.from_status, self.from_reason) if self.from_status else "-"

    @property
    def to_label(self) -> str:
        return status_label(self.to_status, self.to_reason)


@dataclass(frozen=True)
class Anomaly:
    """One anomaly with its failed checks (times are naive UTC)."""

    id: int
    datastore_id: int
    datastore_name: str
    container: str
    fields: tuple[str, ...]
    anomaly_type: str
    status: str
    archive_reason: str | None
    detected_at: datetime
    description: str
    weight: int
    tags: tuple[str, ...]
    failed_checks: tuple[FailedCheck, ...] = ()

    @property
    def status_label(self) -> str:
        return status_label(self.status, self.archive_reason)


@dataclass(frozen=True)
class AnomalyFilter:
    """What the Anomalies page asks for; every part optional."""

    datastore_ids: tuple[int, ...] = ()
    statuses: tuple[str, ...] = ()
    anomaly_type: str | None = None
    detected_from: datetime | None = None
    detected_to: datetime | None = None
    text: str = ""


@dataclass(frozen=True)
class AnomalyPage:
    """One page of the filtered table plus the counts the page shows."""

    rows: list[dict]
    total: int
    status_counts: dict[str, int]
