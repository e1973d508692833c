"""What validating one file depends on (its settings) and what it collects: valid rows, in
the schema :data:`ROWS`, and quarantine records."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from typing import Any

import pyarrow as pa

from bunjang_lab import lake as lakelib

RAW_KEEP = 1024  # bytes of a rejected line kept in the quarantine

# The rows of one run: the lake's columns plus the event type, the input file and the line
# within its region (which orders a region's rows: the first record of an event_id wins).
ROWS = pa.schema([pa.field("type", pa.string()), *lakelib.SCHEMA, pa.field("_file", pa.int32()), pa.field("_line", pa.int64())])


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


def _quarantine(ctx: _Context, line_no: int, line: bytes, reason: str, fld: str | None, detail: str) -> None:
    ctx.quarantine.append({"source": ctx.source, "line": line_no, "reason": reason, "field": fld, "detail": detail,
                           "bytes": len(line), "raw": line[:RAW_KEEP].decode("utf-8", "backslashreplace")})
