"""The Anomalies list's table: one page of rows with their status, tickets and Jira state.

Built column by column from the rows, then one DataFrame: adding and dropping
columns on a DataFrame one at a time (pandas 3's string column index) took
2.6 ms of every rerun for 50 rows, the columns at once 0.9 ms; the frame is
the same (``tests/app/test_anomaly_table.py``).
"""

from __future__ import annotations

import pandas as pd

from lib.anomalies.overview import ListPage


def jira_state(tickets) -> str:
    if tickets is None:
        return ""
    parts = [f"{tickets.failed} failed"] if tickets.failed else []
    parts += [f"{tickets.queued} queued"] if tickets.queued else []
    return " · ".join(parts)


def table_frame(listed: ListPage) -> pd.DataFrame:
    """The page's rows as the table shows them: the archive reason inside the status."""
    rows = listed.page.rows
    columns = {name: [r[name] for r in rows] for name in rows[0] if name != "archive_reason"}
    columns["status"] = [
        f"{r['status']} ({r['archive_reason']})"
        if isinstance(r["archive_reason"], str)
        else r["status"]
        for r in rows
    ]
    found = [listed.tickets.get(int(r["id"])) for r in rows]
    columns["tickets"] = [", ".join(t.ticket_keys) if t else "" for t in found]
    columns["jira"] = [jira_state(t) for t in found]
    return pd.DataFrame(columns)
