"""The fast path: regular lines parsed by Arrow's JSON reader against the contract's schema and
validated column by column. It only ever accepts; every row it doubts is left to the exact path."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pj

from bunjang_lab import lake as lakelib
from bunjang_lab.dedup import string_buffers
from bunjang_lab.events import (ABSOLUTE_REF_PATTERN, BLANK, CATEGORY_PATTERN, FIELDS, MAX_EVENT_ID_CHARS,
                                MAX_FUTURE_MS, TYPE_FIELDS, TYPES)
from bunjang_lab.ingest.context import ROWS, _Context
from bunjang_lab.ingest.masks import _mask, _present, _true
from bunjang_lab.ingest.reading import _Lines
from bunjang_lab.ingest.timestamps import _rfc3339

BISECT_FLOOR = 32  # lines Arrow cannot read are halved down to this many, then read one by one

_JSON_KINDS = {"id": pa.string(), "string": pa.string(), "category": pa.string(), "choice": pa.string(),
               "integer": pa.int64(), "boolean": pa.bool_(), "string_list": pa.list_(pa.string())}


def _json_schema(ts_type: pa.DataType) -> pa.Schema:
    fields = [("event_id", pa.string()), ("type", pa.string()), ("ts", ts_type), ("user_id", pa.string())]
    return pa.schema(fields + [(name, _JSON_KINDS[FIELDS[name].kind]) for name in TYPE_FIELDS])


_JSON_NAMES = _json_schema(pa.string()).names
_TS_IS_STRING = re.compile(rb'"ts"\s*:\s*"')
_PARSE = {kind: pj.ParseOptions(explicit_schema=_json_schema(t), unexpected_field_behavior="infer", newlines_in_values=False)
          for kind, t in (("string", pa.string()), ("integer", pa.int64()))}

_TYPE_NAMES = pa.array(list(TYPES))
# Per type code (the last slot is for an unknown type), one bit per field of TYPE_FIELDS (at most 64):
# may / must it be present? Rows compare their own presence bits with these in one pass.
_ALLOWED_BITS = np.array([sum(1 << b for b, f in enumerate(TYPE_FIELDS) if f in t.fields) for t in TYPES.values()] + [0],
                         dtype=np.uint64)
_REQUIRED_BITS = np.array([sum(1 << b for b, f in enumerate(TYPE_FIELDS) if f in t.required) for t in TYPES.values()]
                          + [0], dtype=np.uint64)
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
    present_bits = np.zeros(table.num_rows, dtype=np.uint64)
    for bit, name in enumerate(TYPE_FIELDS):
        column, spec = table[name], FIELDS[name]
        if column.null_count == table.num_rows:
            continue
        present = _present(column)
        present_bits |= present.astype(np.uint64) << np.uint64(bit)
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
