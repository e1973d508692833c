"""One region of lines through both paths: the fast path first, the exact path for what it
doubts, the rows kept in line order."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from bunjang_lab.events import MAX_LINE_BYTES
from bunjang_lab.ingest.context import _Context, _quarantine
from bunjang_lab.ingest.exact import _exact
from bunjang_lab.ingest.fast import _fast_lines
from bunjang_lab.ingest.reading import _Lines


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
