"""The HTTP service under a bounded load on loopback, on both cache backends.

Starts ``python -m bunjang_lab.score serve`` over a synthetic run (``write_run``; cached in
benchmarks/.cache) and drives it from this process (uvloop, one small protocol per
keep-alive connection, requests built before the clock starts, so the generator takes as
little of the shared cores as it can) over N connections for T seconds per measurement:

* each route at full speed (closed loop): requests/s and latency p50/p95/p99;
* recommend and text paced at a fixed rate (open loop, latency counted from each request's
  scheduled time, so a stall is not hidden): the latency the targets speak of;
* event to visible: a click POSTed to /api/v1/events until a GET /api/v1/recommend shows
  the re-ranked feed;
* a publish under load: recommend/popular/related paced while two runs of different
  seeds are published in turn (each by its own process, as the DAG's); every answer is
  compared with what its own version answers (read afterwards from that version),
  counting errors and answers that mix versions;
* the same recommend lookups through the CLI, one process each;
* the app alone, called in this process without sockets: its CPU per request per route;
* what each Redis client costs (the CLI's standard-library RESP client, the service's
  redis-py): importing it in a new process, and one call.

Every load also reports the CPU time the service's processes and the generator spent per
request (the figures a busy shared machine distorts least), and the run ends with each of
issue 23's targets, met or not, per backend. About four minutes with the defaults:

    .venv/bin/python benchmarks/serve_load.py [--users 20000] [--items 10000] [--seconds 5]
        [--connections 32] [--workers 2] [--rates 500,2100] [--text-rate 500] [--publish-rate 400]
        [--backends sqlite,redis] [--redis-url URL] [--rules-only] [--campaigns 30]

Like production, the cache holds live ad campaigns (``--campaigns``, 0 for none; targeted
by category, gender and age, cpc and cpm, budgets the run cannot spend), so recommend's
answers carry the auction's ads; the run checks they do before measuring.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import random
import resource
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
from contextlib import contextmanager
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


def processes_cpu_seconds(processes) -> float:
    """User and system CPU time of psutil ``processes`` so far (those gone count nothing)."""
    import psutil

    total = 0.0
    for proc in processes:
        try:
            times = proc.cpu_times()
            total += times.user + times.system
        except psutil.NoSuchProcess:
            pass
    return total


def redis_servers() -> list:
    """The redis-server processes of this machine (their CPU is the Redis backend's share;
    other users of the same server add to it)."""
    import psutil

    return [proc for proc in psutil.process_iter(["name"]) if proc.info["name"] == "redis-server"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Service:
    """The service as a process (the package from ``src``, default this tree's); :meth:`cpu_seconds`
    sums its workers' CPU time, the figure a busy shared machine does not distort (wall figures
    wait for a core)."""

    def __init__(self, url: str, workers: int, log: Path, rules_only: bool = False, src: Path | None = None):
        self.port = free_port()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bunjang_lab.score", "serve", "--port", str(self.port), "--cache", url,
             "--workers", str(workers), *(["--rules-only"] if rules_only else [])], stdout=subprocess.DEVNULL,
            stderr=log.open("wb"), env=process_env(src))
        deadline, pids = time.monotonic() + 60, set()
        while True:  # until every worker answers (each new connection goes to any of them)
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=2) as response:
                    if response.status == 200:
                        self.health = json.loads(response.read())
                        pids.add(self.health["pid"])
                        if len(pids) == workers:
                            return
            except OSError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the service did not start: {log.read_text()[-2000:]}")
            time.sleep(0.2)

    def cpu_seconds(self) -> float:
        import psutil

        parent = psutil.Process(self.proc.pid)
        return processes_cpu_seconds([parent, *parent.children(recursive=True)])

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=60)


# --- the load generator ---------------------------------------------------------------------
# One asyncio process on uvloop; each connection is a Protocol that parses just the status and
# Content-Length of the answers to requests built before the clock starts, so the generator
# costs the shared cores as little as it can in Python.

def request_bytes(method: str, path: str, body: bytes = b"") -> bytes:
    head = f"{method} {urllib.parse.quote(path, safe='/?=&')} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    if body:
        head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
    return head.encode() + b"\r\n" + body


class Client(asyncio.Protocol):
    """One keep-alive HTTP/1.1 connection: :meth:`exchange` sends a request and waits for its answer."""

    def __init__(self):
        self.buffer = bytearray()
        self.answer: asyncio.Future | None = None
        self.transport = None

    @classmethod
    async def connect(cls, port: int) -> "Client":
        _, client = await asyncio.get_running_loop().create_connection(cls, "127.0.0.1", port)
        return client

    def connection_made(self, transport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        buffer = self.buffer
        buffer += data
        end = buffer.find(b"\r\n\r\n")
        if end < 0:
            return
        at = buffer.find(b"content-length:", 0, end)
        length = int(buffer[at + 15:buffer.find(b"\r\n", at)]) if at >= 0 else 0
        if len(buffer) >= end + 4 + length:
            status, body = int(buffer[9:12]), bytes(buffer[end + 4:end + 4 + length])
            del buffer[:end + 4 + length]
            self.answer.set_result((status, body))

    def connection_lost(self, exc) -> None:
        if self.answer is not None and not self.answer.done():
            self.answer.set_exception(ConnectionError(f"the service closed the connection: {exc}"))

    async def exchange(self, data: bytes) -> tuple[int, bytes]:
        self.answer = asyncio.get_running_loop().create_future()
        self.transport.write(data)
        return await self.answer

    def close(self) -> None:
        self.transport.close()


def run_loop(coroutine):
    """``asyncio.run`` on uvloop (the cheaper loop, as the service's)."""
    import uvloop

    return uvloop.run(coroutine)

PLANNED_PER_CONNECTION = 500
"""Requests built per connection before the clock starts (then sent in turn, again and again)."""


@contextmanager
def heap_frozen():
    """This process's heap (pyarrow, the service's code, the runs) frozen while it measures:
    a full collection of it took 160 ms here, a stall every answer in flight is charged with."""
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def cpu_seconds() -> float:
    """CPU time of this process (the load generator) so far."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def drive(port: int, make_request, connections: int, seconds: float, rate: float | None, keep=None,
                busy=lambda: False) -> dict:
    """``connections`` keep-alive connections sending requests of ``make_request(rng)`` (built
    beforehand) for ``seconds`` (and for as long as ``busy()`` then holds): closed loop
    without ``rate``, else each connection paced at rate/connections per second, latency
    counted from each request's scheduled time. ``keep(path, status, body)`` sees every answer."""
    plans = []
    for slot in range(connections):
        rng = random.Random(slot)
        plans.append([make_request(rng) for _ in range(PLANNED_PER_CONNECTION)])
    clients = [await Client.connect(port) for _ in range(connections)]
    latencies: list[float] = []
    errors = 0
    started = deadline = 0.0  # set when the clock starts

    async def connection(client: Client, plan: list, offset: float) -> None:
        nonlocal errors
        interval = connections / rate if rate else 0.0
        scheduled = started + offset * interval
        clock, sleep, record = time.perf_counter, asyncio.sleep, latencies.append
        n = 0
        while True:
            if rate:
                delay = scheduled - clock()
                if delay > 0:
                    await sleep(delay)
                begun = scheduled
                scheduled += interval
            else:
                begun = clock()
            if begun >= deadline and not busy():
                return
            path, data = plan[n % PLANNED_PER_CONNECTION]
            n += 1
            status, body = await client.exchange(data)
            record(clock() - begun)
            if status != 200:
                errors += 1
            if keep is not None:
                keep(path, status, body)

    try:
        with heap_frozen():
            cpu = cpu_seconds()
            started = time.perf_counter()
            deadline = started + seconds
            await asyncio.gather(*(connection(c, plan, slot / connections) for slot, (c, plan) in enumerate(zip(clients, plans))))
    finally:
        for client in clients:
            client.close()
    elapsed = time.perf_counter() - started
    ms = [x * 1000 for x in latencies]
    return {"requests": len(ms), "per_s": round(len(ms) / elapsed), "errors": errors,
            "p50_ms": round(percentile(ms, 0.50), 2), "p95_ms": round(percentile(ms, 0.95), 2),
            "p99_ms": round(percentile(ms, 0.99), 2),
            "generator_us_per_request": round((cpu_seconds() - cpu) / max(len(ms), 1) * 1e6)}


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
    client = await Client.connect(port)
    rng = random.Random(3)
    times, misses = [], 0
    with heap_frozen():
        for _ in range(n):
            user, item = f"u{rng.randrange(1, users)}", f"i{rng.randrange(0, 1000) * 2 + 1}"
            get = request_bytes("GET", f"/api/v1/recommend?user={user}&k=20")
            post = request_bytes("POST", "/api/v1/events", json.dumps({"type": "click", "user_id": user, "item_id": item}).encode())
            before = (await client.exchange(get))[1]
            started = time.perf_counter()
            status, answer = await client.exchange(post)
            assert status == 200, answer
            for _ in range(100):
                if (await client.exchange(get))[1] != before:
                    times.append((time.perf_counter() - started) * 1000)
                    break
            else:
                misses += 1  # the click did not change this feed's order
    client.close()
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
                                   "--keep", str(len(runs) + 1), "--json"], capture_output=True, text=True, env=process_env())
            assert proc.returncode == 0, proc.stderr
            published.append(json.loads(proc.stdout)["version"])
            publish_seconds.append(round(time.perf_counter() - started, 1))
        time.sleep(1.0)  # answers after the last switch belong to the measurement too

    thread = threading.Thread(target=publisher)
    thread.start()
    result = run_loop(drive(port, lambda rng: rng.choice(kinds)(rng), connections, seconds, rate, keep,
                               busy=thread.is_alive))
    thread.join()
    from bunjang_lab.serving.ads import recommend_answer

    expected = {**queries.QUERIES, "recommend": lambda snap, params: recommend_answer(cache, snap, params)}  # with its ads
    mixed, versions = 0, set()
    with open_cache(url) as cache:
        for (path, body), count in seen.items():
            answer = json.loads(body)
            versions.add(answer["version"])
            name, _, query = path.removeprefix("/api/v1/").partition("?")
            params = {{"user": "user_id", "item": "item_id"}.get(k, k): v for k, v in urllib.parse.parse_qsl(query)}
            with cache.snapshot(answer["version"]) as snap:
                if expected[name](snap, params) != answer:
                    mixed += count
    return {**result, "published_versions": published, "publish_s": publish_seconds,
            "versions_answered": sorted(versions), "mixed_answers": mixed}


