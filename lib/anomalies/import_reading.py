"""Read an import file as a stream of raw records, in chunks, whatever its size.

Decisions, and why:

- A file is read from a binary file object (a path opened by the command line,
  or the bytes an upload or the HTTP route received), chunk by chunk, and can
  be read again from the start: the import checks the whole file in a first
  pass that keeps only the problems, then reads it again to write it. Holding
  every row of a million-row file as Python objects took 4.4 GB.
- UTF-8 is checked in one pass over the bytes first (fast, in C), so a bad
  byte is named with its position in the file, as before, and the readers
  after it never meet one.
- JSON is read element by element with the standard decoder's ``raw_decode``
  over a sliding window of text: a list of objects (or ``{"anomalies": [...]}``)
  never needs to be in memory at once. Its errors are reported with their line,
  column and character in the whole file.
- CSV with ``csv.DictReader`` over a text stream; Parquet with
  ``ParquetFile.iter_batches``.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
from collections.abc import Iterator, Mapping
from itertools import islice
from pathlib import PurePath
from typing import BinaryIO

FORMATS = ("csv", "json", "parquet")
CHUNK_ROWS = 20_000  # rows checked, parsed and written at a time
_READ_BYTES = 1 << 20
_SHAPE = 'A JSON file must hold a list of anomaly objects (or {"anomalies": [...]}).'
_WHITESPACE = " \t\n\r"


class FileUnreadable(ValueError):
    """The file cannot be read at all (its one problem is the message)."""


def file_kind(filename: str) -> str:
    """Raises: FileUnreadable for an extension that is not csv, json or parquet."""
    kind = PurePath(filename).suffix.lower().lstrip(".")
    if kind not in FORMATS:
        raise FileUnreadable(f"'{filename}' is not a CSV, JSON or Parquet file (by its extension).")
    return kind


def check_utf8(filename: str, source: BinaryIO) -> None:
    """Raises: FileUnreadable naming the first byte that is not UTF-8, and where it is.

    Parquet is binary (its texts are checked by pyarrow): nothing to check.
    """
    if file_kind(filename) == "parquet":
        return
    source.seek(0)
    pending, offset = b"", 0  # offset: the position of pending[0] in the file
    while True:
        chunk = source.read(_READ_BYTES)
        data = pending + chunk
        try:
            _, used = codecs.utf_8_decode(data, "strict", not chunk)
        except UnicodeDecodeError as exc:
            raise FileUnreadable(
                f"'{filename}' is not UTF-8 text (byte 0x{data[exc.start]:02x} at "
                f"position {offset + exc.start}): save it as UTF-8 and import it again."
            ) from None
        pending, offset = data[used:], offset + used
        if not chunk:
            return


def record_chunks(filename: str, source: BinaryIO) -> Iterator[list[dict]]:
    """The file's raw records (no validation yet), CHUNK_ROWS at a time, from its start.

    Raises:
        FileUnreadable: a file that cannot be read as its format (UTF-8 is checked first).
    """
    kind = file_kind(filename)
    source.seek(0)
    try:
        if kind == "parquet":
            import pyarrow.parquet as pq  # only for a Parquet file

            for batch in pq.ParquetFile(source).iter_batches(batch_size=CHUNK_ROWS):
                yield batch.to_pylist()
            return
        text = io.TextIOWrapper(source, encoding="utf-8-sig", newline="")
        try:
            rows = csv.DictReader(text) if kind == "csv" else json_records(filename, text)
            while chunk := [dict(r) for r in islice(rows, CHUNK_ROWS)]:
                yield chunk
        finally:
            text.detach()  # the caller's file stays open, to be read again
    except FileUnreadable:
        raise
    except NaNInFile as exc:
        # Python's json reads NaN and Infinity, which JSON itself does not allow.
        raise FileUnreadable(
            f"'{filename}' holds {exc}, which is not a number: give a whole number."
        ) from None
    except RecursionError:
        raise FileUnreadable(
            f"'{filename}' is nested too deeply to be read as {kind.upper()}."
        ) from None
    except Exception as exc:  # json, csv and pyarrow raise several unrelated types
        raise FileUnreadable(f"'{filename}' cannot be read as {kind.upper()}: {exc}") from None


class NaNInFile(ValueError):
    """JSON text holds NaN or Infinity (Python reads them; JSON does not allow them)."""


def _no_constant(name: str) -> None:
    raise NaNInFile(name)


class _Window:
    """A sliding window of a text stream: what the decoder reads, and where it is in the file."""

    def __init__(self, text: io.TextIOBase):
        self._text = text
        self.buf, self.pos, self.eof = "", 0, False
        self._dropped_chars, self._dropped_lines, self._last_line_start = 0, 0, 0

    def more(self) -> bool:
        """Read more text (dropping what was decoded); False at the end of the file."""
        if self.eof:
            return False
        done = self.buf[: self.pos]
        newlines = done.count("\n")
        if newlines:
            self._last_line_start = self._dropped_chars + done.rindex("\n") + 1
        self._dropped_chars += self.pos
        self._dropped_lines += newlines
        chunk = self._text.read(_READ_BYTES)
        self.buf, self.pos, self.eof = self.buf[self.pos :] + chunk, 0, not chunk
        return bool(chunk)

    def peek(self) -> str:
        """The next character that is not white space ('' at the end of the file)."""
        while True:
            while self.pos < len(self.buf) and self.buf[self.pos] in _WHITESPACE:
                self.pos += 1
            if self.pos < len(self.buf) or not self.more():
                return self.buf[self.pos : self.pos + 1]

    def expect(self, char: str) -> None:
        if self.peek() != char:
            self.fail(f"Expecting '{char}' delimiter")
        self.pos += 1

    def value(self, decoder: json.JSONDecoder) -> object:
        """Decode the next JSON value (reading on until it is whole)."""
        self.peek()
        while True:
            try:
                value, end = decoder.raw_decode(self.buf, self.pos)
            except json.JSONDecodeError as exc:
                if self.more():
                    continue
                self.fail(exc.msg, exc.pos)
            # A number that ends where the window ends may go on in the next read.
            if end < len(self.buf) or self.eof or not self.more():
                self.pos = end
                return value

    def fail(self, msg: str, at: int | None = None) -> None:
        """Raise the decoder's error with its place in the whole file."""
        at = self.pos if at is None else at
        before = self.buf[:at]
        line = self._dropped_lines + before.count("\n") + 1
        if "\n" in before:
            column = at - before.rindex("\n")
        else:
            column = self._dropped_chars + at - self._last_line_start + 1
        char = self._dropped_chars + at
        raise ValueError(f"{msg}: line {line} column {column} (char {char})")


