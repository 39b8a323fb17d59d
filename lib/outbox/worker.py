"""The background worker: sends due outbox rows and refreshes linked tickets.

One thread, started and stopped by the dashboard's lifespan hook. It waits on
an Event (never a bare sleep) so ``stop()`` and ``wake()`` take effect at
once. Every state change is a short transaction inside the engine; no
transaction is open during an HTTP call.

Rate limits: a 429 pauses the whole worker for the server's Retry-After (the
limit is per account, so other rows would only earn more 429s); near the
limit (``X-RateLimit-NearLimit``) creates go first and periodic refreshes
wait. The operator's update limit (``UpdateLimit``, stored in
``app_settings``) defers automatic updates past N per interval, in order.

Several tickets at once (``lib.outbox.senders``): a pass picks the due head
of each ticket's queue in SQL (``OutboxQueue.due_heads``), claims them in this
thread, and a few sender threads make the calls, so a call hanging to the
client's timeout holds only its own ticket (before: every ticket, 28 of 500
changes in 62 s with two hangs). One ticket's rows still go one at a time and
in order: a claim refuses a row with an earlier unfinished row in its queue.
From the worker's own thread a pass does not wait for its calls; called from
elsewhere (tests, the command line) ``run_once()`` returns when they are done.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Protocol

from lib.jira import BULK_CHUNK, JiraError, RateLimited
from lib.outbox.engine import Delivery, SyncEngine
from lib.outbox.policy import ActiveJira, UpdateLimit, load_update_limit
from lib.outbox.senders import DEFAULT_SENDERS, SenderPool, monotonic_deadline
from lib.store.sync_log import LogRow, SyncAction, SyncLog, SyncMode

log = logging.getLogger("anomaly_desk.sync.worker")


class LinkRefresher(Protocol):
    """What the periodic refresh needs (the ticket service): the outbox sits below it."""

    def refresh(self, link_id: int, mode: str = ...) -> object: ...


class InboundPoller(Protocol):
    """The batched poll of linked tickets (``lib.tickets.inbound.InboundPoll``)."""

    def poll_if_due(self, active: ActiveJira, interval: timedelta) -> object: ...


DEFAULT_REFRESH_S = 15 * 60.0
LIMITED_ACTIONS = (SyncAction.COMMENT, SyncAction.UPDATE, SyncAction.TRANSITION)


HOUSEKEEPING_EVERY = timedelta(minutes=10)


class SyncWorker:
    """A thread that drains the outbox; ``run_once()`` is one pass (tests call it directly)."""

    def __init__(
        self,
        engine: SyncEngine,
        tickets: LinkRefresher | None = None,
        *,
        poll_s: float = 1.0,
        batch: int = 50,
        refresh_interval_s: float = DEFAULT_REFRESH_S,
        refresh_batch: int = 20,
        update_limit: Callable[[], UpdateLimit] | None = None,
        housekeeping: Callable[[datetime], object] | None = None,
        poller: InboundPoller | None = None,
        scheduled: Callable[[datetime], object] | None = None,
        senders: int = DEFAULT_SENDERS,
    ):
        self.engine = engine
        self.poller = poller  # given: the batched poll replaces the per-link refresh
        self._senders = SenderPool(senders, self._send_claimed, self.wake)
        self._housekeeping = housekeeping  # e.g. the daily log cleanup; asked every few minutes
        self._scheduled = scheduled  # e.g. the auto-ticket rules; asked after every pass
        self.tickets = tickets
        self.poll_s = poll_s
        self.batch = batch
        self.refresh_interval_s = refresh_interval_s
        self.refresh_batch = refresh_batch
        self._update_limit = update_limit or (lambda: load_update_limit(engine.db))
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._paused_until: datetime | None = None
        self._next_refresh: datetime | None = None
        self._next_due: datetime | None = None
        self._next_housekeeping: datetime | None = None
        self.rate_limited = 0  # 429s seen (the benchmark prints it)
        self._pause_lock = threading.Lock()
        engine.add_listener(self.wake)

    # -- lifecycle -----------------------------------------------------------
    def start(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="anomaly-desk-sync", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> bool:
        """Ask the thread to stop; True when it and its calls in flight have ended.

        A call still in flight after ``timeout`` is left to its daemon thread:
        its row stays claimed and is reconciled after a restart, never resent blindly.
        """
        self._stop.set()
        self._wake.set()
        left = monotonic_deadline(timeout)
        if self._thread is not None:
            self._thread.join(left())
            if self._thread.is_alive():
                return False
        idle = self._senders.wait_idle(left())
        self._senders.close_idle()
        return idle

    def wake(self) -> None:
        self._wake.set()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _run(self) -> None:
        try:
            self.engine.recover_stale_claims()
        except Exception:  # noqa: BLE001 - the worker must come up; the next pass retries
            log.exception("sync.worker.recover_failed")
        while not self._stop.is_set():
            self._wake.clear()
            try:
                worked = self.run_once()
            except Exception:  # noqa: BLE001 - one bad pass must not end the thread
                log.exception("sync.worker.pass_failed")
                worked = 0
            self._keep_house()
            self._run_scheduled()
            if not worked:
                self._wake.wait(self._idle_wait())

    def _keep_house(self) -> None:
        now = self.engine.clock()
        if self._housekeeping is None or (
            self._next_housekeeping and now < self._next_housekeeping
        ):
            return
        self._next_housekeeping = now + HOUSEKEEPING_EVERY
        try:
            self._housekeeping(now)
        except Exception:  # noqa: BLE001 - cleanup must never stop the sync
            log.exception("sync.worker.housekeeping_failed")

    def _run_scheduled(self) -> None:
        """The scheduled hook (it decides itself whether anything is due)."""
        if self._scheduled is None or self._stop.is_set():
            return
        try:
            self._scheduled(self.engine.clock())
        except Exception:  # noqa: BLE001 - a failing rule run must never stop the sync
            log.exception("sync.worker.scheduled_failed")

    def _idle_wait(self) -> float:
        now = self.engine.clock()
        wait = self.poll_s
        if not self._senders.free():
            return wait  # a sender finishing wakes the loop
        for moment in (self._next_due, self._paused_until):
            if moment is not None:
                wait = min(wait, max(0.01, (moment - now).total_seconds()))
        return wait

    # -- one pass ------------------------------------------------------------
    def run_once(self) -> int:
        """Send what is due now; returns how many rows were attempted."""
        now = self.engine.clock()
        if self._paused(now):
            return 0
        active = self.engine.client_provider()
        if active is None:
            return 0
        in_worker = threading.current_thread() is self._thread
        room = self._senders.free() if in_worker else self.batch
        due: list[LogRow] = []
        if room > 0:  # every sender busy: a finishing one wakes the loop for the next pass
            # A whole batch, not only as many as there are free senders: due creates
            # go out 50 per bulk call from this thread; the rest to the senders.
            due = self.engine.queue.due_heads(
                now, near_limit=active.client.near_limit, limit=self.batch
            )
            due = self._apply_update_limit(due, now)
        found = bool(due)
        due, done = self._deliver_creates_in_bulk(due, active)
        done += self._claim_and_send(due[:room], active, wait=not in_worker)
        if not found and room > 0:
            self._next_due = self.engine.queue.next_head_attempt_at()
        if not self._stop.is_set():
            self._refresh_links(active, now)
        return done

    def _deliver_creates_in_bulk(
        self, due: list[LogRow], active: ActiveJira
    ) -> tuple[list[LogRow], int]:
        """Two or more due creates go out in bulk calls of 50; returns (the rest, how many sent).

        A create waiting for its reconciliation is left to the one-by-one
        path, which looks for it on Jira first.
        """
        batch = [r for r in due if r.action == SyncAction.CREATE and not r.needs_reconcile]
        if len(batch) < 2:
            return due, 0
        sent = {r.id for r in batch}
        for start in range(0, len(batch), BULK_CHUNK):
            if self._stop.is_set():
                break
            chunk = [r.id for r in batch[start : start + BULK_CHUNK]]
            waits = [d.retry_after for d in self.engine.deliver_creates(chunk, active)]
            wait = max((w for w in waits if w is not None), default=None)
            if wait is not None:
                self._pause(wait)
                return [], len(batch)
        return [r for r in due if r.id not in sent], len(batch)

    def _claim_and_send(self, due: list[LogRow], active: ActiveJira, *, wait: bool) -> int:
        """Claim each row here (in order, one transaction each) and hand it to a sender."""
        done = 0
        for row in due:
            if wait:
                self._senders.wait_free()
            if self._stop.is_set() or self._paused() or not self._senders.free():
                break
            claimed = self.engine.claim(row, active)
            done += 1
            if not isinstance(claimed, Delivery):
                self._senders.submit((claimed, active))
        if wait:
            self._senders.wait_idle()
            self._senders.close_idle()
        return done

    def _send_claimed(self, job: tuple[LogRow, ActiveJira]) -> None:
        row, active = job
        delivery = self.engine.send_claimed(row, active)
        if delivery.retry_after is not None:
            self._pause(delivery.retry_after)

    def _paused(self, now: datetime | None = None) -> bool:
        until = self._paused_until
        return until is not None and (now or self.engine.clock()) < until

    def _pause(self, seconds: float) -> None:
        with self._pause_lock:  # senders report 429s from their threads
            self.rate_limited += 1
            until = self.engine.clock() + timedelta(seconds=seconds)
            if self._paused_until is None or until > self._paused_until:
                self._paused_until = until
        log.info("sync.worker.paused", extra={"sync_pause_s": seconds})

    def _apply_update_limit(self, due: list[LogRow], now: datetime) -> list[LogRow]:
        """Defer automatic updates past the operator's limit to their planned time."""
        limit = self._update_limit()
        limited = [r for r in due if r.mode == SyncMode.AUTOMATIC and r.action in LIMITED_ACTIONS]
        if not limit.enabled or not limited:
            return due
        sent = self.engine.log.automatic_updates_since(now - timedelta(seconds=limit.per_seconds))
        slots = dict(zip((r.id for r in limited), limit.plan(sent, now, len(limited))))
        later = {row_id: slot for row_id, slot in slots.items() if slot > now}
        if later:
            with self.engine.db.transaction() as cur:
                for row_id, slot in later.items():
                    SyncLog.defer_in(cur, row_id, slot)
        return [r for r in due if r.id not in later]

    # -- periodic refresh ----------------------------------------------------
    def _refresh_links(self, active: ActiveJira, now: datetime) -> None:
        if self.tickets is None or self.refresh_interval_s <= 0:
            return
        if self._next_refresh is not None and now < self._next_refresh:
            return
        interval = timedelta(seconds=self.refresh_interval_s)
        self._next_refresh = now + min(interval, timedelta(seconds=60))
        if self.poller is not None:
            self._poll(active, interval)
            return
        stale = self.engine.links.due_for_refresh(
            active.connection_id, now - interval, self.refresh_batch
        )
        for link in stale:
            if self._stop.is_set() or active.client.near_limit:
                return  # refreshes wait: outbox rows matter more near the limit
            try:
                self.tickets.refresh(link.id, mode=SyncMode.AUTOMATIC)
            except RateLimited as exc:
                self._pause(exc.retry_after or 1.0)
                return
            except (JiraError, ValueError):  # TicketRefused is a ValueError
                continue  # logged as a failed refresh row; the next cycle tries again

    def _poll(self, active: ActiveJira, interval: timedelta) -> None:
        if active.client.near_limit:
            return  # the poll waits: outbox rows matter more near the limit
        try:
            polled = self.poller.poll_if_due(active, interval)
        except RateLimited as exc:
            self.engine.health.record_failure(active.connection_id, exc)
            self._pause(exc.retry_after or 1.0)
        except JiraError as exc:
            self.engine.health.record_failure(active.connection_id, exc)
            log.info("sync.worker.poll_failed")  # logged as failed refresh rows; next cycle retries
        else:
            if polled is not None:
                self.engine.health.record_success(active.connection_id)
