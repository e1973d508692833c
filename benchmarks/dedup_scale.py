"""The duplicate check against a lake of 50 million event ids: memory and time, beside the
same run's baseline that holds every lake id in memory.

Builds a lake of ``--lake-ids`` click events (ids of 16 characters, ten ingest runs with
their manifests) unless ``--lake`` names one built before, and a run of ``--run-ids`` ids:
half already in the lake, 1 % sent twice, the rest new. Each method runs in a fresh process
(peak resident memory from ``ru_maxrss``, time and CPU of the call alone):

* streamed: ``dedup.new_ids(run, lake.event_id_batches(lake))``, what ingest does;
* baseline: every lake id read at once (``lake.event_ids``) and one fingerprint sort over
  the lake's and the run's ids together, what ingest did before.

Both must keep the same rows.

    .venv/bin/python benchmarks/dedup_scale.py [--lake-ids 50000000] [--run-ids 1000000] [--lake DIR] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from bunjang_lab import dedup, lake as lakelib

RUNS = 10
WIDTH = 16
SCRAMBLE = 0x5DEECE66D  # odd: n -> n * SCRAMBLE mod 10**15 is a bijection, so ids look random and stay distinct


def id_array(numbers: np.ndarray) -> pa.Array:
    """``e`` and 15 digits of each scrambled number, as one string array (no Python strings)."""
    scrambled = (numbers.astype(np.uint64) * np.uint64(SCRAMBLE)) % np.uint64(10**15)
    digits = (scrambled[:, None] // (np.uint64(10) ** np.arange(14, -1, -1, dtype=np.uint64))) % np.uint64(10)
    text = np.empty((len(numbers), WIDTH), np.uint8)
    text[:, 0] = ord("e")
    text[:, 1:] = digits.astype(np.uint8) + ord("0")
    offsets = np.arange(0, (len(numbers) + 1) * WIDTH, WIDTH, dtype=np.int32)
    return pa.Array.from_buffers(pa.string(), len(numbers), [None, pa.py_buffer(offsets), pa.py_buffer(text.reshape(-1))])


def build_lake(folder: Path, count: int) -> None:
    per_run = -(-count // RUNS)
    for run in range(RUNS):
        numbers = np.arange(run * per_run, min(count, (run + 1) * per_run))
        ts = pa.array(1_790_000_000_000 + numbers * 10, pa.timestamp("ms", "UTC"))
        table = pa.table({"event_id": id_array(numbers), "type": pa.array(["click"] * len(numbers)), "ts": ts,
                          "user_id": pa.array(["u1"] * len(numbers)), "item_id": pa.array(["i1"] * len(numbers))})
        parts = lakelib.write_events(str(folder), table, run_id=f"bench-{run}")
        lakelib.write_manifest(str(folder), {"run_id": f"bench-{run}", "parts": parts, "accepted": len(numbers)})


def run_ids(lake_ids: int, count: int) -> pa.Array:
    rng = np.random.default_rng(7)
    numbers = np.concatenate([rng.choice(lake_ids, count // 2, replace=False), lake_ids + np.arange(count - count // 2)])
    rng.shuffle(numbers)
    resent = rng.choice(np.arange(1, count), count // 100, replace=False)
    numbers[resent] = numbers[resent - 1]
    return id_array(numbers)


def baseline(ids: pa.Array, lake: str) -> np.ndarray:
    known = lakelib.event_ids(lake)
    combined = pa.concat_arrays([known, ids])
    return np.flatnonzero(dedup.first_occurrences(combined)[len(known):])


METHODS = {"streamed": lambda ids, lake: dedup.new_ids(ids, lakelib.event_id_batches(lake)), "baseline": baseline}


def _rss_mb() -> float:
    return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def measure(method: str, lake: str, run_file: str) -> dict:
    """In this process: the method's time, CPU and peak memory (the run's ids already loaded)."""
    ids = pq.read_table(run_file).column("event_id").combine_chunks()
    before = _rss_mb()
    wall, cpu = time.perf_counter(), time.process_time()
    keep = METHODS[method](ids, lake)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    digest = int(np.bitwise_xor.reduce(keep * 2654435761 % 2**32)) if len(keep) else 0
    return {"method": method, "seconds": round(wall, 2), "cpu_seconds": round(cpu, 2), "peak_rss_mb": round(peak),
            "rss_before_mb": round(before), "kept": int(len(keep)), "digest": digest}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lake-ids", type=int, default=50_000_000)
    parser.add_argument("--run-ids", type=int, default=1_000_000)
    parser.add_argument("--lake", help="a lake this script built before (default: build one in a temporary folder)")
    parser.add_argument("--json", action="store_true", help="print only the JSON line")
    parser.add_argument("--measure", choices=sorted(METHODS), help=argparse.SUPPRESS)
    parser.add_argument("--run-file", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure, args.lake, args.run_file)))
        return
    with tempfile.TemporaryDirectory(prefix="dedup-scale-") as scratch:
        lake = args.lake or str(Path(scratch) / "lake")
        if not args.lake or not lakelib.read_manifests(lake):
            started = time.perf_counter()
            build_lake(Path(lake), args.lake_ids)
            if not args.json:
                print(f"built a lake of {args.lake_ids:,} ids in {time.perf_counter() - started:.0f} s at {lake}")
        run_file = str(Path(scratch) / "run.parquet")
        pq.write_table(pa.table({"event_id": run_ids(args.lake_ids, args.run_ids)}), run_file)
        results = {}
        for method in ("streamed", "baseline"):
            out = subprocess.run([sys.executable, __file__, "--measure", method, "--lake", lake, "--run-file", run_file],
                                 capture_output=True, text=True, check=True)
            results[method] = json.loads(out.stdout.splitlines()[-1])
    streamed, base = results["streamed"], results["baseline"]
    if (streamed["kept"], streamed["digest"]) != (base["kept"], base["digest"]):
        raise SystemExit(f"the methods disagree: {streamed} {base}")
    if not args.json:
        print(f"run of {args.run_ids:,} ids against {args.lake_ids:,} lake ids; kept {streamed['kept']:,} (both methods)")
        print(f"{'method':<10} {'seconds':>8} {'CPU s':>7} {'peak RSS MB':>12} {'RSS before MB':>14}")
        for result in (streamed, base):
            print(f"{result['method']:<10} {result['seconds']:>8} {result['cpu_seconds']:>7} {result['peak_rss_mb']:>12} "
                  f"{result['rss_before_mb']:>14}")
    print(json.dumps({"lake_ids": args.lake_ids, "run_ids": args.run_ids, "kept": streamed["kept"],
                      "streamed": {k: streamed[k] for k in ("seconds", "cpu_seconds", "peak_rss_mb", "rss_before_mb")},
                      "baseline": {k: base[k] for k in ("seconds", "cpu_seconds", "peak_rss_mb", "rss_before_mb")}}))


if __name__ == "__main__":
    main()
