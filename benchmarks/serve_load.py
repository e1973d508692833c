"""The HTTP service under a bounded load on loopback, on both cache backends.

Starts ``python -m bunjang_lab.score serve`` over a synthetic run (``write_run``; cached in
benchmarks/.cache) and drives it from one asyncio process speaking HTTP/1.1 with
keep-alive over N connections for T seconds per measurement:

* each route at full speed (closed loop): requests/s and latency p50/p95/p99;
* recommend and text paced at a fixed rate (open loop, latency counted from each request's
  scheduled time, so a stall is not hidden): the latency the targets speak of;
* event to visible: a click POSTed to /api/v1/events until a GET /api/v1/recommend shows
  the re-ranked feed;
* a publish under load: recommend/popular/related paced while two runs of different
  seeds are published in turn; every answer is compared with what its own version answers
  (read afterwards from that version), counting errors and answers that mix versions;
* the same recommend lookups through the CLI, one process each.

    .venv/bin/python benchmarks/serve_load.py [--users 20000] [--items 10000] [--seconds 5]
        [--connections 32] [--workers 2] [--rates 500,2000] [--publish-rate 400] [--backends sqlite,redis]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from serving import percentile, process_env, synthetic_run, timed_processes  # noqa: E402  (benchmarks/serving.py)

from bunjang_lab.serving import queries  # noqa: E402
from bunjang_lab.serving.backends import open_cache  # noqa: E402
from bunjang_lab.serving.publish import publish_run  # noqa: E402

REDIS_URL = "redis://127.0.0.1:6379/12?prefix=bench-serve:"
PREFIXES = ["ㄴ", "나", "나이", "ㄴㅇㅋ", "노", "a", "아", "ㅅ"]
TEXTS = ["카.톡 ab1234 으로 연락 주세요", "네 내일 직거래 가능해요", "선입금 해주시면 바로 보내드립니다 계좌 110-123-456789",
         "나이키 덩크 로우 270 새상품 팝니다", "택포 3만원에 드려요 문자 주세요 공일공 일이삼사 오육칠팔"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Service:
    """The service as a process; :meth:`cpu_seconds` sums its workers' CPU time, the figure
    a busy shared machine does not distort (wall figures wait for a core)."""

    def __init__(self, url: str, workers: int, log: Path):
        self.port = free_port()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bunjang_lab.score", "serve", "--port", str(self.port), "--cache", url,
             "--workers", str(workers), "--rules-only"], stdout=subprocess.DEVNULL, stderr=log.open("wb"),
            env=process_env())
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=2) as response:
                    if response.status == 200:
                        return
            except OSError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the service did not start: {log.read_text()[-2000:]}")
            time.sleep(0.2)

    def cpu_seconds(self) -> float:
        import psutil

        parent = psutil.Process(self.proc.pid)
        total = 0.0
        for proc in [parent, *parent.children(recursive=True)]:
            try:
                times = proc.cpu_times()
                total += times.user + times.system
            except psutil.NoSuchProcess:
                pass
        return total

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=60)


# --- the load generator ---------------------------------------------------------------------

def request_bytes(method: str, path: str, body: bytes = b"") -> bytes:
    head = f"{method} {urllib.parse.quote(path, safe='/?=&')} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    if body:
        head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
    return head.encode() + b"\r\n" + body


async def exchange(reader, writer, data: bytes) -> tuple[int, bytes]:
    writer.write(data)
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n"):
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
    return status, await reader.readexactly(length)


async def drive(port: int, make_request, connections: int, seconds: float, rate: float | None, keep=None,
                busy=lambda: False) -> dict:
    """``connections`` keep-alive connections sending ``make_request(rng)`` for ``seconds``
    (and for as long as ``busy()`` then holds): closed loop without ``rate``, else each
    connection paced at rate/connections per second. ``keep(path, status, body)`` sees
    every answer."""
    latencies: list[float] = []
    errors = 0
    started = time.perf_counter()
    deadline = started + seconds

    async def connection(slot: int) -> None:
        nonlocal errors
        rng = random.Random(slot)
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        interval = connections / rate if rate else 0.0
        scheduled = started + rng.random() * interval
        try:
            while True:
                if rate:
                    delay = scheduled - time.perf_counter()
                    if delay > 0:
                        await asyncio.sleep(delay)
                    begun = scheduled
                    scheduled += interval
                else:
                    begun = time.perf_counter()
                if begun >= deadline and not busy():
                    return
                path, data = make_request(rng)
                status, body = await exchange(reader, writer, data)
                latencies.append(time.perf_counter() - begun)
                if status != 200:
                    errors += 1
                if keep is not None:
                    keep(path, status, body)
        finally:
            writer.close()

    await asyncio.gather(*(connection(slot) for slot in range(connections)))
    elapsed = time.perf_counter() - started
    ms = [x * 1000 for x in latencies]
    return {"requests": len(ms), "per_s": round(len(ms) / elapsed), "errors": errors,
            "p50_ms": round(percentile(ms, 0.50), 2), "p95_ms": round(percentile(ms, 0.95), 2),
            "p99_ms": round(percentile(ms, 0.99), 2)}


def routes(users: int, items: int) -> dict:
    def recommend(rng):
        path = f"/api/v1/recommend?user=u{rng.randrange(1, users)}&k=20"
        return path, request_bytes("GET", path)

    def popular(rng):
        path = rng.choice(["/api/v1/popular?k=20", "/api/v1/popular?gender=F&age_band=20s&k=20",
                           "/api/v1/popular?gender=M&k=20", "/api/v1/popular?age_band=30s&k=20"])
        return path, request_bytes("GET", path)

    def related(rng):
        path = f"/api/v1/related?item=i{rng.randrange(0, items)}&k=20"
        return path, request_bytes("GET", path)

    def suggest(rng):
        path = f"/api/v1/suggest?prefix={rng.choice(PREFIXES)}&user=u{rng.randrange(1, users)}"
        return path, request_bytes("GET", path)

    def text(rng):
        body = json.dumps({"text": rng.choice(TEXTS)}, ensure_ascii=False).encode()
        return "/api/v1/text", request_bytes("POST", "/api/v1/text", body)

    return {"recommend": recommend, "popular": popular, "related": related, "suggest": suggest, "text": text}


async def event_to_visible(port: int, users: int, n: int) -> dict:
    """A click POSTed, then recommend GETs until the feed changed; time from the POST."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    rng = random.Random(3)
    times, misses = [], 0
    for _ in range(n):
        user, item = f"u{rng.randrange(1, users)}", f"i{rng.randrange(0, 1000) * 2 + 1}"
        get = request_bytes("GET", f"/api/v1/recommend?user={user}&k=20")
        before = (await exchange(reader, writer, get))[1]
        started = time.perf_counter()
        body = json.dumps({"type": "click", "user_id": user, "item_id": item}).encode()
        status, answer = await exchange(reader, writer, request_bytes("POST", "/api/v1/events", body))
        assert status == 200, answer
        for _ in range(100):
            if (await exchange(reader, writer, get))[1] != before:
                times.append((time.perf_counter() - started) * 1000)
                break
        else:
            misses += 1  # the click did not change this feed's order
    writer.close()
    return {"median_ms": round(statistics.median(times), 2), "p99_ms": round(percentile(times, 0.99), 2),
            "events": len(times), "unchanged_feeds": misses}


