"""What Anomaly Desk writes into Jira: the anomaly description and the sync texts.

Pure functions of an ``Anomaly`` and a time, so the exact formats are pinned
by unit tests. The rich text is a flavour-neutral ``Doc``; the client renders
it as ADF (Cloud) or wiki markup (Data Center). Docs are stored in the outbox
as JSON (``doc_to_json``) because the flavour is only known when sending.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from lib.jira.richtext import (
    BulletList,
    CodeBlock,
    Doc,
    HardBreak,
    Heading,
    Link,
    Paragraph,
    Text,
    clean_text,
    doc_from_text,
    fit_summary,
)
from lib.store.models import Anomaly, status_label

TIME_FORMAT = "%Y-%m-%d %H:%M:%S UTC"
SUMMARY_LIMIT = 255
DESCRIPTION_LIMIT = 32_767


def fmt_time(moment: datetime) -> str:
    """``2024-01-15 10:30:00 UTC`` for a naive-UTC time (seconds, no fraction)."""
    return moment.strftime(TIME_FORMAT)


def anomaly_url(public_url: str, anomaly_id: int) -> str:
    """The dashboard page of one anomaly: where a Jira user lands in one click."""
    return f"{public_url.rstrip('/')}/?anomaly={int(anomaly_id)}"


def anomaly_label(anomaly_id: int) -> str:
    """The label every issue made for an anomaly carries (found again by JQL)."""
    return f"anomaly-desk-{int(anomaly_id)}"


def status_text(moment: datetime, status: str, reason: str | None) -> str:
    """``[2024-01-15 10:30:00 UTC] Anomaly Status: Archived (Resolved)``."""
    return f"[{fmt_time(moment)}] Anomaly Status: {status_label(status, reason)}"


def comment_text(author: str, text: str) -> str:
    """``Comment from Anomaly Desk (<author>): <text>``."""
    return f"Comment from Anomaly Desk ({author}): {text}"


def default_summary(anomaly: Anomaly) -> str:
    """``[Anomaly 42] <rule type> on <container>: <first check message>``, <= 255 chars."""
    first = anomaly.failed_checks[0] if anomaly.failed_checks else None
    rule = first.rule_type if first else anomaly.anomaly_type
    text = f"[Anomaly {anomaly.id}] {rule} on {anomaly.container}"
    if first:
        text += f": {first.message}"
    return fit_summary(text)


def _field(label: str, value: str) -> tuple:
    return (Text(f"{label}: ", strong=True), Text(value))


def anomaly_doc(anomaly: Anomaly, public_url: str, now: datetime) -> Doc:
    """The description of a new issue and the comment added when linking one."""
    details: list = []
    rows = [
        ("Anomaly ID", str(anomaly.id)),
        ("Status", anomaly.status_label),
        ("Type", anomaly.anomaly_type),
        ("Detected", fmt_time(anomaly.detected_at)),
        ("Datastore", anomaly.datastore_name),
        ("Table/file", anomaly.container),
        ("Fields", ", ".join(anomaly.fields) or "-"),
    ]
    for i, (label, value) in enumerate(rows):
        if i:
            details.append(HardBreak())
        details.extend(_field(label, value))
    checks = tuple(
        (Text(c.rule_type, strong=True), Text(f": {c.message}")) for c in anomaly.failed_checks
    )
    url = anomaly_url(public_url, anomaly.id)
    blocks: list = [
        Heading(3, (Text(f"Anomaly Linked [{fmt_time(now)}]"),)),
        Paragraph(tuple(details)),
        Heading(4, (Text("Failed Checks"),)),
        BulletList(checks) if checks else Paragraph((Text("No failed checks recorded.", em=True),)),
        Paragraph((Text("View in Anomaly Desk: "), Link(url, url))),
    ]
    return Doc(tuple(blocks))


def doc_text(doc: Doc) -> str:
    """Plain text of a doc: what a form shows for editing, and what the log keeps."""
    out: list[str] = []
    for block in doc.blocks:
        if isinstance(block, BulletList):
            out.append("\n".join("- " + _inline_text(item) for item in block.items))
        elif isinstance(block, CodeBlock):
            out.append(block.text)
        elif isinstance(block, (Paragraph, Heading)):
            out.append(_inline_text(block.inlines))
    return "\n\n".join(part for part in out if part.strip())


def _inline_text(inlines: tuple) -> str:
    parts = []
    for inline in inlines:
        if isinstance(inline, HardBreak):
            parts.append("\n")
        elif isinstance(inline, Link):
            parts.append(inline.text or inline.href)
        else:
            parts.append(inline.text)
    return "".join(parts)


def as_doc(value: Doc | str) -> Doc:
    """A doc as is; text (a form's edited description) with its web addresses as links.

    The New ticket dialog sends its text when it differs from the prefilled
    doc (edited, or prefilled at another second): the link back to the
    anomaly must stay a link either way.
    """
    return value if isinstance(value, Doc) else doc_from_text(value, links=True)


def check_description(value: Doc | str) -> str | None:
    """A message when the description cannot be sent, else None."""
    text = doc_text(as_doc(value))
    if len(clean_text(text)) > DESCRIPTION_LIMIT:
        return f"The description is {len(text)} characters long; Jira allows {DESCRIPTION_LIMIT}."
    return None


GROUP_LISTED = 300  # anomalies listed one per line at most; the rest are counted
GROUP_TEXT_BUDGET = 30_000  # characters of listed lines, under Jira's 32,767 with the rest


def group_summary(anomalies: Sequence[Anomaly]) -> str:
    """``[5 anomalies] notNull, volumetric on CUSTOMERS, ORDERS``, <= 255 chars."""
    rules = dict.fromkeys(
        (a.failed_checks[0].rule_type if a.failed_checks else a.anomaly_type) for a in anomalies
    )
    tables = dict.fromkeys(a.container for a in anomalies)
    count = len(anomalies)
    text = (
        f"[{count} anomal{'y' if count == 1 else 'ies'}] {', '.join(rules)} on {', '.join(tables)}"
    )
    return fit_summary(text)


def group_doc(anomalies: Sequence[Anomaly], public_url: str, now: datetime) -> Doc:
    """A group ticket's description: every anomaly on a line, with its link back."""
    lines, used = [], 0
    for a in anomalies[:GROUP_LISTED]:
        line = _group_line(a, public_url)
        used += sum(len(getattr(part, "text", "") or "") for part in line) + 1
        if used > GROUP_TEXT_BUDGET:
            break
        lines.append(line)
    blocks: list = [
        Heading(3, (Text(f"Anomalies Linked [{fmt_time(now)}]"),)),
        Paragraph((Text(f"{len(anomalies)} anomalies share this ticket; each is linked to it."),)),
        BulletList(tuple(lines)),
    ]
    if len(anomalies) > len(lines):
        more = len(anomalies) - len(lines)
        blocks.append(Paragraph((Text(f"...and {more} more, linked in Anomaly Desk.", em=True),)))
    return Doc(tuple(blocks))


def _group_line(a: Anomaly, public_url: str) -> tuple:
    first = a.failed_checks[0] if a.failed_checks else None
    return (
        Link(f"Anomaly {a.id}", anomaly_url(public_url, a.id)),
        Text(f" · {a.datastore_name} · {a.container} · "),
        Text(first.rule_type if first else a.anomaly_type, strong=True),
        Text(f": {_short(first.message)}" if first else ""),
    )


def _short(text: str, limit: int = 60) -> str:
    text = " ".join(clean_text(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
