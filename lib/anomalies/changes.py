"""Every change to an anomaly, from every edge, in one place and one transaction each.

The pages, the import (page, command line, HTTP) and automation all come
here. A status change or comment writes the anomaly, its history row and one
pending Jira comment per linked ticket (the outbox) together, so a change is
never stored without its queued updates, nor queued without being stored.
Decisions, and why:

- Every call says its mode. What a person does (in the dashboard, or by
  importing a file) is ``manual`` and is never held back by the automatic
  update limit; only automation is ``automatic``. A default would let a new
  call site slip into the wrong one unnoticed.
- An import states the truth about an anomaly, so it may move it between any
  two statuses (no workflow check), but only a real change is recorded: a
  re-import of the same file writes no history and sends nothing.
- Jira's own workflow status is changed only where the connection asks for
  it ("move linked tickets", off by default): archiving then also queues a
  move into Done per linked ticket, reopening one out of it
  (``lib.outbox.transitions``), in the same transaction as the comments.
- A change Jira itself made (its Done came back, or a person applied Jira's
  state on the Reconciliation page) is recorded as done by ``jira`` and
  queues nothing, neither comment nor move (``send_to_jira=False``): telling
  Jira what it just told us would be the first step of a loop.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import PurePath
from typing import BinaryIO

import duckdb

from lib.anomalies.import_fast import json_path
from lib.anomalies.importing import (
    MAX_ROWS,
    ImportRefused,
    ImportResult,
    ParsedAnomaly,
    as_source,
    check_file,
    parsed_chunks,
)
from lib.outbox.policy import enqueue_for_links_in
from lib.outbox.transitions import enqueue_status_change_in
from lib.store.anomalies import AnomalyNotFound, AnomalyRepository, bounded_memory
from lib.store.anomaly_import import (
    FAST_IMPORT_MEMORY,
    drop_stage_in,
    read_json_in,
    stage_json_in,
    staged_moves_in,
    write_stage_in,
)
from lib.store.db import Database
from lib.store.links import LinkRepository
from lib.store.models import ArchiveReason, Comment, Status, StatusChange
from lib.store.sync_log import SyncMode
from lib.tickets.description import comment_text, status_text

# Who caused a change, as the outbox's update limit sees it: the store's own
# enum (the lower layer), so the value written to sync_log.mode has one definition.
# MANUAL (a person) is never deferred by the update limit; AUTOMATIC is held to it.
Mode = SyncMode


class ActorKind(StrEnum):
    PERSON = "person"
    IMPORT = "import"
    API = "api"
    AUTOMATION = "automation"
    JIRA = "jira"  # Jira's own state came back (its Done), applied here


@dataclass(frozen=True)
class Actor:
    """Who made a change; ``label`` is what history rows and Jira comments show."""

    kind: ActorKind
    name: str = ""

    @classmethod
    def person(cls, name: str) -> Actor:
        return cls(ActorKind.PERSON, name.strip())

    @classmethod
    def importer(cls, filename: str) -> Actor:
        return cls(ActorKind.IMPORT, PurePath(filename or "file").name)

    @classmethod
    def api(cls) -> Actor:
        return cls(ActorKind.API)

    @classmethod
    def automation(cls) -> Actor:
        return cls(ActorKind.AUTOMATION)

    @classmethod
    def jira(cls) -> Actor:
        return cls(ActorKind.JIRA)

    @property
    def label(self) -> str:
        if self.kind is ActorKind.PERSON:
            return self.name
        if self.kind is ActorKind.IMPORT:
            return f"import {self.name}"
        return self.kind.value


def _actor(actor: Actor | str) -> Actor:
    """A bare name is a person (what the pages pass)."""
    return actor if isinstance(actor, Actor) else Actor.person(actor)


def _mode(mode: Mode | str) -> Mode:
    try:
        return Mode(mode)
    except ValueError:
        raise ValueError(f"'{mode}' is not a mode: use manual or automatic.") from None


# A row the validation let through but the database cannot hold still becomes a
# refusal (the transaction is rolled back): a bad file must never end in a traceback.
# A function, evaluated only when an exception is matched: pyarrow (0.08 s of the
# command line's start) is imported by the row path's Arrow writes, not here.
def _store_refusals() -> tuple[type[BaseException], ...]:
    import pyarrow as pa

    return (
        duckdb.ConversionException,
        duckdb.ConstraintException,
        duckdb.OutOfRangeException,
        pa.ArrowException,
        OverflowError,
        UnicodeEncodeError,
    )


class _NotPlain(Exception):
    """The fast path cannot decide the file: its transaction rolls back, the row path runs."""


class AnomalyChanges:
    """Status changes, comments and imports, each with its queued Jira comments.

    ``active_connection`` (optional) names the connection whose links get
    updates; without it every active link does. ``on_enqueued`` is called
    after a commit that queued something (the worker's wake-up).
    """

    def __init__(
        self,
        db: Database,
        clock: Callable[[], datetime],
        *,
        active_connection: Callable[[], int | None] | None = None,
        on_enqueued: Callable[[], None] | None = None,
        on_imported: Callable[[ImportResult], None] | None = None,
    ):
        self._on_imported = on_imported  # after an import commits: auto-ticket rules run
        self._db = db
        self._repo = AnomalyRepository(db)
        self._clock = clock
        self._active_connection = active_connection
        self._on_enqueued = on_enqueued

    def _connection(self) -> int | None:
        return self._active_connection() if self._active_connection else None

    def _queued(self, ids: Sequence[int]) -> None:
        if ids and self._on_enqueued is not None:
            self._on_enqueued()

    # -- one anomaly ---------------------------------------------------------
    def acknowledge(self, anomaly_id: int, actor: Actor | str, *, mode: Mode) -> StatusChange:
        return self._change(anomaly_id, Status.ACKNOWLEDGED, None, actor, mode)

    def archive(
        self,
        anomaly_id: int,
        reason: ArchiveReason | str,
        actor: Actor | str,
        *,
        mode: Mode,
        send_to_jira: bool = True,
    ) -> StatusChange:
        """Raises: ValueError for a reason that is not one of the four."""
        try:
            reason = ArchiveReason(reason)
        except ValueError:
            raise ValueError(
                f"'{reason}' is not an archive reason: use Resolved, Invalid, Duplicate or Discarded."
            ) from None
        return self._change(anomaly_id, Status.ARCHIVED, reason, actor, mode, send_to_jira)

    def reopen(
        self, anomaly_id: int, actor: Actor | str, *, mode: Mode, send_to_jira: bool = True
    ) -> StatusChange:
        return self._change(anomaly_id, Status.ACTIVE, None, actor, mode, send_to_jira)

    def from_jira(
        self, anomaly_id: int, to: Status | str, reason: ArchiveReason | str | None = None
    ) -> StatusChange:
        """Apply the state Jira's tickets are in: recorded as done by ``jira``, nothing sent back.

        Raises: AnomalyNotFound; ValueError for a status or reason that is not one of ours.
        """
        to = Status(to)
        if to is Status.ARCHIVED:
            return self.archive(
                anomaly_id, reason, Actor.jira(), mode=Mode.AUTOMATIC, send_to_jira=False
            )
        return self._change(anomaly_id, to, None, Actor.jira(), Mode.AUTOMATIC, False)

    def resend_status(self, anomaly_id: int, actor: Actor | str, *, mode: Mode) -> list[int]:
        """Queue the anomaly's current status comment to its tickets again ("Apply ours to Jira").

        No history row: the status did not change, Jira is told it again.
        Raises: AnomalyNotFound.
        """
        who, mode = _actor(actor).label, _mode(mode)
        now = self._clock()
        anomaly = self._repo.get(anomaly_id)
        if anomaly is None:
            raise AnomalyNotFound(anomaly_id)
        with self._db.transaction() as cur:
            ids = enqueue_for_links_in(
                cur,
                anomaly_id,
                status_text(now, anomaly.status, anomaly.archive_reason),
                mode=mode,
                actor=who,
                now=now,
                connection_id=self._connection(),
            )
        self._queued(ids)
        return ids

    def _change(
        self,
        anomaly_id: int,
        to: Status,
        reason: ArchiveReason | None,
        actor: Actor | str,
        mode: Mode,
        send_to_jira: bool = True,
    ) -> StatusChange:
        who, mode = _actor(actor).label, _mode(mode)
        now = self._clock()
        connection = self._connection()
        with self._db.transaction() as cur:
            change = self._repo.change_status_in(cur, anomaly_id, to, reason, who, now)
            if not send_to_jira:
                return change
            ids = _queue_status_in(cur, change, mode, who, now, connection)
        self._queued(ids)
        return change

    def comment(self, anomaly_id: int, author: Actor | str, text: str, *, mode: Mode) -> Comment:
        """Raises: AnomalyNotFound, or ValueError for an empty text or author."""
        who, mode = _actor(author).label, _mode(mode)
        connection = self._connection()
        with self._db.transaction() as cur:
            comment = self._repo.add_comment_in(cur, anomaly_id, who, text, self._clock())
            ids = enqueue_for_links_in(
                cur,
                anomaly_id,
                comment_text(comment.author, comment.body),
                mode=mode,
                actor=comment.author,
                now=comment.created_at,
                connection_id=connection,
            )
        self._queued(ids)
        return comment

    # -- import --------------------------------------------------------------
    def import_file(
        self, filename: str, data: bytes | BinaryIO, *, mode: Mode, fast: bool = True
    ) -> ImportResult:
        """Check a whole file, then write it (and what it changes) in one transaction.

        ``data`` is the file's bytes or a binary file open at any position. A
        plain JSON file is checked and written by DuckDB in columns
        (``lib.anomalies.import_fast``); any other file, or one with a doubt,
        is read twice, a chunk at a time (see ``lib.anomalies.importing``).
        ``fast=False`` takes the row path whatever the file (tests compare both).

        Raises:
            ImportRefused: the file or one of its rows is bad; nothing was changed.
        """
        source = as_source(data)
        result = self._import_fast(filename, source, mode) if fast else None
        if result is None:
            result = self._import_rows(filename, source, mode)
        if self._on_imported is not None and result.inserted:
            self._on_imported(result)  # new anomalies: the rules look at them next
        return result

    def _import_rows(self, filename: str, source: BinaryIO, mode: Mode) -> ImportResult:
        kept = check_file(filename, source)  # the whole file, before anything is written
        if kept is not None:
            return self._import_chunks([kept], actor=Actor.importer(filename), mode=mode)
        with bounded_memory(self._db):  # a long file: its transaction spills, never grows
            chunks = parsed_chunks(filename, source)
            return self._import_chunks(chunks, actor=Actor.importer(filename), mode=mode)

    def _import_fast(self, filename: str, source: BinaryIO, mode: Mode) -> ImportResult | None:
        """The file checked and written in columns; None (nothing written) if not plainly good."""
        who, mode = Actor.importer(filename).label, _mode(mode)
        now, connection = self._clock(), self._connection()
        with json_path(filename, source) as path:
            if path is None:
                return None
            try:
                with (
                    bounded_memory(self._db, FAST_IMPORT_MEMORY),
                    self._db.transaction(lambda c: read_json_in(c, path, MAX_ROWS)) as cur,
                ):
                    result, queued = self._write_staged_in(cur, who, mode, now, connection)
            except (_NotPlain, *_store_refusals()):
                return None  # rolled back: the row path decides, and words why
        self._queued(queued)
        return result

    def _write_staged_in(
        self,
        cur: duckdb.DuckDBPyConnection,
        who: str,
        mode: Mode,
        now: datetime,
        connection: int | None,
    ) -> tuple[ImportResult, list[int]]:
        rows = stage_json_in(cur, MAX_ROWS)
        if rows is None:
            raise _NotPlain
        updated, moved = write_stage_in(cur, who, now)
        linked = LinkRepository.anomalies_with_links_in(cur, moved, connection_id=connection)
        queued = [
            row_id
            for move in staged_moves_in(cur, linked, who, now)
            for row_id in _queue_status_in(cur, move, mode, who, now, connection)
        ]
        drop_stage_in(cur)
        result = ImportResult(rows - updated, updated, len(moved), len(queued))
        return result, queued

    def import_parsed(
        self, items: Sequence[ParsedAnomaly], *, actor: Actor | str, mode: Mode
    ) -> ImportResult:
        """Insert new anomalies, update known ones, record and queue each status change.

        Raises:
            ImportRefused: the database refused a row; nothing was changed.
        """
        return self._import_chunks([items], actor=actor, mode=mode)

    def _import_chunks(
        self, chunks: Iterable[Sequence[ParsedAnomaly]], *, actor: Actor | str, mode: Mode
    ) -> ImportResult:
        """Write every chunk in one transaction: all of the file or, on a refusal, none."""
        who, mode = _actor(actor).label, _mode(mode)
        now = self._clock()
        connection = self._connection()
        total, queued = ImportResult(0, 0), []
        try:
            with self._db.transaction() as cur:
                for items in chunks:
                    result, ids = self._import_in(cur, items, who, mode, now, connection)
                    total, queued = _added(total, result), queued + ids
        except _store_refusals() as exc:
            raise ImportRefused([f"The database cannot hold a value in the file: {exc}"]) from None
        self._queued(queued)
        return total

    def _import_in(
        self,
        cur: duckdb.DuckDBPyConnection,
        items: Sequence[ParsedAnomaly],
        who: str,
        mode: Mode,
        now: datetime,
        connection: int | None,
    ) -> tuple[ImportResult, list[int]]:
        before = self._repo.statuses_in(cur, [p.anomaly.id for p in items])
        self._repo.upsert_many_in(cur, [p.anomaly for p in items], now)
        # Comments and history in a file describe the anomaly's past: load them
        # once, for new anomalies, so a re-import never doubles them.
        fresh = [p for p in items if p.anomaly.id not in before]
        self._repo.add_status_changes_in(cur, [h for p in fresh for h in p.history])
        self._repo.add_history_in(cur, [], [c for p in fresh for c in p.comments])
        moves = status_moves(before, items, who, now)
        self._repo.add_status_changes_in(cur, moves)
        # Asked once for the whole file: most anomalies have no ticket, and a
        # query per moved anomaly cost ~1 ms each (10 s for 10,000).
        linked = LinkRepository.anomalies_with_links_in(
            cur, [m.anomaly_id for m in moves], connection_id=connection
        )
        queued = [
            row_id
            for move in moves
            if move.anomaly_id in linked
            for row_id in _queue_status_in(cur, move, mode, who, now, connection)
        ]
        result = ImportResult(
            inserted=len(items) - len(before),
            updated=len(before),
            status_changes=len(moves),
            queued=len(queued),
        )
        return result, queued


def _queue_status_in(
    cur: duckdb.DuckDBPyConnection,
    change: StatusChange,
    mode: Mode,
    who: str,
    now: datetime,
    connection: int | None,
) -> list[int]:
    """The status comment per linked ticket, and the ticket moves the connection asks for."""
    return enqueue_status_change_in(
        cur,
        change.anomaly_id,
        from_status=change.from_status,
        to_status=change.to_status,
        reason=change.to_reason,
        text=status_text(now, change.to_status, change.to_reason),
        mode=mode,
        actor=who,
        now=now,
        connection_id=connection,
    )


def _added(a: ImportResult, b: ImportResult) -> ImportResult:
    return ImportResult(
        a.inserted + b.inserted,
        a.updated + b.updated,
        a.status_changes + b.status_changes,
        a.queued + b.queued,
    )


def status_moves(
    before: dict[int, tuple[str, str | None]],
    items: Sequence[ParsedAnomaly],
    who: str,
    now: datetime,
) -> list[StatusChange]:
    """The history rows an import writes: one per known anomaly whose status or reason changes."""
    moves = []
    for p in items:
        old = before.get(p.anomaly.id)
        new = (p.anomaly.status, p.anomaly.archive_reason)
        if old is not None and tuple(old) != new:
            moves.append(StatusChange(0, p.anomaly.id, who, now, old[0], old[1], *new))
    return moves
