"""Simulator speed: 10,000 users x 30 days (target: under 2 minutes on this 2-core machine).

Prints one JSON object: wall and CPU seconds (the event process and the image workers), events
per second, output size, and the machine's load average before and after (the machine is
shared: CPU seconds show the cost when wall time is inflated by other work).

    .venv/bin/python benchmarks/simulate.py [--users 10000] [--days 30] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import tempfile
import time
from pathlib import Path

from bunjang_lab.simulate import simulate


def _cpu_seconds() -> tuple[float, float]:
    """(this process, finished child processes: the image workers)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime, children.ru_utime + children.ru_stime


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--users", type=int, default=10_000)
    p.add_argument("--days", type=int, default=30)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--workers", type=int, default=None, help="image processes (default: the library's choice)")
    p.add_argument("--keep", help="write here and keep the output (default: a temporary folder)")
    args = p.parse_args()
    out = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="bunjang-sim-"))
    load_before = os.getloadavg()
    cpu0, t0 = _cpu_seconds(), time.perf_counter()
    try:
        summary = simulate(args.users, args.days, args.seed, out, workers=args.workers)
        wall, cpu = time.perf_counter() - t0, [b - a for a, b in zip(cpu0, _cpu_seconds())]
        size = sum(f.stat().st_size for f in out.rglob("*") if f.is_file())
    finally:
        if not args.keep:
            shutil.rmtree(out, ignore_errors=True)
    print(json.dumps({
        "users": args.users, "days": args.days, "events": summary["events"], "listings": summary["listings"],
        "images": summary["images"], "wall_s": round(wall, 1), "cpu_s": round(sum(cpu), 1),
        "cpu_events_s": round(cpu[0], 1), "cpu_image_workers_s": round(cpu[1], 1),
        "events_per_s": round(summary["events"] / wall), "output_mb": round(size / 2**20, 1),
        "target_wall_s": 120, "cores": os.cpu_count(),
        "load_before": [round(x, 1) for x in load_before], "load_after": [round(x, 1) for x in os.getloadavg()],
    }))


if __name__ == "__main__":
    main()
