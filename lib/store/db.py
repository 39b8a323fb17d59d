"""The DuckDB connection: one per process and file, safe under Streamlit's threads.

DuckDB 2.0 refuses one connection used by two threads at once, so every
operation takes its own cursor. Writes are serialised by a lock because
concurrent updates of the same row fail with "Conflict on update!".
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

import duckdb

from lib.store.migrations import apply_migrations

log = logging.getLogger(__name__)

_LOCK_HOLDER = re.compile(r"PID (\d+)")
# Pages, zones, ranges and their charts in use at once (a few KB to ~100 KB each).
KEPT_ANSWERS = 128
T = TypeVar("T")


class DatabaseLocked(RuntimeError):
    """Another process (usually the running dashboard) holds the database file."""

    def __init__(self, path: Path, pid: int | None):
        holder = f"process {pid}" if pid else "another process"
        super().__init__(
            f"The database {path} is in use by {holder} (most likely the running "
            "dashboard). Only one process can open it: send the command through the "
            "dashboard, or stop the dashboard and try again."
        )
        self.path = path
        self.pid = pid


class Database:
    """A migrated DuckDB file with per-operation cursors and one writer at a time."""

    def __init__(self, path: Path | str):
        self.path = Path(path) if str(path) != ":memory:" else Path(":memory:")
        if str(self.path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._con = duckdb.connect(str(self.path))
        except duckdb.IOException as exc:
            if "lock" in str(exc).lower():
                match = _LOCK_HOLDER.search(str(exc))
                raise DatabaseLocked(self.path, int(match.group(1)) if match else None) from None
            raise
        self._write_lock = threading.RLock()
        self._closed = False
        self._writes = 0
        self._kept: dict = {}  # key -> (writes, answer); see ``kept``
        self._kept_lock = threading.Lock()
        with self._write_lock:
            apply_migrations(self._con)

    @contextmanager
    def read(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A cursor of its own for one read; closed afterwards."""
        cur = self._con.cursor()
        try:
            yield cur
        finally:
            cur.close()

    @contextmanager
    def transaction(
        self, prepare: Callable[[duckdb.DuckDBPyConnection], object] | None = None
    ) -> Iterator[duckdb.DuckDBPyConnection]:
        """One atomic write: committed on success, rolled back on any exception.

        ``prepare`` runs first, on the same cursor, before the transaction
        begins: for scratch temp tables only, which are the cursor's own and go
        with it. DuckDB scans the rows a transaction wrote itself on one core,
        committed rows on every core: the import's checks over a committed
        scratch copy of its file took 1.6 s instead of 2.9 s on two cores, and
        its writes from a committed stage 1.3 s instead of 1.7 s.
        """
        with self._write_lock:
            cur = self._con.cursor()
            try:
                if prepare is not None:
                    prepare(cur)
                cur.execute("BEGIN TRANSACTION")
            except BaseException:
                cur.close()
                raise
            try:
                yield cur
            except BaseException:
                cur.execute("ROLLBACK")
                raise
            else:
                cur.execute("COMMIT")
                self._writes += 1  # under the write lock, after the commit
            finally:
                cur.close()

    def close(self) -> None:
        with self._write_lock:
            if not self._closed:
                self._con.close()
                self._closed = True

    @property
    def writes(self) -> int:
        """How many write transactions committed so far: a data version for caches.

        Every write of the product goes through ``transaction`` (reads never
        write), and this process is the file's only writer (DuckDB's lock), so
        an unchanged number means unchanged data. Read it before the data a
        cache keeps: a write committed meanwhile then only makes the next read
        miss.
        """
        return self._writes

    def kept(self, key: Hashable, read: Callable[[], T]) -> T:
        """``read()``'s answer, kept under ``key`` until the next write.

        For reads every rerun of a page repeats (the Anomalies list's Jira
        side, its datastores, the Statistics page): an unchanged write count
        means an unchanged answer. The answer is shared by every session:
        callers keep it immutable or hand out copies.
        """
        writes = self._writes  # before the read: a write meanwhile only makes the next one miss
        with self._kept_lock:
            hit = self._kept.get(key)
        if hit is not None and hit[0] == writes:
            return hit[1]
        answer = read()
        with self._kept_lock:
            self._kept.pop(key, None)
            while len(self._kept) >= KEPT_ANSWERS:
                self._kept.pop(next(iter(self._kept)))
            self._kept[key] = (writes, answer)
        return answer

    @property
    def closed(self) -> bool:
        return self._closed