def cli_lookups(url: str, users: int, n: int) -> dict:
    rng = random.Random(1)
    score = [sys.executable, "-m", "bunjang_lab.score", "recommend", "--cache", url, "--user"]
    timed_processes([score + ["u1"]])  # warm-up: writes the bytecode cache
    return timed_processes([score + [f"u{rng.randrange(1, users)}"] for _ in range(n)])


def bench_campaigns(count: int, items: int) -> list:
    """``count`` live campaigns of two listings each, their targeting varied (all, a category,
    a gender, an age band), cpc or cpm, bids spread so the auction has an order to find."""
    from bunjang_lab.ads.campaigns import Campaign

    rng = random.Random(26)
    targeting = [{}, {"categories": ("shoes",)}, {"categories": ("bags",)}, {"genders": ("F",)},
                 {"genders": ("M",)}, {"age_bands": ("20s", "30s")}]
    return [Campaign(campaign_id=f"bench{k:03d}", seller_id=f"seller{k}", item_ids=tuple(f"i{rng.randrange(items)}" for _ in range(2)),
                     billing="cpm" if k % 4 == 3 else "cpc", bid=rng.randrange(80, 600) * (10 if k % 4 == 3 else 1),
                     daily_budget=10**9, start_ms=0, **targeting[k % len(targeting)])
            for k in range(count)]


