"""The drift reasons and the resolution mapping: pure functions, pinned by tables."""

import pytest

from lib.store.models import ArchiveReason
from lib.store.reconciliation import LinkedAnomaly
from lib.tickets.reconciliation import DriftReason, all_done, archive_reason_for, drift_reasons


def row(status="Active", *, links=1, done=0, open_=0, gone=0, moved=0) -> LinkedAnomaly:
    reason = "Resolved" if status == "Archived" else None
    return LinkedAnomaly(1, status, reason, links, done, open_, gone, moved, ("DQ-1",), (), ())


@pytest.mark.parametrize(
    ("anomaly", "queued", "failed", "expected"),
    [
        (row("Archived", open_=1), 0, 0, [DriftReason.ARCHIVED_HERE_OPEN_IN_JIRA]),
        (row("Archived", done=1), 0, 0, []),
        (row("Active", done=1), 0, 0, [DriftReason.DONE_IN_JIRA_ACTIVE_HERE]),
        (row("Acknowledged", done=1), 0, 0, [DriftReason.DONE_IN_JIRA_ACTIVE_HERE]),
        (row("Active", links=2, done=1, open_=1), 0, 0, []),
        (row("Active", links=2, done=1), 0, 0, []),  # the other ticket's status is not read yet
        (
            row("Active", links=2, done=1, gone=1),
            0,
            0,
            [DriftReason.DONE_IN_JIRA_ACTIVE_HERE, DriftReason.TICKET_GONE],
        ),
        (row("Active", gone=1), 0, 0, [DriftReason.TICKET_GONE]),
        (row("Active", open_=1, moved=1), 0, 0, [DriftReason.TICKET_MOVED]),
        (row("Active", open_=1), 2, 0, [DriftReason.CHANGES_PENDING]),
        (row("Active", open_=1), 0, 1, [DriftReason.CHANGES_PENDING]),
        (row("Active", open_=1), 0, 0, []),
        (row("Active", links=1), 0, 0, []),  # never read: nothing to disagree with yet
    ],
)
def test_drift_reasons(anomaly, queued, failed, expected):
    assert drift_reasons(anomaly, queued, failed) == expected


@pytest.mark.parametrize(
    ("resolutions", "reason"),
    [
        (["Fixed"], ArchiveReason.RESOLVED),
        (["Done"], ArchiveReason.RESOLVED),
        (["Duplicate"], ArchiveReason.DUPLICATE),
        (["Won't Do"], ArchiveReason.DISCARDED),
        (["won’t fix"], ArchiveReason.DISCARDED),  # a typographic apostrophe, any case
        (["Cannot Reproduce"], ArchiveReason.RESOLVED),
        ([None], ArchiveReason.RESOLVED),
        (["Duplicate", "Duplicate"], ArchiveReason.DUPLICATE),
        (["Duplicate", "Won't Do"], ArchiveReason.RESOLVED),  # tickets disagree
    ],
)
def test_resolution_maps_to_an_archive_reason(resolutions, reason):
    assert archive_reason_for(resolutions) == reason


def test_all_done_needs_every_ticket_visible_and_done():
    assert all_done(row(links=2, done=2))
    assert not all_done(row(links=2, done=1, gone=1))
    assert not all_done(row(links=0))
