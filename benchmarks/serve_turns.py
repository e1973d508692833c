"""The service's recommend with live campaigns, two source trees taking turns (paired figures).

    .venv/bin/python benchmarks/serve_turns.py BASE_SRC [NEW_SRC] [--pairs 5] [--rate R] [--seconds 6]
        [--warm 4] [--campaigns 30] [--cache redis://127.0.0.1:6379/12?prefix=bench-turns: | sqlite]

``BASE_SRC`` is the ``src`` of an earlier tree (``git archive <commit> | tar -x -C DIR``), ``NEW_SRC``
this tree's by default. One world (serve_load's: ``write_run``, 20,000 users, 10,000 items, and its
targeted campaigns) is published once; each turn starts ``score serve`` of one tree over it (2
workers), drives recommend closed loop for ``--warm`` seconds, then measures ``--seconds`` closed
loop (or paced at ``--rate``) over 32 connections: answers/s, p50/p99, and the CPU per answer of
the service and of redis-server. The trees take turns A B B A ..., and the last lines are the
paired differences new − base with bootstrap 95% intervals (``bunjang_lab.intervals``).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import serve_load  # noqa: E402
from serving import synthetic_run  # noqa: E402

from bunjang_lab.intervals import paired_bootstrap  # noqa: E402
from bunjang_lab.serving.ads import load_campaigns  # noqa: E402
from bunjang_lab.serving.backends import open_cache  # noqa: E402
from bunjang_lab.serving.publish import publish_run  # noqa: E402

USERS, ITEMS = 20_000, 10_000


def turn(src: Path, url: str, args) -> dict:
    """One tree's service over the published world: warm-up, then the measured load."""
    service = serve_load.Service(url, 2, Path(tempfile.mkdtemp(prefix="serve_turns-")) / "serve.log",
                                 rules_only=True, src=src)
    servers = serve_load.redis_servers() if url.startswith("redis") else []
    recommend = serve_load.routes(USERS, ITEMS)["recommend"]
    try:
        serve_load.run_loop(serve_load.drive(service.port, recommend, 32, args.warm, None))
        cpu, redis_cpu = service.cpu_seconds(), serve_load.processes_cpu_seconds(servers)
        result = serve_load.run_loop(serve_load.drive(service.port, recommend, 32, args.seconds, args.rate or None))
        answers = max(result["requests"], 1)
        result["service_us_per_answer"] = round((service.cpu_seconds() - cpu) / answers * 1e6)
        result["redis_server_us_per_answer"] = round((serve_load.processes_cpu_seconds(servers) - redis_cpu) / answers * 1e6)
    finally:
        service.stop()
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("base", type=Path, help="the src folder of the earlier tree")
    ap.add_argument("new", type=Path, nargs="?", default=Path(__file__).resolve().parents[1] / "src")
    ap.add_argument("--pairs", type=int, default=5)
    ap.add_argument("--rate", type=float, default=0, help="paced recommend requests per second (0: closed loop)")
    ap.add_argument("--seconds", type=float, default=6)
    ap.add_argument("--warm", type=float, default=4, help="closed-loop seconds before each measurement")
    ap.add_argument("--campaigns", type=int, default=30)
    ap.add_argument("--cache", default="redis://127.0.0.1:6379/12?prefix=bench-turns:",
                    help="the cache URL (a Redis one is cleared at the end), or sqlite for a temporary file")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'cache.sqlite'}" if args.cache == "sqlite" else args.cache
        publish_run(synthetic_run(USERS, ITEMS), url, keep=3)
        with open_cache(url) as cache:
            load_campaigns(cache, serve_load.bench_campaigns(args.campaigns, ITEMS))
        turns: dict[str, list[dict]] = {"base": [], "new": []}
        try:
            for pair in range(args.pairs):
                for name in (("base", "new") if pair % 2 == 0 else ("new", "base")):
                    result = turn(getattr(args, name).resolve(), url, args)
                    turns[name].append(result)
                    print(json.dumps({"tree": name, **result}), flush=True)
        finally:
            if url.startswith("redis"):
                with open_cache(url) as cache:
                    cache.clear()
    for figure in ("per_s", "service_us_per_answer", "redis_server_us_per_answer", "p99_ms"):
        new, base = [t[figure] for t in turns["new"]], [t[figure] for t in turns["base"]]
        print(json.dumps({"new - base": figure, **paired_bootstrap(new, base)}))
    ratio = paired_bootstrap([math.log(t["per_s"]) for t in turns["new"]], [math.log(t["per_s"]) for t in turns["base"]])
    print(json.dumps({"new / base": "per_s", **{k: round(math.exp(v), 3) for k, v in ratio.items()}}))


if __name__ == "__main__":
    main()
