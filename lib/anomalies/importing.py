"""Import anomalies from CSV, JSON or Parquet: check every row, then write all or nothing.

A file is parsed and validated completely before anything touches the
database; a bad file comes back as a report naming each bad row and why.
The file is read in chunks (``lib.anomalies.import_reading``), twice: the
first pass checks every row and keeps only the problems (and each id's first
row, so duplicates are named); the second parses the rows again, chunk by
chunk, for the write. Peak memory stays near one chunk's rows whatever the
file's size (holding a million parsed rows took 4.4 GB), and parsing twice
costs less than holding them. Lookup tables (statuses, reasons) are built once
for the module, not once per row.
Validation knows what the store can hold (BIGINT ids, an INTEGER weight,
TIMESTAMP dates, UTF-8 text), so a value the database would refuse is named
here instead of ending in a traceback. The write itself is
``lib.anomalies.changes.AnomalyChanges.import_file``: the one way in for
anomaly changes, which also records and queues each status change.
"""

from __future__ import annotations

import io
import json
import math
import re
from array import array
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import BinaryIO

from lib.anomalies.import_reading import FileUnreadable, check_utf8, file_kind, record_chunks
from lib.store.db import Database
from lib.store.models import (
    ANOMALY_TYPES,
    Anomaly,
    ArchiveReason,
    Comment,
    FailedCheck,
    Status,
    StatusChange,
)

REQUIRED_COLUMNS = (
    "id",
    "datastore_id",
    "datastore_name",
    "container",
    "fields",
    "type",
    "status",
    "detected_at",
    "failed_checks",
)
OPTIONAL_COLUMNS = ("archive_reason", "description", "weight", "tags", "comments", "history")
MAX_ROWS = 1_000_000
KEEP_PARSED_ROWS = 20_000  # a file this short is parsed once (see check_file)
BIGINT_MAX = 2**63 - 1  # ids, datastore ids and check ids are BIGINT columns
INTEGER_MAX = 2**31 - 1  # the weight is an INTEGER column
_WHOLE = re.compile(r"[+-]?[0-9]{1,30}", re.ASCII)  # ASCII only: int() takes other digits too


class ImportRefused(ValueError):
    """The file cannot be imported; ``problems`` lists each reason."""

    def __init__(self, problems: Sequence[str]):
        shown = list(problems[:50])
        more = len(problems) - len(shown)
        text = "The file was not imported (nothing was changed):\n- " + "\n- ".join(shown)
        if more > 0:
            text += f"\n- ... and {more} more problems"
        super().__init__(text)
        self.problems = list(problems)


@dataclass(frozen=True)
class ParsedAnomaly:
    anomaly: Anomaly
    comments: tuple[Comment, ...] = ()
    history: tuple[StatusChange, ...] = ()


@dataclass(frozen=True)
class ImportResult:
    inserted: int
    updated: int
    status_changes: int = 0  # known anomalies whose status or archive reason the file changed
    queued: int = 0  # Jira comments queued for their linked tickets

    @property
    def total(self) -> int:
        return self.inserted + self.updated


@dataclass
class _RowErrors:
    row: int
    ident: object
    reasons: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        ident = _shown(self.ident)
        who = f"row {self.row}" + (f" (id {ident})" if ident not in ("None", "''") else "")
        return f"{who}: " + "; ".join(self.reasons)


def check_file(filename: str, source: BinaryIO) -> list[ParsedAnomaly] | None:
    """Check every row of the file (first pass); its parsed rows if it has few, else None.

    A file of up to KEEP_PARSED_ROWS rows (one chunk, ~30 MB parsed) is parsed
    once; a longer one is parsed again for the write (``parsed_chunks``) rather
    than held: holding 100,000 parsed rows left the dashboard ~100 MB bigger
    after the import than parsing them twice (427 vs 322 MB resident).

    Raises:
        ImportRefused: unreadable, empty, too long, missing columns, or bad rows (each named).
    """
    try:
        file_kind(filename)
        check_utf8(filename, source)
        check = _checked(filename, source, _FileCheck(keep=KEEP_PARSED_ROWS, name_ids=False))
        if check.has_duplicate_ids():  # rare, and a refusal: check again to name each
            check = _checked(filename, source, _FileCheck())
    except FileUnreadable as exc:
        raise ImportRefused([str(exc)]) from None
    check.finish()
    return check.kept


