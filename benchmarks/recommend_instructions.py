"""Instructions per answer of the service's recommend, counted by valgrind (independent of the
machine's load, unlike CPU time on a shared machine).

    .venv/bin/python benchmarks/recommend_instructions.py build /tmp/ri-ads ads   # none | ads | calibrated
    for n in 0 600; do
        valgrind --tool=callgrind --callgrind-out-file=/dev/null \
            .venv/bin/python benchmarks/recommend_instructions.py run /tmp/ri-ads $n 2>&1 | grep Collected
    done

``build`` writes serve_load's world (``write_run``: 2,000 users, 1,000 items, dim 16) into a
SQLite cache in the folder (or the cache ``--cache URL`` names, e.g. a Redis database and
prefix: the service's own instructions, the server's are not counted), with serve_load's
30 campaigns (``ads``) and a published calibration (``calibrated``: pCTR from the FM vectors
per viewer). ``run`` answers 400 recommend questions (200 users in turn) to warm the memory
layer and the held auction, then ``n`` more: (Ir at n − Ir at 0) / n is the instructions of
one answer. ``count`` answers the same questions and prints, per answer after the warm-up,
the backend round trips (Redis) and the Python function calls (cProfile's count): figures
no machine load changes.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

WARM_UP = 400


def cache_url(folder: Path, url: str | None) -> str:
    return url or f"sqlite:///{folder / 'cache.sqlite'}"


def build(folder: Path, case: str, url: str) -> None:
    from serve_load import bench_campaigns

    from bunjang_lab.serving.ads import load_campaigns, publish_calibration
    from bunjang_lab.serving.backends import open_cache
    from bunjang_lab.serving.publish import publish_run
    from bunjang_lab.testing import write_run

    folder.mkdir(parents=True, exist_ok=True)
    publish_run(write_run(folder / "run", users=2000, items=1000, home_size=50, candidates=100, related=20, dim=16), url)
    if case != "none":
        with open_cache(url) as cache:
            load_campaigns(cache, bench_campaigns(30, 1000))
            if case == "calibrated":
                publish_calibration(cache, 1.0, -3.0)


def questions(first: int, last: int) -> list[dict]:
    return [{"user_id": f"u{k % 200}", "k": "20"} for k in range(first, last)]


def run(url: str, answers: int) -> None:
    from serving import answer_each

    from bunjang_lab.serving.service import Service, Settings

    service = Service(Settings(cache_url=url, rules_only=True, access_log=False))
    service.cache.refresh()
    answer_each(service.recommend(), questions(0, WARM_UP + answers))
    service.cache.close()


def count(url: str, answers: int) -> dict:
    import cProfile
    import pstats

    from bunjang_lab.serving.service import Service, Settings

    from serving import answer_each

    service = Service(Settings(cache_url=url, rules_only=True, access_log=False))
    service.cache.refresh()
    recommend = service.recommend()
    answer_each(recommend, questions(0, WARM_UP))
    trips = 0
    if service.cache.backend.remote:   # the blocking reads, and those awaited on the event loop
        from bunjang_lab.serving.redis_async import AsyncConnection
        from bunjang_lab.serving.redis_pool import PooledConnection

        pipeline, execute = PooledConnection.pipeline, AsyncConnection.execute

        def counted(conn, commands):
            nonlocal trips
            trips += 1
            return pipeline(conn, commands)

        def awaited(conn, *args):
            nonlocal trips
            trips += 1
            return execute(conn, *args)

        PooledConnection.pipeline, AsyncConnection.execute = counted, awaited
    profile = cProfile.Profile()
    profile.enable()
    answer_each(recommend, questions(WARM_UP, WARM_UP + answers))
    profile.disable()
    service.cache.close()
    calls = sum(stat[1] for stat in pstats.Stats(profile).stats.values())
    return {"round_trips_per_answer": round(trips / answers, 3), "calls_per_answer": round(calls / answers, 1)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="command", required=True)
    made = sub.add_parser("build", help="write the world and its cache")
    made.add_argument("folder", type=Path)
    made.add_argument("case", choices=["none", "ads", "calibrated"])
    ran = sub.add_parser("run", help="warm up, then answer n recommend questions")
    ran.add_argument("folder", type=Path)
    ran.add_argument("answers", type=int)
    counted = sub.add_parser("count", help="round trips and function calls per answer, after the warm-up")
    counted.add_argument("folder", type=Path)
    counted.add_argument("answers", type=int)
    for command in (made, ran, counted):
        command.add_argument("--cache", help="the cache's URL (default: cache.sqlite in the folder)")
    args = ap.parse_args()
    if args.command == "build":
        build(args.folder, args.case, cache_url(args.folder, args.cache))
    elif args.command == "count":
        print(json.dumps(count(cache_url(args.folder, args.cache), args.answers)))
    else:
        run(cache_url(args.folder, args.cache), args.answers)


if __name__ == "__main__":
    main()