def check_ads(url: str, users: int) -> int:
    """Ad entries in ten users' recommend answers (through the command's function); fails with none."""
    from bunjang_lab.serving.ads import recommend_answer

    with open_cache(url) as cache, cache.snapshot() as snap:
        found = sum(entry.get("ad", False) for u in range(1, 11)
                    for entry in recommend_answer(cache, snap, {"user_id": f"u{u % users}", "k": "20"})["items"])
    if not found:
        raise SystemExit("the live campaigns put no ad in the recommend answers")
    return found


def measure(name: str, url: str, args, run_a: Path, run_b: Path, log: Path) -> dict:
    publish_run(run_a, url, keep=3)
    ads_in_ten_answers = 0
    if args.campaigns:
        from bunjang_lab.serving.ads import load_campaigns

        with open_cache(url) as cache:
            load_campaigns(cache, bench_campaigns(args.campaigns, args.items))
        ads_in_ten_answers = check_ads(url, args.users)
    in_process = app_in_process(url, args.users, args.items, args.rules_only)
    print(name, "app in process", in_process, file=sys.stderr)
    service = Service(url, args.workers, log, args.rules_only)
    row: dict = {"text model": service.health["models"]["text"], "live campaigns": args.campaigns,
                 "ads in ten recommend answers": ads_in_ten_answers, "app in process (no sockets)": in_process}
    try:
        make = routes(args.users, args.items)

        servers = redis_servers() if name == "redis" else []

        def load(label, request, rate):
            cpu, redis_cpu = service.cpu_seconds(), processes_cpu_seconds(servers)
            result = run_loop(drive(service.port, request, args.connections, args.seconds, rate))
            used, requests = service.cpu_seconds() - cpu, max(result["requests"], 1)
            row[label] = {**result, "service_us_per_request": round(used / requests * 1e6)}
            if servers:
                row[label]["redis_server_us_per_request"] = round((processes_cpu_seconds(servers) - redis_cpu) / requests * 1e6)
            print(name, label, row[label], file=sys.stderr)

        for route, request in make.items():
            load(f"{route} (closed loop)", request, None)
        for rate in args.rates:
            load(f"recommend at {rate:g}/s", make["recommend"], rate)
        load(f"text at {args.text_rate:g}/s", make["text"], args.text_rate)
        row["event to visible"] = run_loop(event_to_visible(service.port, args.users, 200))
        row[f"publish under load at {args.publish_rate:g}/s"] = publish_under_load(
            service.port, url, [run_b, run_a], args.users, args.items, args.connections, args.seconds, args.publish_rate)
        print(name, {k: row[k] for k in list(row)[-2:]}, file=sys.stderr)
    finally:
        service.stop()
    row["cli recommend (one process each)"] = cli_lookups(url, args.users, args.processes)
    return row