def _checked(filename: str, source: BinaryIO, check: _FileCheck) -> _FileCheck:
    for chunk in record_chunks(filename, source):
        check.add(chunk)
    return check


def parsed_chunks(filename: str, source: BinaryIO) -> Iterator[list[ParsedAnomaly]]:
    """The rows of a file ``check_file`` accepted, parsed, one chunk at a time (second pass)."""
    for chunk in record_chunks(filename, source):
        parsed = [_parse_one(r, []) for r in chunk]
        yield [p for p in parsed if p is not None]


def parse_records(records: Sequence[Mapping]) -> list[ParsedAnomaly]:
    """Validate every record; return them all or refuse the whole file.

    Raises:
        ImportRefused: missing columns, or one or more bad rows (each named).
    """
    check = _FileCheck()
    parsed = check.add(records)
    check.finish()
    return parsed


def as_source(data: bytes | BinaryIO) -> BinaryIO:
    """A file's bytes (an upload, an HTTP body) as a file object to read twice."""
    return io.BytesIO(data) if isinstance(data, (bytes, bytearray)) else data


class _FileCheck:
    """What the first pass keeps of a file: its row count, columns, ids and problems.

    ``name_ids=False`` keeps the ids in a packed array (8 bytes each) instead of
    each id's first row (a dict: ~100 MB for a million); a file with a
    duplicate is then checked again with names, so both give the same problems.
    """

    def __init__(self, *, keep: int = 0, name_ids: bool = True) -> None:
        self.keep = keep
        self.name_ids = name_ids
        self.ids = array("q")
        self.other_ids: list[int] = []
        self.kept: list[ParsedAnomaly] | None = [] if keep else None
        self.rows = 0
        self.present: set[str] = set()
        self.first_row_of: dict[int, int] = {}
        self.problems: list[str] = []

    def add(self, records: Sequence[Mapping]) -> list[ParsedAnomaly]:
        """Check the next records; return those that are good (parsed)."""
        start = self.rows
        self.rows += len(records)
        if self.rows > MAX_ROWS:
            return []  # refused for its length: only counted
        for r in records:
            self.present.update(r.keys())
        bad_text = not _all_text_encodes(records)
        parsed: list[ParsedAnomaly] = []
        for number, record in enumerate(records, start=start + 1):
            errors = _RowErrors(number, record.get("id"))
            if bad_text:
                _check_text(record, errors.reasons)
            item = _parse_one(record, errors.reasons)
            # Ids are compared even on rows with other problems, so every duplicate is named.
            ident = _int(record.get("id"), "id", [], minimum=1, maximum=BIGINT_MAX)
            if not self.name_ids:
                if 0 < ident <= BIGINT_MAX:
                    self.ids.append(ident)
                elif ident:  # out of range (a bad row), yet a repeat must still be named
                    self.other_ids.append(ident)
            elif ident and (seen := self.first_row_of.setdefault(ident, number)) != number:
                errors.reasons.append(f"id {ident} already appears in row {seen}")
            if errors.reasons:
                self.problems.append(str(errors))
            elif item is not None:
                parsed.append(item)
        if self.kept is not None and self.rows <= self.keep:
            self.kept.extend(parsed)
        else:
            self.kept = None  # too long to hold: parsed again for the write
        return parsed

    def has_duplicate_ids(self) -> bool:
        import numpy as np  # the row path's only use of it; the command line starts without it

        ids = np.sort(np.frombuffer(self.ids, dtype=np.int64))
        repeated = len(set(self.other_ids)) < len(self.other_ids)
        return repeated or bool((ids[1:] == ids[:-1]).any())

    def finish(self) -> int:
        """Raises: ImportRefused for the file as a whole, or for its bad rows."""
        if not self.rows:
            raise ImportRefused(["The file holds no anomalies."])
        if self.rows > MAX_ROWS:
            raise ImportRefused(
                [f"The file holds {self.rows:,} rows; at most {MAX_ROWS:,} at once."]
            )
        missing = [c for c in REQUIRED_COLUMNS if c not in self.present]
        if missing:
            raise ImportRefused(
                [
                    f"Missing required column(s): {', '.join(missing)}. "
                    f"Expected: {', '.join(REQUIRED_COLUMNS)}."
                ]
            )
        if self.problems:
            raise ImportRefused(self.problems)
        return self.rows


