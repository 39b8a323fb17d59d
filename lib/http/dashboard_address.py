"""Where the running dashboard answers, written beside the database for the command line.

The dashboard may run on any port (``make run PORT=8611``, or Streamlit moving
to the next free one), so the command line cannot assume 8501. The dashboard
writes ``<db>.dashboard.json`` (its URL and process id) once it owns the
database and removes it when it stops cleanly. A file left by a crash names a
process that is gone: ``find_dashboard`` ignores it, and the next start
overwrites it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path


def publish_dashboard(path: Path, url: str, pid: int | None = None) -> None:
    """Write the address atomically (a reader never sees half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".tmp")
    partial.write_text(json.dumps({"url": url, "pid": pid or os.getpid()}))
    partial.replace(path)


def withdraw_dashboard(path: Path, pid: int | None = None) -> None:
    """Remove the file if this process wrote it (a newer dashboard's file stays)."""
    found = _read(path)
    if found is not None and found[1] == (pid or os.getpid()):
        path.unlink(missing_ok=True)


def find_dashboard(path: Path) -> str | None:
    """The running dashboard's URL, or None: no file, a malformed one, or its process is gone."""
    found = _read(path)
    if found is None or not _alive(found[1]):
        return None
    return found[0]


def _read(path: Path) -> tuple[str, int] | None:
    try:
        data = json.loads(path.read_text())
        url, pid = data["url"], data["pid"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not isinstance(url, str) or not isinstance(pid, int) or isinstance(pid, bool):
        return None
    return url.rstrip("/"), pid


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, under another user
    return True