def publish_under_load(port: int, url: str, runs: list[Path], users: int, items: int, connections: int,
                       seconds: float, rate: float) -> dict:
    """Paced lookups while ``runs`` are published in turn; every answer is checked against
    its own version."""
    make = routes(users, items)
    kinds = [make["recommend"], make["popular"], make["related"]]
    seen: dict[tuple[str, bytes], int] = {}

    def keep(path, status, body):
        if status == 200:
            seen[(path, body)] = seen.get((path, body), 0) + 1

    published: list[int] = []
    publish_seconds: list[float] = []

    def publisher():  # another process, as the publish DAG is: the load generator keeps its core
        time.sleep(seconds / 5)
        for run in runs:
            started = time.perf_counter()
            proc = subprocess.run([sys.executable, "-m", "bunjang_lab", "publish", str(run), "--cache", url,
                                   "--keep", str(len(runs) + 1)], capture_output=True, text=True, env=process_env())
            assert proc.returncode == 0, proc.stderr
            published.append(json.loads(proc.stdout)["version"])
            publish_seconds.append(round(time.perf_counter() - started, 1))
        time.sleep(1.0)  # answers after the last switch belong to the measurement too

    thread = threading.Thread(target=publisher)
    thread.start()
    result = asyncio.run(drive(port, lambda rng: rng.choice(kinds)(rng), connections, seconds, rate, keep,
                               busy=thread.is_alive))
    thread.join()
    mixed, versions = 0, set()
    with open_cache(url) as cache:
        for (path, body), count in seen.items():
            answer = json.loads(body)
            versions.add(answer["version"])
            name, _, query = path.removeprefix("/api/v1/").partition("?")
            params = {{"user": "user_id", "item": "item_id"}.get(k, k): v for k, v in urllib.parse.parse_qsl(query)}
            with cache.snapshot(answer["version"]) as snap:
                if queries.QUERIES[name](snap, params) != answer:
                    mixed += count
    return {**result, "published_versions": published, "publish_s": publish_seconds,
            "versions_answered": sorted(versions), "mixed_answers": mixed}