def import_file(db: Database, filename: str, data: bytes, now: datetime) -> ImportResult:
    """Import a file as a person would (``manual``), at ``now``: tests and one-off scripts.

    Raises:
        ImportRefused: the file or one of its rows is bad; the database is unchanged.
    """
    # Imported here, not at the top: the changes service imports this module's parsing.
    from lib.anomalies.changes import AnomalyChanges, Mode

    return AnomalyChanges(db, lambda: now).import_file(filename, data, mode=Mode.MANUAL)


# -- one record ---------------------------------------------------------------


def _parse_one(r: Mapping, reasons: list[str]) -> ParsedAnomaly | None:
    ident = _int(r.get("id"), "id", reasons, minimum=1, maximum=BIGINT_MAX)
    ds_id = _int(r.get("datastore_id"), "datastore_id", reasons, minimum=0, maximum=BIGINT_MAX)
    ds_name = _text(r.get("datastore_name"), "datastore_name", reasons)
    container = _text(r.get("container"), "container", reasons)
    fields = _string_list(r.get("fields"), "fields", reasons)
    kind = _text(r.get("type"), "type", reasons)
    if kind and kind not in ANOMALY_TYPES:
        reasons.append(f"type '{kind}' is not one of: shape, record")
    status, reason = _status(r, reasons)
    detected = _timestamp(r.get("detected_at"), "detected_at", reasons)
    checks = _checks(r.get("failed_checks"), reasons)
    weight = _int(
        r.get("weight") if not _blank(r.get("weight")) else 1,
        "weight",
        reasons,
        minimum=0,
        maximum=INTEGER_MAX,
    )
    tags = _string_list(r.get("tags"), "tags", reasons, required=False)
    description = (
        "" if _blank(r.get("description")) else _text(r.get("description"), "description", reasons)
    )
    comments = _comments(r.get("comments"), ident, reasons)
    history = _history(r.get("history"), ident, reasons)
    if reasons:
        return None
    anomaly = Anomaly(
        ident,
        ds_id,
        ds_name,
        container,
        tuple(fields),
        kind,
        status,
        reason,
        detected,
        description,
        weight,
        tuple(tags),
        tuple(checks),
    )
    return ParsedAnomaly(anomaly, tuple(comments), tuple(history))


def _blank(value: object) -> bool:
    # NaN is not blank: a number that is not a number is refused, never read as "missing".
    return value is None or (isinstance(value, str) and not value.strip())


def _shown(value: object) -> str:
    """A value as a message quotes it: short, whatever the file held."""
    text = repr(value)
    return text if len(text) <= 40 else f"{text[:30]}... ({len(text)} characters)"


def _all_text_encodes(records: Sequence[Mapping]) -> bool:
    """One fast pass over the whole file: can every text in it be stored as UTF-8?"""
    try:
        json.dumps(records, ensure_ascii=False, default=str).encode("utf-8")
    except (UnicodeEncodeError, TypeError, ValueError, RecursionError):
        return False  # a bad text, or a shape json cannot write: the walk names it
    return True