def app_in_process(url: str, users: int, items: int, rules_only: bool, n: int = 5000) -> dict:
    """CPU per request of the app alone: the ASGI app called in this process (no sockets, no
    uvicorn, the access log written to nowhere), each route's requests twice, the second
    time measured (held answers and memo warm, as in a running service)."""
    import io

    from bunjang_lab.serving.service import Settings, create_app

    async def run() -> dict:
        started = asyncio.Event()
        lifespan_messages = asyncio.Queue()
        await lifespan_messages.put({"type": "lifespan.startup"})

        async def lifespan_send(message):
            if message["type"] == "lifespan.startup.complete":
                started.set()

        life = asyncio.create_task(app({"type": "lifespan", "asgi": {"version": "3.0"}}, lifespan_messages.get, lifespan_send))
        await started.wait()
        results = {}
        for route, make in routes(users, items).items():
            rng = random.Random(7)
            requests = [make(rng)[1] for _ in range(n)]
            scopes = []
            for data in requests:
                head, _, body = data.partition(b"\r\n\r\n")
                method, target = head.split(b" ")[:2]
                path, _, query = urllib.parse.unquote_to_bytes(target).partition(b"?")
                scopes.append(({"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method.decode(),
                                "scheme": "http", "path": path.decode(), "raw_path": path, "query_string": query,
                                "root_path": "", "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80),
                                "headers": [(b"content-length", str(len(body)).encode())]}, body))
            statuses = []

            async def send(message):
                if message["type"] == "http.response.start":
                    statuses.append(message["status"])

            for measured in (False, True):
                statuses.clear()
                cpu = cpu_seconds()
                for scope, body in scopes:
                    async def receive(body=body):
                        return {"type": "http.request", "body": body, "more_body": False}

                    await app(scope, receive, send)
                if measured:
                    results[route] = {"app_us_per_request": round((cpu_seconds() - cpu) / n * 1e6, 1),
                                      "errors": sum(status != 200 for status in statuses)}
        await lifespan_messages.put({"type": "lifespan.shutdown"})
        await life
        return results

    stderr, sys.stderr = sys.stderr, io.StringIO()  # the access log's stream (create_app takes it) and error lines
    try:
        app = create_app(Settings(url, rules_only=rules_only))
        return run_loop(run())
    finally:
        sys.stderr = stderr