def json_records(filename: str, text: io.TextIOBase) -> Iterator[Mapping]:
    """The anomaly objects of a JSON list, or of ``{"anomalies": [...]}``, one at a time.

    Raises:
        FileUnreadable: the JSON is not such a list.
        NaNInFile: a NaN or Infinity constant.
        ValueError: the text is not JSON (with its place in the file).
    """
    decoder = json.JSONDecoder(parse_constant=_no_constant)
    window = _Window(text)
    first = window.peek()
    if first == "[":
        yield from _list_items(window, decoder)
    elif first == "{":
        found = yield from _wrapped_list(window, decoder)
        if not found:
            raise FileUnreadable(_SHAPE)
    else:
        window.value(decoder)
        raise FileUnreadable(_SHAPE)
    if window.peek():
        window.fail("Extra data")


def _list_items(window: _Window, decoder: json.JSONDecoder) -> Iterator[Mapping]:
    window.expect("[")
    if window.peek() == "]":
        window.pos += 1
        return
    while True:
        item = window.value(decoder)
        if not isinstance(item, Mapping):
            raise FileUnreadable(_SHAPE)
        yield item
        if window.peek() == "]":
            window.pos += 1
            return
        window.expect(",")


def _wrapped_list(window: _Window, decoder: json.JSONDecoder) -> Iterator[Mapping]:
    """The items of the object's "anomalies" list; returns whether it had one."""
    window.expect("{")
    found = False
    if window.peek() == "}":
        window.pos += 1
        return found
    while True:
        if window.peek() != '"':
            window.fail("Expecting property name enclosed in double quotes")
        key = window.value(decoder)
        window.expect(":")
        if key == "anomalies" and window.peek() == "[" and not found:
            yield from _list_items(window, decoder)
            found = True
        else:
            window.value(decoder)
        if window.peek() == "}":
            window.pos += 1
            return found
        window.expect(",")