def _check_text(value: object, reasons: list[str], where: str = "") -> None:
    """Name every text that is not valid UTF-8 (a lone surrogate from a JSON escape)."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            reasons.append(
                f"{where or 'a value'} holds text that is not valid UTF-8 "
                f"({value[exc.start]!r} at position {exc.start})"
            )
    elif isinstance(value, Mapping):
        for key, item in value.items():
            _check_text(item, reasons, f"{where} {key}".strip())
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value, start=1):
            _check_text(item, reasons, f"{where} {i}".strip())


def _text(value: object, name: str, reasons: list[str]) -> str:
    if type(value) is str and (stripped := value.strip()):
        return stripped  # the common case first: most of an import's time is these checks
    if _blank(value):
        reasons.append(f"{name} is empty")
        return ""
    if not isinstance(value, (str, int)) or isinstance(value, bool):
        reasons.append(f"{name} must be text, got {type(value).__name__}")
        return ""
    return str(value).strip()


def _int(value: object, name: str, reasons: list[str], *, minimum: int, maximum: int) -> int:
    """A whole number within what its column holds; 0 (and a reason) otherwise."""
    if type(value) is int and minimum <= value <= maximum:
        return value  # the common case first
    if _blank(value):
        reasons.append(f"{name} is empty")
        return 0
    if isinstance(value, float) and not math.isfinite(value):
        reasons.append(f"{name} must be a whole number, got {value!r} (not a number)")
        return 0
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, str) and _WHOLE.fullmatch(value.strip()):
        value = int(value.strip())
    if not isinstance(value, int) or isinstance(value, bool):
        reasons.append(f"{name} must be a whole number, got {_shown(value)}")
        return 0
    if value < minimum:
        reasons.append(f"{name} must be at least {minimum}, got {_shown(value)}")
    elif value > maximum:
        reasons.append(
            f"{name} must be at most {maximum:,} (what the database holds), got {_shown(value)}"
        )
    return value


def _maybe_json(value: object) -> object:
    if isinstance(value, str) and value.strip()[:1] in ("[", "{"):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


def _string_list(
    value: object, name: str, reasons: list[str], *, required: bool = True
) -> list[str]:
    if type(value) is list and all(type(v) is str for v in value):
        return [v.strip() for v in value if v.strip()]  # the common case first
    value = _maybe_json(value)
    if _blank(value):
        if required:
            reasons.append(f"{name} is empty")
        return []
    if isinstance(value, str):
        return [p.strip() for p in value.split(",") if p.strip()]
    if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
        return [v.strip() for v in value if v.strip()]
    reasons.append(f"{name} must be a list of text or comma-separated text")
    return []


_STATUSES = {s.value.lower(): s.value for s in Status}
_REASONS = {a.value.lower(): a.value for a in ArchiveReason}


def _status(r: Mapping, reasons: list[str]) -> tuple[str, str | None]:
    raw = "" if _blank(r.get("status")) else str(r.get("status")).strip()
    raw_reason = "" if _blank(r.get("archive_reason")) else str(r.get("archive_reason")).strip()
    # "Archived (Resolved)" is how the page shows it: accept it back.
    if raw.startswith("Archived (") and raw.endswith(")") and not raw_reason:
        raw, raw_reason = "Archived", raw[len("Archived (") : -1]
    statuses, reasons_ok = _STATUSES, _REASONS
    if raw.lower() not in statuses:
        reasons.append(f"status '{raw}' is not one of: Active, Acknowledged, Archived")
        return "", None
    status = statuses[raw.lower()]
    if status == Status.ARCHIVED.value:
        if raw_reason.lower() not in reasons_ok:
            reasons.append(
                "an Archived anomaly needs archive_reason: Resolved, Invalid, "
                f"Duplicate or Discarded (got '{raw_reason}')"
            )
            return status, None
        return status, reasons_ok[raw_reason.lower()]
    if raw_reason:
        reasons.append(f"archive_reason '{raw_reason}' is only allowed with status Archived")
    return status, None


def _timestamp(value: object, name: str, reasons: list[str]) -> datetime:
    if isinstance(value, datetime):
        parsed = value
    elif _blank(value) or not isinstance(value, str):
        reasons.append(f"{name} is empty" if _blank(value) else f"{name} must be an ISO date-time")
        return datetime(1970, 1, 1)
    else:
        try:
            parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            reasons.append(
                f"{name} '{value}' is not an ISO 8601 date-time (for example 2026-01-23T20:22:04Z)"
            )
            return datetime(1970, 1, 1)
    if parsed.tzinfo is not None:
        try:
            parsed = parsed.astimezone(UTC).replace(tzinfo=None)
        except OverflowError:
            # e.g. 0001-01-01T00:00:00+05:00: in UTC it falls before year 1.
            reasons.append(
                f"{name} '{value}' is outside the dates that can be stored "
                "(years 1 to 9999, in UTC)"
            )
            return datetime(1970, 1, 1)
    return parsed


def _checks(value: object, reasons: list[str]) -> list[FailedCheck]:
    value = _maybe_json(value)
    if not isinstance(value, list) or not value:
        reasons.append(
            "failed_checks must be a non-empty list of "
            "{check_id, rule_type, message} (JSON text in CSV)"
        )
        return []
    checks = []
    for i, item in enumerate(value, start=1):
        if not isinstance(item, Mapping):
            reasons.append(f"failed check {i} is not an object")
            continue
        sub: list[str] = []
        check_id = _int(
            item.get("check_id"),
            f"failed check {i} check_id",
            sub,
            minimum=0,
            maximum=BIGINT_MAX,
        )
        rule = _text(item.get("rule_type"), f"failed check {i} rule_type", sub)
        message = _text(item.get("message"), f"failed check {i} message", sub)
        reasons.extend(sub)
        if not sub:
            checks.append(FailedCheck(check_id, rule, message))
    return checks


def _comments(value: object, anomaly_id: int, reasons: list[str]) -> list[Comment]:
    value = _maybe_json(value)
    if _blank(value):
        return []
    if not isinstance(value, list):
        reasons.append("comments must be a list of {author, text, created_at}")
        return []
    out = []
    for i, item in enumerate(value, start=1):
        sub: list[str] = []
        if not isinstance(item, Mapping):
            reasons.append(f"comment {i} is not an object {{author, text, created_at}}")
            continue
        author = _text(item.get("author"), f"comment {i} author", sub)
        text = _text(item.get("text"), f"comment {i} text", sub)
        created = _timestamp(item.get("created_at"), f"comment {i} created_at", sub)
        reasons.extend(sub)
        if not sub:
            out.append(Comment(0, anomaly_id, author, text, created))
    return out


def _history(value: object, anomaly_id: int, reasons: list[str]) -> list[StatusChange]:
    value = _maybe_json(value)
    if _blank(value):
        return []
    if not isinstance(value, list):
        reasons.append("history must be a list of {changed_by, changed_at, from, to}")
        return []
    out = []
    for i, item in enumerate(value, start=1):
        sub: list[str] = []
        if not isinstance(item, Mapping):
            reasons.append(f"history {i} is not an object {{changed_by, changed_at, from, to}}")
            continue
        who = _text(item.get("changed_by"), f"history {i} changed_by", sub)
        when = _timestamp(item.get("changed_at"), f"history {i} changed_at", sub)
        to_status, to_reason = _status(
            {"status": item.get("to"), "archive_reason": item.get("to_reason")}, sub
        )
        from_status, from_reason = (None, None)
        if not _blank(item.get("from")):
            from_status, from_reason = _status(
                {"status": item.get("from"), "archive_reason": item.get("from_reason")}, sub
            )
        reasons.extend(f"history {i}: {s}" if not s.startswith("history") else s for s in sub)
        if not sub:
            out.append(
                StatusChange(
                    0, anomaly_id, who, when, from_status, from_reason, to_status, to_reason
                )
            )
    return out
