"""Ads in the feed's own answer: what they cost `score recommend` and the service's recommend.

    .venv/bin/python benchmarks/recommend_ads.py [--runs 15] [--calls 3000]
    .venv/bin/python benchmarks/recommend_ads.py --service-only 30 [--batches 12] [--calls 300] [--calibrated]
        [--cache redis://127.0.0.1:6379/14?prefix=bench-ads:] [--in-flight 16]

On a SQLite cache of the test run (``bunjang_lab.testing.write_run``), in a temporary folder:

* ``score recommend`` as a whole process (median over ``--runs``, CPU = user + system of the
  child): without campaigns, then with 3 live ones (the plain auction), beside ``python -c pass``;
* the service's recommend answer in process (``Service.recommend`` over its memory layer, no
  HTTP): CPU per answer, held feed bytes (no campaign) against the feed with its ads;
* ``serving.ads.ads_for`` in process, the plain auction against the held vectorised index,
  by number of live campaigns (where ``PLAIN_CAMPAIGNS`` comes from).

With ``--service-only N`` only the service's recommend, on a smaller serve_load world
(``write_run``, 2,000 users, 1,000 items, dim 16) without campaigns and then with serve_load's
N targeted campaigns: CPU per answer of ``--batches`` batches each, so two source trees run at
the same time give paired batches (``docs/benchmarks.md``). ``--cache`` puts that world in
another cache (a Redis database and prefix, cleared at the end) instead of a temporary SQLite
file; ``--in-flight`` answers that many questions at a time, awaited together, as a worker's
loop does with requests that arrive together.

Prints one JSON object. Wall times depend on the machine's load; CPU times less so.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from serving import answer_each, timed_processes  # noqa: E402

from bunjang_lab.serving.ads import ads_for  # noqa: E402
from bunjang_lab.serving.backends import open_cache  # noqa: E402
from bunjang_lab.serving.events import apply_event  # noqa: E402
from bunjang_lab.serving.publish import publish_run  # noqa: E402
from bunjang_lab.serving.service import Service, Settings  # noqa: E402
from bunjang_lab.testing import write_run  # noqa: E402

NOW = 1_795_000_000_000
USERS = [f"u{k}" for k in range(1, 5)]


def add_campaigns(url: str, first: int, last: int) -> None:
    with open_cache(url) as cache:
        for k in range(first, last):
            apply_event(cache, {"event_id": f"camp{k}", "type": "ad_campaign", "ts": NOW - 3_600_000,
                                "user_id": f"s{k}", "campaign_id": f"c{k:03d}",
                                "item_ids": [f"i{(3 * k + j) % 200}" for j in range(2)], "billing": "cpc",
                                "bid": 100 + 7 * k, "daily_budget": 100_000, "start_ms": 0})


def whole_process(url: str, runs: int) -> dict:
    score = [sys.executable, "-m", "bunjang_lab.score", "recommend", "--cache", url, "--k", "20", "--user"]
    timed_processes([score + ["u3"]])   # writes the bytecode
    return timed_processes([score + [USERS[k % len(USERS)]] for k in range(runs)])


def service_cpu_us(service: Service, calls: int) -> float:
    answer = service.recommend()
    answer_each(answer, [{"user_id": USERS[k % len(USERS)], "k": "20"} for k in range(200)])
    started = time.process_time()
    answer_each(answer, [{"user_id": USERS[k % len(USERS)], "k": "20"} for k in range(calls)])
    return round((time.process_time() - started) / calls * 1e6, 1)


def service_batches(campaigns: int, batches: int, calls: int, calibrated: bool = False, url: str | None = None,
                    in_flight: int = 1) -> dict:
    """CPU us per answer of the service's recommend, per batch of ``calls`` (200 users in turn,
    ``in_flight`` at a time); ``calibrated``: with a published calibration, so pCTR comes from
    the FM vectors per viewer; ``url``: the cache (default: a temporary SQLite file)."""
    from serve_load import bench_campaigns

    from bunjang_lab.serving.ads import load_campaigns, publish_calibration

    folder = Path(tempfile.mkdtemp(prefix="recommend_ads-"))
    url = url or f"sqlite:///{folder / 'cache.sqlite'}"
    publish_run(write_run(folder / "run", users=2000, items=1000, home_size=50, candidates=100, related=20, dim=16), url)
    service = Service(Settings(cache_url=url, rules_only=True, access_log=False))
    service.cache.start()
    answer, out = service.recommend(), {}

    def batch() -> float:
        questions = [{"user_id": f"u{k % 200}", "k": "20"} for k in range(calls)]
        started = time.process_time()
        answer_each(answer, questions, in_flight)
        return round((time.process_time() - started) / calls * 1e6, 1)

    for case in ("no campaign", f"{campaigns} campaigns"):
        if campaigns and case != "no campaign":
            with open_cache(url) as cache:
                load_campaigns(cache, bench_campaigns(campaigns, 1000))
                if calibrated:
                    publish_calibration(cache, 1.0, -3.0)
        batch()   # warm: memo, held answers and indexes
        out[case] = [batch() for _ in range(batches)]
    out["ads in the last answer"] = sum(e.get("ad", False) for e in json.loads(answer_each(answer, [{"user_id": "u7", "k": "20"}])[0])["items"])
    service.cache.close()
    if url.startswith("redis"):
        with open_cache(url) as cache:
            cache.clear()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=15, help="whole-process runs per case")
    ap.add_argument("--calls", type=int, default=3000, help="in-process answers per case (per batch with --service-only)")
    ap.add_argument("--service-only", type=int, metavar="N", help="only the service's recommend, with N campaigns")
    ap.add_argument("--batches", type=int, default=12, help="batches per case with --service-only")
    ap.add_argument("--calibrated", action="store_true",
                    help="with --service-only: publish a calibration, so pCTR comes from the vectors per viewer")
    ap.add_argument("--cache", help="with --service-only: the cache URL (a Redis one is cleared at the end)")
    ap.add_argument("--in-flight", type=int, default=1, help="with --service-only: answers awaited together")
    args = ap.parse_args()
    if args.service_only is not None:
        print(json.dumps(service_batches(args.service_only, args.batches, args.calls, args.calibrated, args.cache,
                                         args.in_flight)))
        return
    folder = Path(tempfile.mkdtemp(prefix="recommend_ads-"))
    url = f"sqlite:///{folder / 'cache.sqlite'}"
    publish_run(write_run(folder / "run", items=200), url)
    out: dict = {"python -c pass": timed_processes([[sys.executable, "-c", "pass"]] * args.runs)}
    out["score recommend, no campaign"] = whole_process(url, args.runs)
    service = Service(Settings(cache_url=url, rules_only=True, access_log=False))
    service.cache.start()
    held = service_cpu_us(service, args.calls)
    add_campaigns(url, 0, 3)
    out["score recommend, 3 campaigns"] = whole_process(url, args.runs)
    out["service recommend CPU us per answer"] = {"no campaign (held bytes)": held,
                                                  "3 campaigns (feed and ads)": service_cpu_us(service, args.calls)}
    service.cache.close()
    by_count, made = {}, 3
    with open_cache(url) as cache:
        for n in (4, 8, 16, 32, 128):
            add_campaigns(url, made, n)
            made, row = n, {}
            for plain in (True, False):
                ads_for(cache, "home", "u3", now_ms=NOW, plain=plain)
                started = time.process_time()
                for _ in range(args.calls // 10):
                    ads_for(cache, "home", "u3", now_ms=NOW, plain=plain)
                row["plain" if plain else "vectorised"] = round((time.process_time() - started) / (args.calls // 10) * 1e6)
            by_count[n] = row
    out["ads_for CPU us per call by live campaigns"] = by_count
    print(json.dumps(out))


if __name__ == "__main__":
    main()
