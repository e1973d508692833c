"""The exact path: lines validated one record at a time by :func:`bunjang_lab.events.validate`,
which defines the contract; a rejected line goes to the quarantine with its reason."""

from __future__ import annotations

import json
from typing import Any, Sequence

import pyarrow as pa

from bunjang_lab.events import BLANK, MAX_LINE_BYTES, Rejected, validate
from bunjang_lab.ingest.context import ROWS, _Context, _quarantine
from bunjang_lab.ingest.reading import BOM, _Lines


def _reject_constant(name: str):
    raise ValueError(f"{name} is not JSON")


def _integer(digits: str) -> int:
    """A JSON integer; one too long for Python to convert fits no field either."""
    try:
        return int(digits)
    except ValueError:
        raise Rejected("out_of_range", None, f"an integer of {len(digits.lstrip('-'))} digits") from None


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
        record = json.loads(text, parse_constant=_reject_constant, parse_int=_integer)
    except Rejected as exc:  # before ValueError, which it is
        return _quarantine(ctx, line_no, line, exc.reason, exc.field, exc.detail)
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
