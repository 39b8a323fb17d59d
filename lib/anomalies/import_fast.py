"""The import's fast path: a plain JSON file checked in columns by DuckDB, then written set-wise.

Decisions, and why:

- Checking a file row by row in Python cost ~50 us a row (decode and
  validate), ~45x DuckDB reading the same file. The fast path lets DuckDB
  read and check the file in columns (``lib.store.anomaly_import``) and
  writes it from there, in one transaction with the status moves and their
  queued Jira comments (the caller, ``lib.anomalies.changes``, queues them
  through the one change path).
- It decides only "plainly good": any doubt (another format, a row in a form
  the product does not write itself, a repeated id, a file DuckDB cannot
  read) sends the file to the row validator, which gives today's decision
  and messages and writes nothing when it refuses. So a file's fate and the
  database contents are the same on both paths, only faster for the plain
  case (``tests/unit/test_import_fast.py`` checks that over generated files).
- DuckDB reads from a path: an upload's bytes (or a file object without a
  plain path) are copied to a temporary file first, removed afterwards.
  CSV and Parquet keep the row path for now.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import BinaryIO

from lib.anomalies.import_reading import FileUnreadable, check_utf8, file_kind

_GLOB = set("*?[]{}")  # DuckDB expands these in a path: such a path is copied first


@contextmanager
def json_path(filename: str, source: BinaryIO) -> Iterator[str | None]:
    """A path DuckDB can read the JSON file from, or None (not JSON, or not UTF-8)."""
    try:
        if file_kind(filename) != "json":
            yield None
            return
        check_utf8(filename, source)
    except FileUnreadable:
        yield None  # the row path words it
        return
    name = getattr(source, "name", None)
    if isinstance(name, str) and os.path.isfile(name) and not _GLOB & set(name):
        yield name
        return
    fd, copy = tempfile.mkstemp(suffix=".json", prefix="anomaly-import-")
    try:
        with os.fdopen(fd, "wb") as out:
            source.seek(0)
            shutil.copyfileobj(source, out, 1 << 20)
        yield copy
    finally:
        os.unlink(copy)
