"""What validating one file depends on (its settings) and what it collects: valid rows, in
the schema :data:`ROWS`, and quarantine records (personal data masked)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from typing import Any

import pyarrow as pa

from bunjang_lab import lake as lakelib
from bunjang_lab.fraud.mask import mask

RAW_KEEP = 1024  # bytes of a rejected line kept in the quarantine
_MASK_CONTEXT = 64  # bytes read past the kept ones, so a number cut at the end is still recognised

# The rows of one run: the lake's columns plus the event type, the input file and the line
# within its region (which orders a region's rows: the first record of an event_id wins).
ROWS = pa.schema([pa.field("type", pa.string()), *lakelib.SCHEMA, pa.field("_file", pa.int32()), pa.field("_line", pa.int64())])


@dataclass(slots=True)  # a run holds one per input file
class _Context:
    """What validation depends on for one file, and what one of its regions collected.

    A file's own context keeps only counts: its regions' rows and records go to the run.
    """

    file_index: int
    source: str
    base_dir: str
    min_ts_ms: int
    now_ms: int
    quarantine: list[dict[str, Any]] = field(default_factory=list)
    read: int = 0
    tables: list[pa.Table] = field(default_factory=list)
    lines: int = 0  # lines so far, blank ones included
    quarantined: int = 0

    def part(self) -> _Context:
        """An empty context with the same settings, for one region processed on its own
        (its line numbers count from the region's first line)."""
        return replace(self, quarantine=[], read=0, tables=[], lines=0, quarantined=0)

    def absorb(self, part: _Context) -> None:
        """Count the results of the region that follows the lines seen so far, and number its
        quarantine records within the file (the caller keeps its rows and records)."""
        for record in part.quarantine:
            record["line"] += self.lines
        self.lines += part.lines
        self.read += part.read
        self.quarantined += len(part.quarantine)

    @property
    def max_birth_year(self) -> int:
        return dt.datetime.fromtimestamp(self.now_ms / 1000, dt.timezone.utc).year


def _kept(line: bytes) -> str:
    """The first RAW_KEEP bytes of a line as text, personal data masked (masking keeps the
    length, so the text past them only helps recognise what they cut)."""
    head = line[:RAW_KEEP].decode("utf-8", "backslashreplace")
    return mask(head + line[RAW_KEEP:RAW_KEEP + _MASK_CONTEXT].decode("utf-8", "backslashreplace"))[:len(head)]


def _quarantine(ctx: _Context, line_no: int, line: bytes, reason: str, fld: str | None, detail: str) -> None:
    ctx.quarantine.append({"source": ctx.source, "line": line_no, "reason": reason, "field": fld,
                           "detail": mask(detail), "bytes": len(line), "raw": _kept(line)})
