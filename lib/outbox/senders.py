"""A few threads that send claimed outbox rows at once, so one hanging call holds one ticket.

The worker claims a row (one short transaction, in its own thread, so claims
and the update limit stay sequential) and hands it here; a sender thread makes
the HTTP call and records the answer. Decisions, and why:

- A small fixed size (``DEFAULT_SENDERS`` = 4): Jira's rate limit is per
  account, so more threads would only spend it faster; 4 keep deliveries
  going while two calls hang to the client's timeout.
- The worker submits only what has a free thread (``free()``), so nothing
  claimed waits in a queue: after a 429 nothing more is claimed, and no row
  sits claimed-but-unsent.
- Daemon threads, started on demand, ended after a ``run_once()`` pass from
  outside the worker's thread (tests, the command line), at ``stop()``, or
  after ``IDLE_S`` without work: a call hanging at shutdown does not hold the
  process, and no idle thread keeps the database open.
- DuckDB: every database operation already takes its own cursor
  (``Database.read``/``transaction``), which is how DuckDB is used from
  several threads; writes stay serialised by the database's lock.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable

log = logging.getLogger("anomaly_desk.sync.senders")

DEFAULT_SENDERS = 4
IDLE_S = 5.0
THREAD_NAME = "anomaly-desk-sender"
_CLOSE = object()  # tells one thread to end


class SenderPool:
    """Runs ``send(job)`` on up to ``size`` threads; ``on_done()`` after each job."""

    def __init__(
        self,
        size: int,
        send: Callable[[object], object],
        on_done: Callable[[], None] = lambda: None,
        *,
        idle_s: float = IDLE_S,
    ):
        self.size = max(1, int(size))
        self._send = send
        self._on_done = on_done
        self._idle_s = idle_s
        self._jobs: queue.SimpleQueue = queue.SimpleQueue()
        self._changed = threading.Condition()
        self._busy = 0  # submitted and not finished
        self._threads = 0  # alive

    @property
    def busy(self) -> int:
        with self._changed:
            return self._busy

    def free(self) -> int:
        """Threads with nothing to do: submit at most this many jobs now."""
        with self._changed:
            return self.size - self._busy

    def submit(self, job: object) -> None:
        with self._changed:
            self._busy += 1
            if self._threads < min(self.size, self._busy):
                self._threads += 1
                threading.Thread(
                    target=self._loop, name=f"{THREAD_NAME}-{self._threads}", daemon=True
                ).start()
        self._jobs.put(job)

    def wait_free(self, timeout: float | None = None) -> bool:
        """Block until a thread is free (True) or ``timeout`` passes (False)."""
        with self._changed:
            return self._changed.wait_for(lambda: self._busy < self.size, timeout)

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Block until every submitted job has finished (True) or ``timeout`` passes."""
        with self._changed:
            return self._changed.wait_for(lambda: self._busy == 0, timeout)

    def close_idle(self) -> None:
        """End the threads with nothing to do now (after a ``run_once`` pass, at stop)."""
        with self._changed:
            idle = self._threads - self._busy
            self._threads -= idle  # counted now, so a later submit starts a thread
        for _ in range(idle):
            self._jobs.put(_CLOSE)

    def _loop(self) -> None:
        while True:
            try:
                job = self._jobs.get(timeout=self._idle_s)
            except queue.Empty:
                with self._changed:
                    # End only while every outstanding job still has a thread.
                    if self._busy < self._threads:
                        self._threads -= 1
                        return
                continue
            if job is _CLOSE:
                return
            try:
                self._send(job)
            except Exception:  # noqa: BLE001 - a sender must survive any one row
                log.exception("sync.sender.crashed")
            finally:
                with self._changed:
                    self._busy -= 1
                    self._changed.notify_all()
                self._on_done()


def monotonic_deadline(timeout: float | None) -> Callable[[], float | None]:
    """The time left until ``timeout`` seconds from now (None: no limit)."""
    if timeout is None:
        return lambda: None
    end = time.monotonic() + timeout
    return lambda: max(0.0, end - time.monotonic())
