"""Where ingestion's CPU goes, stage by stage, on one thread, beside the same run's alternatives.

Generates the events of ``benchmarks/ingest.py``, cuts them into the reader's regions and
times each stage of ``bunjang_lab.ingest`` over all regions (CPU seconds, best of
``--repeats``), next to the raw ``pyarrow.json.read_json`` of the whole file. Where a
stage replaced a simpler way, that way is timed in the same run as its baseline:

* UTF-8 check on the raw bytes  vs  ``Table.validate(full=True)`` of the parsed columns;
* time check as a byte matrix   vs  the RFC 3339 regular expression on every time;
* dedup by fingerprints         vs  Arrow's hash table (``dictionary_encode``).

    .venv/bin/python benchmarks/ingest_stages.py [--events 1000000] [--repeats 5]
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pj

from bunjang_lab import dedup, lake
from bunjang_lab.events import DEFAULT_MIN_TS, TS_PATTERN, TYPES, to_epoch_ms
from bunjang_lab.ingest import context, fast, reading, timestamps
from bunjang_lab.ingest.regions import _ingest_region
from ingest import generate, measure


def best(run, repeats: int) -> tuple[float, float]:
    """(wall, CPU) seconds of ``run()``, each the best of ``repeats``."""
    times = [measure(run)[1:] for _ in range(repeats)]
    return min(t[0] for t in times), min(t[1] for t in times)


def arrow_first_occurrences(ids: pa.Array) -> np.ndarray:
    """The replaced dedup: dictionary codes follow first appearance."""
    codes = ids.dictionary_encode().indices.to_numpy()
    return codes > np.concatenate([[-1], np.maximum.accumulate(codes)[:-1]])


def main() -> None:
    cli = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    cli.add_argument("--events", type=int, default=1_000_000)
    cli.add_argument("--repeats", type=int, default=5)
    args = cli.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-ingest-stages-"))
    try:
        source = work / "events.jsonl"
        generate(source, args.events)
        with open(source, "rb") as stream:
            regions = [bytes(data) for _, data in reading._regions(stream)]
        ctx = context._Context(0, str(source), str(work), to_epoch_ms(DEFAULT_MIN_TS),
                               to_epoch_ms("2026-12-01T00:00:00Z"))
        read_options = pj.ReadOptions(block_size=1 << 20, use_threads=False)
        tables = [pj.read_json(pa.BufferReader(r), parse_options=fast._PARSE["string"], read_options=read_options)
                  for r in regions]
        times = [t["ts"].combine_chunks() for t in tables]
        checks = []
        for table in tables:
            codes = pc.fill_null(pc.index_in(table["type"], value_set=fast._TYPE_NAMES),
                                 len(TYPES)).to_numpy(zero_copy_only=False)
            ts_ms = pc.cast(pc.cast(pc.cast(table["ts"], pa.timestamp("ns", "UTC")), pa.timestamp("ms", "UTC")), pa.int64())
            checks.append((table, codes, ts_ms))
        region_rows = [t for r in regions for t in _ingest_region(ctx, r).tables]
        rows = pa.concat_tables(region_rows).combine_chunks()
        ids, empty = rows["event_id"].combine_chunks(), pa.array([], pa.string())

        def write_lake():
            shutil.rmtree(work / "lake", ignore_errors=True)
            keep = dedup.new_ids(ids, empty)
            lake.write_events(work / "lake", rows.drop_columns(["_file", "_line"]), run_id="bench", rows=keep)

        stages = {
            "raw read_json, whole file (threads)": lambda: pj.read_json(source),
            "parse, regions on one thread": lambda: [pj.read_json(pa.BufferReader(r), read_options=read_options,
                                                                  parse_options=fast._PARSE["string"]) for r in regions],
            "line scan": lambda: [reading._Lines(r) for r in regions],
            "UTF-8 check on the raw bytes": lambda: [fast._check_utf8(pa.py_buffer(r)) for r in regions],
            "  baseline: validate parsed columns": lambda: [t.validate(full=True) for t in tables],
            "time check, byte matrix": lambda: [timestamps._rfc3339(t) for t in times],
            "  baseline: regular expression": lambda: [pc.match_substring_regex(t, TS_PATTERN) for t in times],
            "column checks": lambda: [fast._valid_rows(t, c, ts, ctx) for t, c, ts in checks],
            "whole region (parse, checks, assembly)": lambda: [_ingest_region(ctx, r) for r in regions],
            "join the run's rows": lambda: pa.concat_tables(region_rows).combine_chunks(),
            "dedup by fingerprints": lambda: dedup.new_ids(ids, empty),
            "  baseline: Arrow's hash table": lambda: arrow_first_occurrences(ids),
            "dedup + partition + Parquet write": write_lake,
        }
        print(f"{args.events:,} events, {len(regions)} regions; seconds, best of {args.repeats}")
        for name, run in stages.items():
            wall, cpu = best(run, args.repeats)
            print(f"{name:42s} CPU {cpu:6.3f}  wall {wall:6.3f}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
