"""A dashboard stopped by SIGTERM (or Ctrl+C) exits with status 0 once it has shut down cleanly.

uvicorn, which serves ``st.App``, handles the signal gracefully (the lifespan
hook stops the worker and closes the database) and then raises the same signal
again with the default handler, so the process ends "killed by SIGTERM" (-15)
although nothing went wrong. Supervisors and tests read that as a failure. The
handler uvicorn installs is a bound method of its server; once our shutdown is
complete we clear the signals it recorded, and the server returns normally.
"""

from __future__ import annotations

import signal
from collections.abc import Callable


def exit_cleanly_after_signal() -> Callable[[], None]:
    """Call at start (uvicorn's handler is installed); call the result at the end of shutdown.

    Does nothing where the handler is not uvicorn's (tests, another server).
    """
    server = getattr(signal.getsignal(signal.SIGTERM), "__self__", None)
    captured = getattr(server, "_captured_signals", None)

    def forget_signals() -> None:
        if isinstance(captured, list):
            captured.clear()

    return forget_signals