def cli_lookups(url: str, users: int, n: int) -> dict:
    rng = random.Random(1)
    score = [sys.executable, "-m", "bunjang_lab.score", "recommend", "--cache", url, "--user"]
    timed_processes([score + ["u1"]])  # warm-up: writes the bytecode cache
    return timed_processes([score + [f"u{rng.randrange(1, users)}"] for _ in range(n)])


def measure(name: str, url: str, args, run_a: Path, run_b: Path, log: Path) -> dict:
    publish_run(run_a, url, keep=3)
    service = Service(url, args.workers, log)
    row: dict = {}
    try:
        make = routes(args.users, args.items)

        def load(request, rate):
            cpu = service.cpu_seconds()
            result = asyncio.run(drive(service.port, request, args.connections, args.seconds, rate))
            return {**result, "per_service_cpu_s": round(result["requests"] / max(service.cpu_seconds() - cpu, 1e-9))}

        for route, request in make.items():
            row[f"{route} (closed loop)"] = load(request, None)
            print(name, route, row[f"{route} (closed loop)"], file=sys.stderr)
        for rate in args.rates:
            row[f"recommend at {rate:g}/s"] = load(make["recommend"], rate)
        row[f"text at {args.text_rate:g}/s"] = load(make["text"], args.text_rate)
        row["event to visible"] = asyncio.run(event_to_visible(service.port, args.users, 200))
        row[f"publish under load at {args.publish_rate:g}/s"] = publish_under_load(
            service.port, url, [run_b, run_a], args.users, args.items, args.connections, args.seconds, args.publish_rate)
        print(name, {k: row[k] for k in list(row)[-4:]}, file=sys.stderr)
    finally:
        service.stop()
    row["cli recommend (one process each)"] = cli_lookups(url, args.users, args.processes)
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--users", type=int, default=20_000)
    ap.add_argument("--items", type=int, default=10_000)
    ap.add_argument("--seconds", type=float, default=5.0, help="duration of each measurement")
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--rates", type=lambda text: [float(r) for r in text.split(",")], default=[500.0, 2000.0],
                    help="paced recommend requests per second, comma-separated")
    ap.add_argument("--publish-rate", type=float, default=400, help="paced lookups per second during the publishes")
    ap.add_argument("--text-rate", type=float, default=500, help="paced text requests per second")
    ap.add_argument("--processes", type=int, default=20, help="CLI processes per backend")
    ap.add_argument("--backends", default="sqlite,redis")
    args = ap.parse_args()
    run_a = synthetic_run(args.users, args.items)
    run_b = synthetic_run_seeded(args.users, args.items, seed=1)
    results = {"users": args.users, "items": args.items, "connections": args.connections, "workers": args.workers,
               "seconds": args.seconds, "cores": os.cpu_count(), "load_average_before": os.getloadavg()[0], "backends": {}}
    with tempfile.TemporaryDirectory() as tmp:
        urls = {"sqlite": f"sqlite:///{Path(tmp) / 'cache.sqlite'}", "redis": REDIS_URL}
        for name in args.backends.split(","):
            try:
                results["backends"][name] = measure(name, urls[name], args, run_a, run_b, Path(tmp) / f"{name}.log")
            finally:
                if name == "redis":
                    with open_cache(REDIS_URL) as cache:
                        cache.clear()
    results["load_average_after"] = os.getloadavg()[0]
    print(json.dumps(results, indent=2, ensure_ascii=False))


def synthetic_run_seeded(users: int, items: int, seed: int) -> Path:
    """A second run with other feeds and lists, so answers of two versions differ."""
    from serving import CACHE_DIR

    from bunjang_lab.testing import write_run

    run = CACHE_DIR / f"serving-run-{users}u-{items}i-seed{seed}"
    if not (run / "run.json").exists():
        write_run(run, users=users, items=items, home_size=50, candidates=100, related=20, dim=16, seed=seed)
    return run


if __name__ == "__main__":
    main()
