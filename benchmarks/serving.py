"""Serving figures: publish time, whole-process and in-process lookup speed, event-to-visible latency.

Builds a synthetic run in the "Runs" contract (``bunjang_lab.testing.write_run``; 100,000
users with a 50-item home feed and 100 candidates, 50,000 listings with 20 related items
and k = 16 vectors; cached in benchmarks/.cache), then measures on both backends
(SQLite file, Redis db 12):

* publish: ``publish_run`` of the whole run;
* whole process: ``python -m bunjang_lab.score recommend --user U`` wall time (median, p99)
  and CPU time, beside ``python -c pass`` in the same run (the machine is shared, so the
  CPU time is what the command itself costs);
* in process: ``lookup.recommend`` per second under 1, 8 and 32 reader threads, beside
  ``redis-benchmark`` GET of a 1 KB value with the same numbers of clients on the same Redis
  (the ceiling for one round trip per lookup);
* event to visible: a click applied with ``apply_event`` until a new snapshot's
  ``recommend`` shows the re-ranked feed (median, p99), and ``score event`` as a process.

    .venv/bin/python benchmarks/serving.py [--users 100000] [--items 50000]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from bunjang_lab.serving import lookup
from bunjang_lab.serving.backends import open_cache
from bunjang_lab.serving.events import apply_event
from bunjang_lab.serving.publish import publish_run
from bunjang_lab.testing import write_run

ROOT = Path(__file__).resolve().parents[1]
CACHE_DIR = ROOT / "benchmarks" / ".cache"
REDIS_URL = "redis://127.0.0.1:6379/12?prefix=bench:"
READERS = (1, 8, 32)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def synthetic_run(users: int, items: int) -> Path:
    run = CACHE_DIR / f"serving-run-{users}u-{items}i"
    if not (run / "run.json").exists():
        started = time.perf_counter()
        write_run(run, users=users, items=items, home_size=50, candidates=100, related=20, dim=16)
        print(f"built synthetic run {run} in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    return run


def answer_each(lookup, questions: list[dict], in_flight: int = 1) -> list[bytes]:
    """The service's awaited lookup (``Service.recommend()``) answering ``questions`` on uvloop, as
    a worker's event loop does: ``in_flight`` at a time, awaited together (as requests arriving
    together are). A lookup that is no coroutine (a tree before the awaited read) answers at once."""
    import asyncio
    import inspect

    import uvloop

    if not inspect.iscoroutinefunction(lookup):
        blocking = lookup

        async def lookup(params: dict) -> bytes:
            return blocking(params)

    async def ask() -> list[bytes]:
        if in_flight == 1:
            return [await lookup(params) for params in questions]
        answers: list[bytes] = []
        for start in range(0, len(questions), in_flight):
            answers += await asyncio.gather(*(lookup(params) for params in questions[start:start + in_flight]))
        return answers

    return uvloop.run(ask())


def process_env(src: Path | None = None) -> dict:
    """The environment of a deployed CLI: bytecode cached (this sandbox sets PYTHONDONTWRITEBYTECODE);
    the package from ``src`` (default: this tree's)."""
    env = {**os.environ, "PYTHONPATH": str(src or ROOT / "src")}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def timed_processes(commands: list[list[str]], stdin: list[str] | None = None) -> dict:
    """Wall time (median, p99) and CPU time (median, user + system) of each command as a process."""
    walls, cpus = [], []
    for n, command in enumerate(commands):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        proc = subprocess.run(command, input=stdin[n] if stdin else None, capture_output=True, text=True, env=process_env())
        walls.append((time.perf_counter() - started) * 1000)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append((after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime) * 1000)
        assert proc.returncode == 0, proc.stderr
    return {"median_ms": round(statistics.median(walls), 1), "p99_ms": round(percentile(walls, 0.99), 1),
            "cpu_median_ms": round(statistics.median(cpus), 1), "runs": len(commands)}


def whole_process(url: str, users: int, n: int) -> dict:
    rng = random.Random(1)
    score = [sys.executable, "-m", "bunjang_lab.score", "recommend", "--cache", url, "--user"]
    timed_processes([score + ["u1"]])  # warm-up: writes the bytecode cache
    return timed_processes([score + [f"u{rng.randrange(1, users)}"] for _ in range(n)])


def in_process(url: str, users: int, readers: int, seconds: float) -> dict:
    """recommend() calls per second, each on a fresh snapshot, summed over ``readers`` threads,
    and per CPU second of this process (the machine is shared: a thread may wait for a core)."""
    counts = [0] * readers
    stop = threading.Event()

    def reader(slot: int) -> None:
        rng = random.Random(slot)
        with open_cache(url) as cache:
            while not stop.is_set():
                with cache.snapshot() as snap:
                    lookup.recommend(snap, f"u{rng.randrange(1, users)}", k=20)
                counts[slot] += 1

    threads = [threading.Thread(target=reader, args=(slot,)) for slot in range(readers)]
    cpu = time.process_time()
    for thread in threads:
        thread.start()
    time.sleep(seconds)
    stop.set()
    for thread in threads:
        thread.join()
    cpu = time.process_time() - cpu
    return {"per_s": round(sum(counts) / seconds), "per_cpu_s": round(sum(counts) / cpu) if cpu else None}


def redis_benchmark(clients: int, requests: int = 100_000) -> float:
    """GET requests per second of redis-benchmark (1 KB values) with ``clients`` connections."""
    out = subprocess.run(["redis-benchmark", "-h", "127.0.0.1", "-p", "6379", "--dbnum", "12", "-c", str(clients),
                          "-n", str(requests), "-r", "100000", "-d", "1000", "-t", "set,get", "--csv"],
                         capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        cells = [c.strip('"') for c in line.split(",")]
        if cells[0] == "GET":
            return round(float(cells[1]))
    raise RuntimeError(f"no GET line in redis-benchmark output: {out!r}")


def event_to_visible(url: str, users: int, n: int) -> dict:
    rng = random.Random(2)
    times = []
    with open_cache(url) as cache:
        for _ in range(n):
            user, item = f"u{rng.randrange(1, users)}", f"i{rng.randrange(0, 1000) * 2 + 1}"  # a bag
            started = time.perf_counter()
            apply_event(cache, {"type": "click", "user_id": user, "item_id": item})
            with cache.snapshot() as snap:
                feed = lookup.recommend(snap, user, k=20)
            times.append((time.perf_counter() - started) * 1000)
            assert feed["source"] == "personal"
    return {"median_ms": round(statistics.median(times), 2), "p99_ms": round(percentile(times, 0.99), 2), "events": n}


def event_process(url: str, n: int) -> dict:
    command = [sys.executable, "-m", "bunjang_lab.score", "event", "--json", "-", "--cache", url]
    events = [json.dumps({"type": "click", "user_id": f"u{k + 1}", "item_id": "i3"}) for k in range(n)]
    return timed_processes([command] * n, stdin=events)


def clear_redis() -> None:
    """Empty db 12 (the benchmark's own): the cache's keys and redis-benchmark's."""
    with open_cache(REDIS_URL) as cache:
        cache.command("FLUSHDB")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--users", type=int, default=100_000)
    ap.add_argument("--items", type=int, default=50_000)
    ap.add_argument("--processes", type=int, default=60, help="whole-process runs per backend")
    ap.add_argument("--seconds", type=float, default=3.0, help="duration of each in-process measurement")
    args = ap.parse_args()
    run = synthetic_run(args.users, args.items)
    results: dict = {"users": args.users, "items": args.items, "load_average": os.getloadavg()[0], "backends": {},
                     "bare_python": timed_processes([[sys.executable, "-c", "pass"]] * args.processes)}
    with tempfile.TemporaryDirectory() as tmp:
        backends = {"sqlite": f"sqlite:///{Path(tmp) / 'cache.sqlite'}", "redis": REDIS_URL}
        clear_redis()
        try:
            for name, url in backends.items():
                row = results["backends"][name] = {}
                cpu = time.process_time()
                published = publish_run(run, url, keep=1)
                row["publish_s"] = published["seconds"]
                row["publish_cpu_s"] = round(time.process_time() - cpu, 1)
                row["keys"] = sum(published["counts"].values())
                row["whole_process_recommend"] = whole_process(url, args.users, args.processes)
                row["lookups_per_s"] = {str(r): in_process(url, args.users, r, args.seconds) for r in READERS}
                row["event_to_visible"] = event_to_visible(url, args.users, 200)
                row["event_process"] = event_process(url, 20)
                print(json.dumps({name: row}), file=sys.stderr)
            results["redis_benchmark_get_per_s"] = {str(c): redis_benchmark(c) for c in READERS}
        finally:
            clear_redis()
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