def redis_clients(url: str, calls: int = 5000, processes: int = 5) -> dict:
    """What each Redis client costs: importing it in a new process (CPU median, beside
    ``python -c pass``) and one call (CPU per MGET of 24 absent keys and per GET)."""
    from bunjang_lab.serving.redis_pool import PooledConnection, connection_pool
    from bunjang_lab.serving.resp import Connection

    def import_cpu_ms(module: str) -> float:
        return timed_processes([[sys.executable, "-c", f"import {module}"] for _ in range(processes)])["cpu_median_ms"]

    server = url.partition("?")[0]
    keys = [f"bench-serve-absent:gone:i{i}" for i in range(24)]
    result = {"python -c pass: import CPU ms": import_cpu_ms("sys")}
    for name, module, conn in [("stdlib RESP (bunjang_lab.serving.resp)", "bunjang_lab.serving.resp", Connection(server)),
                               ("redis-py pool + hiredis", "redis", PooledConnection(connection_pool(server)))]:
        result[f"{name}: import CPU ms"] = import_cpu_ms(module)
        for label, command in [("MGET of 24 keys", ("MGET", *keys)), ("GET", ("GET", keys[0]))]:
            for _ in range(calls // 10):
                conn.execute(*command)
            cpu = cpu_seconds()
            for _ in range(calls):
                conn.execute(*command)
            result[f"{name}: {label} CPU us"] = round((cpu_seconds() - cpu) / calls * 1e6, 1)
        conn.close()
    return result


def targets(row: dict, args) -> list[tuple[str, str, bool]]:
    """(target, measured, met) of each of issue 23's targets on one backend's figures."""
    rate = max(args.rates)
    paced, text = row[f"recommend at {rate:g}/s"], row[f"text at {args.text_rate:g}/s"]
    visible, publish = row["event to visible"], row[f"publish under load at {args.publish_rate:g}/s"]
    return [
        (f"recommend >= 2,000 req/s with p99 <= 10 ms at {args.connections} connections (paced at {rate:g}/s)",
         f"{paced['per_s']:,} req/s, p99 {paced['p99_ms']} ms, {paced['errors']} errors",
         paced["per_s"] >= 2000 and paced["p99_ms"] <= 10 and paced["errors"] == 0),
        (f"text p99 <= 10 ms (paced at {args.text_rate:g}/s, {row['text model']})", f"p99 {text['p99_ms']} ms, {text['errors']} errors",
         text["p99_ms"] <= 10 and text["errors"] == 0),
        ("an event visible to the next request <= 10 ms (p99)",
         f"median {visible['median_ms']} ms, p99 {visible['p99_ms']} ms", visible["p99_ms"] <= 10),
        ("a publish under load: zero errors, zero mixed answers",
         f"{publish['errors']} errors, {publish['mixed_answers']} mixed of {publish['requests']:,} answers, "
         f"versions {publish['versions_answered']}",
         publish["errors"] == 0 and publish["mixed_answers"] == 0 and len(publish["versions_answered"]) > 1),
    ]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--users", type=int, default=20_000)
    ap.add_argument("--items", type=int, default=10_000)
    ap.add_argument("--seconds", type=float, default=5.0, help="duration of each measurement")
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--rates", type=lambda text: [float(r) for r in text.split(",")], default=[500.0, 2100.0],
                    help="paced recommend requests per second, comma-separated (the highest is held to the target)")
    ap.add_argument("--publish-rate", type=float, default=400, help="paced lookups per second during the publishes")
    ap.add_argument("--text-rate", type=float, default=500, help="paced text requests per second")
    ap.add_argument("--processes", type=int, default=20, help="CLI processes per backend")
    ap.add_argument("--backends", default="sqlite,redis")
    ap.add_argument("--redis-url", default=REDIS_URL,
                    help=f"Redis database and key prefix of the run (cleared at the end; default {REDIS_URL})")
    ap.add_argument("--rules-only", action="store_true", help="score texts with the rules alone (default: the installed model)")
    ap.add_argument("--campaigns", type=int, default=30, help="live ad campaigns in the cache (0: none, no ads in the answers)")
    args = ap.parse_args()
    run_a = synthetic_run(args.users, args.items)
    run_b = synthetic_run_seeded(args.users, args.items, seed=1)
    results = {"users": args.users, "items": args.items, "connections": args.connections, "workers": args.workers,
               "seconds": args.seconds, "cores": os.cpu_count(), "load_average_before": os.getloadavg()[0], "backends": {}}
    with tempfile.TemporaryDirectory() as tmp:
        urls = {"sqlite": f"sqlite:///{Path(tmp) / 'cache.sqlite'}", "redis": args.redis_url}
        for name in args.backends.split(","):
            try:
                results["backends"][name] = measure(name, urls[name], args, run_a, run_b, Path(tmp) / f"{name}.log")
            finally:
                if name == "redis":
                    with open_cache(args.redis_url) as cache:
                        cache.clear()
    if "redis" in args.backends.split(","):
        results["redis clients"] = redis_clients(args.redis_url)
    results["load_average_after"] = os.getloadavg()[0]
    print(json.dumps(results, indent=2, ensure_ascii=False))
    print(f"\nissue 23 targets (load average {results['load_average_before']:.1f} before, "
          f"{results['load_average_after']:.1f} after; {os.cpu_count()} cores shared with the load generator):")
    for name, row in results["backends"].items():
        for target, measured, met in targets(row, args):
            print(f"  {name:6}  {'MET    ' if met else 'NOT MET'}  {target}: {measured}")


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
