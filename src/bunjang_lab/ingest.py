"""``ingest``: validate JSON Lines events into the Parquet lake, losing nothing.

Every non-blank line is either accepted, a duplicate (its ``event_id`` is already in
the lake or earlier in this run: the first record wins) or quarantined with a reason
code, so ``read == accepted + duplicates + quarantined`` always holds.

Two paths give identical results:

* the **fast path** parses the lines that look like one JSON object each with Arrow's
  multi-threaded JSON reader against the contract's schema and validates them column by
  column; when Arrow cannot read a block of lines it tries halves, down to a few lines;
* the **exact path** (:func:`bunjang_lab.events.validate`, one record at a time) decides
  every line the fast path doubts: unreadable, a field outside the contract, a rule
  broken, a blank line, a BOM, stray whitespace, an over-long line.

The fast path only ever accepts; whatever it doubts is decided by the exact path.

>>> import json, tempfile, pathlib
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> good = {"event_id": "e1", "type": "search", "ts": "2024-05-01T09:00:00+09:00", "user_id": "u1", "query": "나이키"}
>>> _ = (folder / "day.jsonl").write_text(json.dumps(good) + "\\n" + json.dumps(good) + "\\n{oops\\n")
>>> stats = ingest_files([folder / "day.jsonl"], folder / "lake")
>>> stats["read"], stats["accepted"], stats["duplicates"], stats["quarantined"], stats["by_reason"]
(3, 1, 1, 1, {'invalid_json': 1})
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import mmap
import os
import re
import sys
import time
import uuid
import zlib
from collections import deque
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, BinaryIO, Iterator, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pj

from bunjang_lab import lake as lakelib
from bunjang_lab.dedup import new_ids, string_buffers
from bunjang_lab.events import (ABSOLUTE_REF_PATTERN, BLANK, CATEGORY_PATTERN, DEFAULT_MIN_TS, FIELDS, MAX_EVENT_ID_CHARS,
                                MAX_FUTURE_MS, MAX_LINE_BYTES, TS_PATTERN, TYPE_FIELDS, TYPES, Rejected, to_epoch_ms,
                                validate)

BOM = b"\xef\xbb\xbf"
READ_BLOCK = 8 << 20  # bytes read from a file at a time (one region of lines)
BISECT_FLOOR = 32  # lines Arrow cannot read are halved down to this many, then read one by one
RAW_KEEP = 1024  # bytes of a rejected line kept in the quarantine
LATE_MS = 3600 * 1000  # "late": older than the newest ts already in the lake for its type by more than this
SUFFIXES = (".jsonl", ".jsonl.gz", ".json", ".json.gz", ".ndjson", ".ndjson.gz")

# The rows of one run: the lake's columns plus the event type, the input file and the line
# within its region (which orders a region's rows: the first record of an event_id wins).
ROWS = pa.schema([pa.field("type", pa.string()), *lakelib.SCHEMA, pa.field("_file", pa.int32()), pa.field("_line", pa.int64())])
_JSON_KINDS = {"id": pa.string(), "string": pa.string(), "category": pa.string(), "choice": pa.string(),
               "integer": pa.int64(), "boolean": pa.bool_(), "string_list": pa.list_(pa.string())}


def _json_schema(ts_type: pa.DataType) -> pa.Schema:
    fields = [("event_id", pa.string()), ("type", pa.string()), ("ts", ts_type), ("user_id", pa.string())]
    return pa.schema(fields + [(name, _JSON_KINDS[FIELDS[name].kind]) for name in TYPE_FIELDS])


_JSON_NAMES = _json_schema(pa.string()).names
_TS_IS_STRING = re.compile(rb'"ts"\s*:\s*"')
_PARSE = {kind: pj.ParseOptions(explicit_schema=_json_schema(t), unexpected_field_behavior="infer", newlines_in_values=False)
          for kind, t in (("string", pa.string()), ("integer", pa.int64()))}


@dataclass
class _Context:
    """What validation depends on for one file."""

    file_index: int
    source: str
    base_dir: str
    min_ts_ms: int
    now_ms: int
    quarantine: list[dict[str, Any]] = field(default_factory=list)
    read: int = 0
    tables: list[pa.Table] = field(default_factory=list)
    lines: int = 0  # lines so far, blank ones included

    def part(self) -> _Context:
        """An empty context with the same settings, for one region processed on its own
        (its line numbers count from the region's first line)."""
        return replace(self, quarantine=[], read=0, tables=[], lines=0)

    def absorb(self, part: _Context) -> None:
        """Add the results of the region that follows the lines seen so far."""
        for record in part.quarantine:
            record["line"] += self.lines
        self.lines += part.lines
        self.read += part.read
        self.quarantine += part.quarantine
        self.tables += part.tables

    @property
    def max_birth_year(self) -> int:
        return dt.datetime.fromtimestamp(self.now_ms / 1000, dt.timezone.utc).year


# ---------------------------------------------------------------- reading regions of lines

def _open(path: Path) -> BinaryIO:
    return gzip.open(path, "rb") if path.name.endswith(".gz") else open(path, "rb")


def _regions(stream: BinaryIO) -> Iterator[tuple[str, memoryview | bytes]]:
    """("lines", complete lines) or ("long", the head of one too-long line), in input order.

    A line longer than the limit that spans reads is skipped while reading (only its
    head is kept), so memory stays bounded whatever the input. Lines are numbered when
    the regions' results are merged, so reading never scans the bytes.
    """
    carry, skipping, first = b"", None, True
    while True:
        # Each read lands after the carried partial line in a fresh buffer, so a region is a
        # view of it rather than a copy.
        buffer = bytearray(len(carry) + READ_BLOCK)
        buffer[:len(carry)] = carry
        end = len(carry) + (stream.readinto(memoryview(buffer)[len(carry):]) or 0)
        at_end = end == len(carry)
        start = 0
        if first:
            start, first = (len(BOM) if buffer.startswith(BOM) else 0), False
        if skipping is not None:
            newline = buffer.find(b"\n", start, end)
            if not at_end and newline < 0:
                continue
            yield "long", skipping
            skipping = None
            if at_end:
                return
            start = newline + 1
        if at_end:
            if end > start:
                yield "lines", bytes(buffer[start:end]) + b"\n"
            return
        cut = buffer.rfind(b"\n", start, end) + 1 or start
        if cut > start:
            yield "lines", memoryview(buffer)[start:cut]
        carry = bytes(buffer[cut:end])
        if len(carry) > MAX_LINE_BYTES + 1:
            skipping, carry = carry[:RAW_KEEP], b""


class _Lines:
    """Line boundaries of a region, and which lines look like one plain JSON object each."""

    def __init__(self, data: memoryview | bytes):
        raw = np.frombuffer(data, dtype=np.uint8)
        self.data = data
        self.ends = np.flatnonzero(raw == 0x0A)  # the region ends with a newline
        self.starts = np.concatenate([[0], self.ends[:-1] + 1])
        length = self.ends - self.starts
        last = raw[self.ends - 1]
        closes = (last == 0x7D) | ((last == 0x0D) & (raw[np.maximum(self.ends - 2, 0)] == 0x7D))
        # Blank lines, BOMs, stray whitespace and over-long lines all fail this and take the exact path.
        self.regular = (length >= 2) & (length <= MAX_LINE_BYTES) & (raw[self.starts] == 0x7B) & closes

    def join(self, index: np.ndarray) -> memoryview | bytes:
        """The bytes of the chosen lines (ascending indexes), newline-terminated; no copy for one run."""
        breaks = np.flatnonzero(np.diff(index) != 1)
        firsts, lasts = np.concatenate([[0], breaks + 1]), np.concatenate([breaks, [len(index) - 1]])
        view = memoryview(self.data)
        runs = [view[self.starts[index[a]]:self.ends[index[b]] + 1] for a, b in zip(firsts, lasts)]
        return runs[0] if len(runs) == 1 else b"".join(runs)

    def line(self, i: int) -> bytes:
        return bytes(self.data[self.starts[i]:self.ends[i]])


# ---------------------------------------------------------------- exact path

def _reject_constant(name: str):
    raise ValueError(f"{name} is not JSON")


def _quarantine(ctx: _Context, line_no: int, line: bytes, reason: str, fld: str | None, detail: str) -> None:
    ctx.quarantine.append({"source": ctx.source, "line": line_no, "reason": reason, "field": fld, "detail": detail,
                           "bytes": len(line), "raw": line[:RAW_KEEP].decode("utf-8", "backslashreplace")})


def _exact_line(ctx: _Context, line_no: int, line: bytes) -> dict[str, Any] | None:
    """The row of one line, or None when it is blank or quarantined."""
    if line.startswith(BOM):
        line = line[len(BOM):]
    if not line.strip(BLANK.encode()):
        return None
    ctx.read += 1
    body = line[:-1] if line.endswith(b"\r") else line
    if len(body) > MAX_LINE_BYTES:
        return _quarantine(ctx, line_no, line, "line_too_long", None, f"{len(body)} bytes")
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError as exc:
        return _quarantine(ctx, line_no, line, "invalid_utf8", None, f"byte {exc.start}")
    try:
        record = json.loads(text, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as exc:
        return _quarantine(ctx, line_no, line, "invalid_json", None, str(exc)[:120])
    try:
        row = validate(record, min_ts_ms=ctx.min_ts_ms, now_ms=ctx.now_ms, base_dir=ctx.base_dir)
    except Rejected as exc:
        return _quarantine(ctx, line_no, line, exc.reason, exc.field, exc.detail)
    row["_file"], row["_line"] = ctx.file_index, line_no
    return row


def _exact(ctx: _Context, lines: _Lines, index: Sequence[int]) -> pa.Table:
    """Validate the chosen lines one by one; rejected lines go to the quarantine."""
    rows = [_exact_line(ctx, i + 1, lines.line(i)) for i in index]
    return pa.Table.from_pylist([r for r in rows if r is not None], schema=ROWS)


# ---------------------------------------------------------------- fast path

_TYPE_NAMES = pa.array(list(TYPES))
# Per type code (the last slot is for an unknown type), one bit per field of TYPE_FIELDS:
# may / must it be present? Rows compare their own presence bits with these in one pass.
_ALLOWED_BITS = np.array([sum(1 << b for b, f in enumerate(TYPE_FIELDS) if f in t.fields) for t in TYPES.values()] + [0],
                         dtype=np.uint32)
_REQUIRED_BITS = np.array([sum(1 << b for b, f in enumerate(TYPE_FIELDS) if f in t.required) for t in TYPES.values()]
                          + [0], dtype=np.uint32)
_REQUIRED_ANYWHERE = {f for t in TYPES.values() for f in t.required}
_FAVORITE = list(TYPES).index("favorite")


_NOT_BLANK = f"[^{re.escape(BLANK)}]"


_STARTS_BLANK = np.zeros(256, dtype=bool)  # by first byte: could the string be blank?
_STARTS_BLANK[list(BLANK.encode())] = True


def _has_text(values) -> np.ndarray:
    """True for strings that are not blank (the exact path's ``_is_blank``, negated), and for nulls.

    Most strings start with a non-blank byte, which the offsets show without touching the
    text; only the others go through a regular expression.
    """
    values = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    offsets, text = string_buffers(values)
    starts = np.minimum(offsets[:-1], len(text) - 1)
    result = (np.diff(offsets) > 0) & ~_STARTS_BLANK[text[starts]]
    if values.null_count:  # a mostly-absent field must not send its nulls to the regular expression
        result |= ~_present(values)
    doubtful = np.flatnonzero(~result)
    if len(doubtful):
        checked = pc.match_substring_regex(values.take(pa.array(doubtful)), _NOT_BLANK)
        result[doubtful] = _true(checked)
    return result


def _mask(condition) -> np.ndarray:
    """A boolean Arrow result without nulls as a numpy mask, unpacked from its bits (Arrow's
    own conversion goes value by value)."""
    chunks = [c for c in (condition.chunks if isinstance(condition, pa.ChunkedArray) else [condition]) if len(c)]
    bits = [np.unpackbits(np.frombuffer(c.buffers()[1], np.uint8), count=c.offset + len(c), bitorder="little")[c.offset:]
            for c in chunks]
    return (bits[0] if len(bits) == 1 else np.concatenate(bits or [np.zeros(0, np.uint8)])).view(bool)


def _present(values) -> np.ndarray:
    return _mask(pc.is_valid(values))


def _true(condition) -> np.ndarray:
    """A numpy mask of a boolean Arrow result, null counting as True (the value is absent)."""
    return _mask(pc.fill_null(condition, True))


_HEAD_DIGITS = [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18]  # "YYYY-MM-DDThh:mm:ss"
_HEAD_MARKS = [4, 7, 13, 16]
_HEAD_MARK_CHARS = np.frombuffer(b"--::", dtype=np.uint8)[:, None]


def _below(chars: np.ndarray, digit: int) -> np.ndarray:
    """Per column of a (position, row) byte matrix: all ASCII digits below ``digit``? (Bytes
    below "0" wrap round to large numbers.)"""
    return ((chars - np.uint8(ord("0"))) < digit).all(axis=0)


def _rfc3339(values: pa.Array) -> pa.Array:
    """Which strings match TS_PATTERN.

    Producers write one time format, so a region's times usually share one width: then
    they are a matrix of bytes, checked a few character positions at a time (faster than
    the regular expression, which decides every other case).
    """
    offsets, text = string_buffers(values)
    width = int(offsets[1] - offsets[0]) if len(values) else 0
    if values.null_count or not 20 <= width <= 35 or not (np.diff(offsets) == width).all():
        return pc.match_substring_regex(values, TS_PATTERN)
    # One row per character position, so every check below runs along contiguous memory.
    at = np.ascontiguousarray(text[offsets[0]:offsets[-1]].reshape(len(values), width).T)
    head = (_below(at[_HEAD_DIGITS], 10) & (at[_HEAD_MARKS] == _HEAD_MARK_CHARS).all(axis=0)
            & (((at[10] | 0x20) == ord("t")) | (at[10] == ord(" "))))

    def fraction_ok(zone: int) -> np.ndarray | bool:  # nothing, or "." and 1 to 9 digits, before a zone this long
        digits = width - 20 - zone
        if digits == -1:
            return True
        return 1 <= digits <= 9 and (at[19] == ord(".")) & _below(at[20:20 + digits], 10)

    zone = at[width - 6:]  # "+hh:mm"; only the last character counts for "Z"
    zulu = ((at[-1] | 0x20) == ord("z")) & fraction_ok(1)
    hours = (_below(zone[1:2], 2) & _below(zone[2:3], 10)) | ((zone[1] == ord("2")) & _below(zone[2:3], 4))
    offset = (fraction_ok(6) & ((zone[0] == ord("+")) | (zone[0] == ord("-"))) & hours & (zone[3] == ord(":"))
              & _below(zone[4:5], 6) & _below(zone[5:6], 10))
    return pa.array(head & (zulu | offset))


def _all_within(values, minimum: int, maximum: int | None) -> bool:
    """Whether every value (nulls aside) lies within the bounds: one pass settles most columns."""
    low, high = (bound.as_py() for bound in pc.min_max(values).values())
    return (low is None or low >= minimum) and (maximum is None or high is None or high <= maximum)


def _valid_rows(table: pa.Table, codes: np.ndarray, ts_ms: pa.Array, ctx: _Context) -> np.ndarray:
    """A mask of rows that :func:`bunjang_lab.events.validate` accepts (False when in doubt)."""
    event_id = table["event_id"]
    ok = ((codes < len(TYPES)) & _present(event_id) & _has_text(event_id)
          & _present(table["user_id"]) & _has_text(table["user_id"]))
    if (pc.max(pc.binary_length(event_id)).as_py() or 0) > MAX_EVENT_ID_CHARS:  # bytes bound characters from above
        ok &= _true(pc.less_equal(pc.utf8_length(event_id), MAX_EVENT_ID_CHARS))
    latest_ms = ctx.now_ms + MAX_FUTURE_MS
    if ts_ms.null_count or not _all_within(ts_ms, ctx.min_ts_ms, latest_ms):
        ok &= _mask(pc.fill_null(pc.and_(pc.greater_equal(ts_ms, ctx.min_ts_ms), pc.less_equal(ts_ms, latest_ms)), False))
    present_bits = np.zeros(table.num_rows, dtype=np.uint32)
    for bit, name in enumerate(TYPE_FIELDS):
        column, spec = table[name], FIELDS[name]
        if column.null_count == table.num_rows:
            continue
        present = _present(column)
        present_bits |= present.astype(np.uint32) << bit
        absent = ~present
        if spec.kind in ("id", "string") and (spec.kind == "id" or name in _REQUIRED_ANYWHERE):
            ok &= absent | _has_text(column)
        elif spec.kind == "choice":
            ok &= absent | _true(pc.is_in(column, value_set=pa.array(spec.choices)))
        elif spec.kind == "category":  # a few distinct paths: when each is well formed, so is every row
            if not _true(pc.match_substring_regex(pc.unique(column), CATEGORY_PATTERN)).all():
                ok &= absent | _true(pc.match_substring_regex(column, CATEGORY_PATTERN))
        elif spec.kind == "integer":
            maximum = ctx.max_birth_year if name == "birth_year" else spec.maximum
            if not _all_within(column, spec.minimum, maximum):
                ok &= absent | _true(pc.greater_equal(column, spec.minimum))
                if maximum is not None:
                    ok &= absent | _true(pc.less_equal(column, maximum))
        elif spec.kind == "string_list":
            column = column.combine_chunks()  # parent indices must count from the first row
            values = pc.list_flatten(column)
            bad = ~_present(values) | ~_has_text(values)
            ok[pc.list_parent_indices(column).to_numpy()[bad]] = False
    ok &= (present_bits & ~_ALLOWED_BITS[codes]) == 0
    ok &= (_REQUIRED_BITS[codes] & ~present_bits) == 0
    return ok


def _resolve_images(images: pa.ChunkedArray, base_dir: str) -> pa.Array:
    images = images.combine_chunks()
    values = pc.replace_substring_regex(pc.list_flatten(images), r"^(\./)+", "")
    absolute = pc.match_substring_regex(values, ABSOLUTE_REF_PATTERN)
    joined = pc.binary_join_element_wise(base_dir.rstrip("/"), values, "/")
    resolved = pc.if_else(absolute, values, joined)
    offsets = pc.subtract(images.offsets, images.offsets[0])
    return pa.ListArray.from_arrays(offsets, resolved, mask=pc.is_null(images))


def _check_utf8(buffer: pa.Buffer) -> None:
    """Raise ``ArrowInvalid`` unless the bytes are valid UTF-8, in one pass.

    Arrow's JSON reader passes invalid bytes through into strings (escapes cannot make
    them: it rejects lone surrogates), so checking its input covers every value.
    """
    offsets = pa.py_buffer(np.array([0, buffer.size], np.int64))
    pa.Array.from_buffers(pa.large_binary(), 1, [None, offsets, buffer]).cast(pa.large_string())


def _fast(ctx: _Context, data: memoryview | bytes, lines: int) -> tuple[dict[str, Any], np.ndarray] | None:
    """(columns, per-row validity) for ``lines`` regular lines, or None when Arrow cannot read them."""
    first_line = bytes(data[:min(len(data), 4096)]).split(b"\n", 1)[0]
    ts_kind = "string" if _TS_IS_STRING.search(first_line) else "integer"
    buffer = pa.py_buffer(data)
    try:
        _check_utf8(buffer)
        table = pj.read_json(pa.BufferReader(buffer), parse_options=_PARSE[ts_kind],
                             read_options=pj.ReadOptions(block_size=1 << 20, use_threads=False))
        if table.num_rows != lines:
            return None  # e.g. two objects on one line
        if ts_kind == "integer":
            ts_ms = table["ts"]
        else:
            times = table["ts"].combine_chunks()
            wellformed = _rfc3339(times)
            candidates = times if wellformed.true_count == len(times) else pc.if_else(wellformed, times, None)
            ts_ms = pc.cast(pc.cast(candidates, pa.timestamp("ns", "UTC")), pa.timestamp("ms", "UTC"), safe=False)
            ts_ms = pc.cast(ts_ms, pa.int64())
    # UnicodeDecodeError: pyarrow decodes field names to Python, and a key may not be UTF-8.
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, UnicodeDecodeError):
        return None
    codes = pc.fill_null(pc.index_in(table["type"], value_set=_TYPE_NAMES), len(TYPES)).to_numpy(zero_copy_only=False)
    valid = _valid_rows(table, codes, ts_ms, ctx)
    for name in set(table.column_names) - set(_JSON_NAMES):  # a field outside the contract: extra, exact path
        valid &= ~_present(table[name])
    columns = {name: table[name] for name in ("type", "event_id", "user_id", *TYPE_FIELDS)}
    columns["ts"] = pc.cast(ts_ms, lakelib.TS_TYPE)
    if table["images"].null_count < table.num_rows:
        columns["images"] = _resolve_images(table["images"], ctx.base_dir)
    columns["on"] = pc.if_else(pa.array(codes == _FAVORITE), pc.fill_null(table["on"], True), table["on"])
    columns["extra"] = pa.nulls(table.num_rows, pa.string())
    return columns, valid


def _fast_lines(ctx: _Context, lines: _Lines, index: np.ndarray, tables: list[pa.Table], doubtful: list[np.ndarray]) -> None:
    """Fast path over the chosen regular lines; what it cannot accept is added to ``doubtful``.

    When Arrow cannot read the lines at all, halves are tried, down to a few lines.
    """
    if len(index) == 0:
        return
    result = _fast(ctx, lines.join(index), len(index))
    if result is None:
        if len(index) <= BISECT_FLOOR:
            doubtful.append(index)
        else:
            half = len(index) // 2
            _fast_lines(ctx, lines, index[:half], tables, doubtful)
            _fast_lines(ctx, lines, index[half:], tables, doubtful)
        return
    columns, valid = result
    columns["_file"] = pa.array(np.full(len(index), ctx.file_index, dtype=np.int32))
    columns["_line"] = pa.array(index.astype(np.int64) + 1)
    table = pa.table([columns[f.name] for f in ROWS], schema=ROWS)
    ctx.read += int(valid.sum())
    tables.append(table if valid.all() else table.filter(pa.array(valid)))
    doubtful.append(index[~valid])


def _ingest_region(ctx: _Context, data: memoryview | bytes) -> _Context:
    part = ctx.part()
    lines = _Lines(data)
    part.lines = len(lines.ends)
    tables: list[pa.Table] = []
    doubtful = [np.flatnonzero(~lines.regular)]
    _fast_lines(part, lines, np.flatnonzero(lines.regular), tables, doubtful)
    exact = np.sort(np.concatenate(doubtful))
    if len(exact):
        tables.append(_exact(part, lines, exact.tolist()))
        if len(tables) > 1:  # keep line order: the first record of an event_id wins
            merged = pa.concat_tables(tables)
            tables = [merged.take(pa.array(np.argsort(merged["_line"].to_numpy(), kind="stable")))]
    part.tables = tables
    return part


def _long_line(ctx: _Context, head: bytes) -> _Context:
    part = ctx.part()
    part.read = part.lines = 1
    _quarantine(part, 1, head, "line_too_long", None, f"more than {MAX_LINE_BYTES} bytes")
    return part


class UnreadableInput(ValueError):
    """An input file that cannot be read to its end (e.g. a truncated .gz); nothing was written."""


def _mapped_regions(mapped: mmap.mmap) -> Iterator[tuple[str, memoryview | bytes]]:
    """What :func:`_regions` gives, for a file mapped into memory: regions are views of the
    page cache, so nothing is copied or zero-filled."""
    size, view = len(mapped), memoryview(mapped)
    mapped.madvise(mmap.MADV_SEQUENTIAL)
    start = len(BOM) if mapped[:len(BOM)] == BOM else 0
    ended = mapped.rfind(b"\n", start) + 1 or start  # every line before this ends with a newline
    while start < ended:
        cut = mapped.rfind(b"\n", start, min(start + READ_BLOCK, ended)) + 1
        if cut == 0:  # no line ends within a region: the line runs on
            cut = mapped.find(b"\n", start) + 1
            if cut - 1 - start > MAX_LINE_BYTES + 1:
                yield "long", mapped[start:start + RAW_KEEP]
                start = cut
                continue
        yield "lines", view[start:cut]
        start = cut
    if ended < size:  # the last line has no newline
        tail_long = size - ended > MAX_LINE_BYTES + 1
        yield ("long", mapped[ended:ended + RAW_KEEP]) if tail_long else ("lines", mapped[ended:] + b"\n")


def _file_regions(stream: BinaryIO) -> Iterator[tuple[str, memoryview | bytes]]:
    """A plain file's regions from a memory map; a compressed or empty file's, or one on a
    filesystem that cannot map it, from the stream."""
    if not isinstance(stream, gzip.GzipFile):
        try:
            return _mapped_regions(mmap.mmap(stream.fileno(), 0, access=mmap.ACCESS_READ))
        except (OSError, ValueError):  # ValueError: an empty file cannot be mapped
            pass
    return _regions(stream)


def _in_flight() -> int:
    """Regions validated at the same time: one per core, each parsed on one thread (cheaper
    than sharing Arrow's pool between regions), and one more so no core waits on the reader."""
    return pa.cpu_count() + 1


def _ingest_file(ctx: _Context, path: Path, pool: Executor, pending: deque) -> None:
    """Queue the file's regions; they are validated several at a time (Arrow and numpy
    release the GIL), and merged in input order."""
    try:
        with _open(path) as stream:
            for kind, data in _file_regions(stream):
                pending.append((ctx, pool.submit(_long_line if kind == "long" else _ingest_region, ctx, data)))
                while len(pending) > _in_flight():
                    _merge_next(pending)
    except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise UnreadableInput(f"{path}: cannot read it to the end ({exc}); nothing was ingested") from None


def _merge_next(pending: deque) -> None:
    ctx, future = pending.popleft()
    ctx.absorb(future.result())


# ---------------------------------------------------------------- the run

def expand_inputs(paths: Sequence[str | os.PathLike]) -> list[Path]:
    """The files to read: each path as given, or the JSON Lines files inside a folder (sorted)."""
    files = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            files += sorted(p for p in path.iterdir() if p.is_file() and p.name.endswith(SUFFIXES))
        elif path.is_file():
            files.append(path)
        else:
            raise FileNotFoundError(2, "No such file or directory", str(path))
    return files


def _late_and_out_of_order(table: pa.Table, newest: dict[str, int]) -> tuple[int, int]:
    """Accepted events older than the lake's newest of their type by more than 1 h, and events
    older than an earlier accepted line of the same file."""
    ts = pc.cast(table["ts"], pa.int64()).to_numpy()
    files = table["_file"].to_numpy()
    late = 0
    for type_name, newest_ms in newest.items():
        of_type = _mask(pc.equal(table["type"], type_name))
        late += int(np.count_nonzero(ts[of_type] < newest_ms - LATE_MS))
    out_of_order = 0
    for file_index in np.unique(files):
        file_ts = ts[files == file_index]
        out_of_order += int(np.count_nonzero(file_ts[1:] < np.maximum.accumulate(file_ts)[:-1]))
    return late, out_of_order


def new_run_id() -> str:
    return f"{dt.datetime.now(dt.timezone.utc):%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:6]}"


def ingest_files(paths: Sequence[str | os.PathLike], lake, *, run_id: str | None = None,
                 media_root: str | os.PathLike | None = None, min_ts: str | int | dt.datetime = DEFAULT_MIN_TS,
                 now: str | int | dt.datetime | None = None) -> dict[str, Any]:
    """Ingest JSON Lines files (plain or .gz, or folders of them) into ``lake``; returns the run stats.

    ``media_root`` is the folder relative image paths are resolved against (default: the
    folder of the file carrying them). ``min_ts`` is the oldest accepted ts, ``now`` the
    clock the 24-hour future bound is measured from (both RFC 3339, epoch ms or datetime).
    """
    started, started_at = time.perf_counter(), dt.datetime.now(dt.timezone.utc).isoformat(timespec="microseconds")
    files = expand_inputs(paths)
    run_id = lakelib.unused_run_id(lake, run_id or new_run_id())
    now_ms = to_epoch_ms(now if now is not None else dt.datetime.now(dt.timezone.utc))
    min_ts_ms = to_epoch_ms(min_ts)
    lakelib.clean_tmp(lake)
    contexts, pending = [], deque()
    with ThreadPoolExecutor(max_workers=_in_flight()) as pool:
        for index, path in enumerate(files):
            base = Path(media_root) if media_root is not None else path.parent
            contexts.append(_Context(index, str(path.resolve()), str(base.resolve()), min_ts_ms, now_ms))
            _ingest_file(contexts[-1], path, pool, pending)
        while pending:
            _merge_next(pending)
    tables = pa.concat_tables([t for c in contexts for t in c.tables] or [ROWS.empty_table()])
    for context in contexts:
        context.tables = []
    with ThreadPoolExecutor(max_workers=1) as joiner:
        # One chunk per column, so the lookups below and the lake writer never re-join chunks;
        # the ids are joined apart and deduplicated meanwhile.
        joining = joiner.submit(tables.combine_chunks)
        keep = new_ids(tables["event_id"].combine_chunks(), lakelib.event_ids(lake))
        rows = joining.result()
        del tables  # the joined copy replaces the regions' tables: never hold both for long
    with ThreadPoolExecutor(max_workers=1) as writer:  # the run's figures are worked out while the lake is written
        writing = writer.submit(lakelib.write_events, lake, rows.drop_columns(["_file", "_line"]), run_id=run_id,
                                rows=keep)
        accepted = rows.select(["type", "ts", "_file"]).take(pa.array(keep))
        late, out_of_order = _late_and_out_of_order(accepted, lakelib.latest_ts_by_type(lake))
        quarantine = [q for c in contexts for q in c.quarantine]
        quarantine_path = lakelib.write_quarantine(lake, run_id, quarantine)
        accepted_by_file = np.bincount(accepted["_file"].to_numpy(), minlength=len(files))
        valid_by_file = np.bincount(rows["_file"].to_numpy(), minlength=len(files))
        per_file = [{"path": c.source, "read": c.read, "accepted": int(accepted_by_file[i]),
                     "duplicates": int(valid_by_file[i] - accepted_by_file[i]), "quarantined": len(c.quarantine)}
                    for i, c in enumerate(contexts)]
        by_type = {row["values"]: row["counts"] for row in pc.value_counts(accepted["type"]).to_pylist()}
        by_reason: dict[str, int] = {}
        for record in quarantine:
            by_reason[record["reason"]] = by_reason.get(record["reason"], 0) + 1
        span = accepted.group_by("type").aggregate([("ts", "min"), ("ts", "max")]).to_pylist()
        written = writing.result()
    stats = {
        "read": sum(c.read for c in contexts), "accepted": accepted.num_rows,
        "duplicates": rows.num_rows - accepted.num_rows, "quarantined": len(quarantine),
        "by_type": dict(sorted(by_type.items())), "by_reason": dict(sorted(by_reason.items())),
        "late": late, "out_of_order": out_of_order, "run_id": run_id, "lake": str(lake), "files": per_file,
    }
    manifest = {
        **stats, "started_at": started_at,
        "finished_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="microseconds"),
        "min_ts_ms": {r["type"]: to_epoch_ms(r["ts_min"]) for r in span},
        "max_ts_ms": {r["type"]: to_epoch_ms(r["ts_max"]) for r in span},
        "parts": written, "quarantine": quarantine_path,
        "seconds": round(time.perf_counter() - started, 3),
    }
    lakelib.write_manifest(lake, manifest)
    stats["seconds"] = manifest["seconds"]
    return stats


def run(argv: list[str]) -> int:
    from bunjang_lab import paths
    from bunjang_lab.cli import UserError, parser

    cli = parser("python -m bunjang_lab ingest", "Validate JSON Lines events (plain or .gz, or folders of them) into "
                 "the Parquet lake; bad records go to the lake's quarantine with a reason code.")
    cli.add_argument("files", nargs="+", metavar="FILE", help="JSON Lines file(s) or folder(s) of them")
    cli.add_argument("--lake", default=str(paths.lake_dir()), help="lake folder or fsspec URL (default: %(default)s)")
    cli.add_argument("--run-id", help="id of this run (default: UTC time plus a random suffix)")
    cli.add_argument("--media-root", help="folder relative image paths are resolved against (default: each file's folder)")
    cli.add_argument("--min-ts", default=DEFAULT_MIN_TS, help="oldest accepted event time (default: %(default)s)")
    cli.add_argument("--now", help="clock for the 24-hour future bound (default: the current time)")
    args = cli.parse_args(argv)
    try:
        min_ts = to_epoch_ms(args.min_ts)
        now = to_epoch_ms(args.now) if args.now else None
    except ValueError as exc:
        raise UserError(str(exc)) from None
    if args.run_id and not args.run_id.replace("-", "").replace("_", "").isalnum():
        raise UserError(f"--run-id may contain only letters, digits, '-' and '_': {args.run_id!r}")
    try:
        stats = ingest_files(args.files, args.lake, run_id=args.run_id, media_root=args.media_root, min_ts=min_ts,
                             now=now)
    except UnreadableInput as exc:
        raise UserError(str(exc)) from None
    reasons = ", ".join(f"{k} {v}" for k, v in stats["by_reason"].items()) or "none"
    print(f"ingested {stats['read']} records from {len(stats['files'])} file(s) into {args.lake}: "
          f"{stats['accepted']} accepted, {stats['duplicates']} duplicates, {stats['quarantined']} quarantined "
          f"({reasons})", file=sys.stderr)
    print(json.dumps(stats, ensure_ascii=False))
    return 0
