"""One ingest run: files validated region by region, several at a time; the run's rows
deduplicated against the lake and written; its stats, quarantine and manifest.

The run commits with its manifest, written last: until then none of its parts or quarantine
records count as the lake's, and what a killed run left is discarded when the next one starts.
Memory grows with the rows (their filled columns) and rejected lines, not with the number of
files: a file keeps
only its counts.
"""

from __future__ import annotations

import datetime as dt
import gzip
import os
import time
import uuid
import zlib
from collections import deque
from concurrent.futures import Executor, ThreadPoolExecutor
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from bunjang_lab import lake as lakelib
from bunjang_lab.progress import Steps
from bunjang_lab.dedup import new_ids
from bunjang_lab.events import DEFAULT_MIN_TS, to_epoch_ms
from bunjang_lab.ingest.context import ROWS, _Context
from bunjang_lab.ingest.masks import _mask
from bunjang_lab.ingest.reading import UnreadableInput, _file_regions, _open, expand_inputs
from bunjang_lab.ingest.regions import _ingest_region, _long_line

LATE_MS = 3600 * 1000  # "late": older than the newest ts already in the lake for its type by more than this
JOIN_TABLES = 256  # small region tables are joined into one once this many wait
JOIN_ROWS = 64_000  # ... or once they hold this many rows; a table this big is kept as it is


class _Collected:
    """The run's valid rows, in input order, and quarantine records. Regions of small files
    give small tables, whose buffers per column would outweigh their rows many times over:
    they are joined a few hundred at a time. A kept table drops the columns its events leave
    empty (most of the contract's columns belong to a few types; a click uses six of them),
    so a row weighs what its events carry; the lake writer gives each part its type's
    columns back."""

    def __init__(self) -> None:
        self.tables: list[pa.Table] = []
        self.quarantine: list[dict[str, Any]] = []
        self._waiting: list[pa.Table] = []
        self._waiting_rows = 0

    def add(self, part: _Context) -> None:
        self.quarantine += part.quarantine
        for table in part.tables:
            if table.num_rows >= JOIN_ROWS:
                self.join_waiting()
                self.tables.append(_filled_columns(table))
                continue
            self._waiting.append(table)
            self._waiting_rows += table.num_rows
            if len(self._waiting) >= JOIN_TABLES or self._waiting_rows >= JOIN_ROWS:
                self.join_waiting()

    def join_waiting(self) -> None:
        if self._waiting:
            self.tables.append(_filled_columns(pa.concat_tables(self._waiting).combine_chunks()))
            self._waiting, self._waiting_rows = [], 0


def _filled_columns(table: pa.Table) -> pa.Table:
    """``table`` without its columns that hold only nulls (an empty table keeps them all)."""
    if not table.num_rows:
        return table
    return table.select([i for i, column in enumerate(table.columns) if column.null_count < table.num_rows])


def _in_flight() -> int:
    """Regions validated at the same time: one per core, each parsed on one thread (cheaper
    than sharing Arrow's pool between regions), and one more so no core waits on the reader."""
    return pa.cpu_count() + 1


def _ingest_file(ctx: _Context, path: Path, pool: Executor, pending: deque, collected: _Collected) -> None:
    """Queue the file's regions; they are validated several at a time (Arrow and numpy
    release the GIL), and merged in input order."""
    try:
        with _open(path) as stream:
            for kind, data in _file_regions(stream):
                pending.append((ctx, pool.submit(_long_line if kind == "long" else _ingest_region, ctx, data)))
                while len(pending) > _in_flight():
                    _merge_next(pending, collected)
    except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise UnreadableInput(f"{path}: cannot read it to the end ({exc}); nothing was ingested") from None


def _merge_next(pending: deque, collected: _Collected) -> None:
    ctx, future = pending.popleft()
    part = future.result()
    ctx.absorb(part)
    collected.add(part)


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
    lakelib.discard_unfinished(lake)
    # at a terminal: one step per file read, then the dedup against the lake and the write (half the time on the sample)
    with Steps("ingest", total=len(files) + 2, unit="step") as done:
        contexts, pending, collected = [], deque(), _Collected()
        base_dirs: dict[Path, str] = {}  # one string per folder, not one per file
        with ThreadPoolExecutor(max_workers=_in_flight()) as pool:
            for index, path in enumerate(files):
                base = Path(media_root) if media_root is not None else path.parent
                base_dir = base_dirs.get(base) or base_dirs.setdefault(base, str(base.resolve()))
                contexts.append(_Context(index, str(path.resolve()), base_dir, min_ts_ms, now_ms))
                _ingest_file(contexts[-1], path, pool, pending, collected)
                done(f"read {path.name}")
            while pending:
                _merge_next(pending, collected)
        del files, base_dirs  # 100,000 paths weigh 50 MB; the contexts name the files
        collected.join_waiting()
        quarantine = collected.quarantine
        # Columns some tables dropped come back as nulls only where another table fills them.
        tables = pa.concat_tables(collected.tables or [ROWS.empty_table()], promote_options="default")
        del collected  # its tables are the chunks joined below: never hold both
        with ThreadPoolExecutor(max_workers=1) as joiner:
            # One chunk per column, so the lookups below and the lake writer never re-join chunks;
            # the ids are joined apart and deduplicated meanwhile, against the lake's ids read a
            # batch at a time (memory bounded by the run, not the lake).
            joining = joiner.submit(tables.combine_chunks)
            keep = new_ids(tables["event_id"].combine_chunks(), lakelib.event_id_batches(lake))
            rows = joining.result()
            del tables  # the joined copy replaces the regions' tables: never hold both for long
            done(f"{len(keep):,} of {rows.num_rows:,} valid events new to the lake; writing")
        with ThreadPoolExecutor(max_workers=1) as writer:  # the run's figures are worked out while the lake is written
            writing = writer.submit(lakelib.write_events, lake, rows.drop_columns(["_file", "_line"]), run_id=run_id,
                                    rows=keep)
            accepted = rows.select(["type", "ts", "_file"]).take(pa.array(keep))
            late, out_of_order = _late_and_out_of_order(accepted, lakelib.latest_ts_by_type(lake))
            quarantine_path = lakelib.write_quarantine(lake, run_id, quarantine)
            accepted_by_file = np.bincount(accepted["_file"].to_numpy(), minlength=len(contexts))
            valid_by_file = np.bincount(rows["_file"].to_numpy(), minlength=len(contexts))
            per_file = [{"path": c.source, "read": c.read, "accepted": int(accepted_by_file[i]),
                         "duplicates": int(valid_by_file[i] - accepted_by_file[i]), "quarantined": c.quarantined}
                        for i, c in enumerate(contexts)]
            by_type = {row["values"]: row["counts"] for row in pc.value_counts(accepted["type"]).to_pylist()}
            by_reason: dict[str, int] = {}
            for record in quarantine:
                by_reason[record["reason"]] = by_reason.get(record["reason"], 0) + 1
            span = accepted.group_by("type").aggregate([("ts", "min"), ("ts", "max")]).to_pylist()
            written = writing.result()
            done("written")
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
