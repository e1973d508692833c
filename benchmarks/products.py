"""Time to compute the four products for 10,000 users and 50,000 live listings.

Generates a synthetic marketplace of that size (``bunjang_lab.testing.market_events``), writes a
stand-in FM with the real feature map and format (random parameters: the scoring cost is
the same as a trained model's), then runs exactly what ``recommend`` runs after reading the
lake — snapshot, FM ranker, the four products, vector export, Parquet writes — and prints
the seconds per product. Target: under 120 s in total.

With ``--evaluate LAKE`` it instead prints the product quality on the lake's time split
(``bunjang_lab.products.evaluation``: home feed vs raw FM and segment popularity, related
items vs same-category popularity — each test day against a batch run at its start —,
suggestions vs plain prefix-by-popularity), the figures
recorded in docs/benchmarks.md. ``--knobs`` adds the cost of the home feed's knobs
(``products.feed.FeedKnobs``: category cap, freshness weight) on NDCG@10, beside the
category diversity and median listing age they buy.

With ``--yoochoose`` it judges related items on real sessions: YooChoose-100k
(``../shared/datasets/yoochoose_100k``, read where it lies): related items built from the
training days (each session a user, each item a listing without title, category or price:
the log has none), then for every click of a test session, is the next different item the
session opened (within 30 minutes) among the 10 related items of the clicked one? Only
pairs of items seen in training count. The baseline is same-category popularity, which on
a log without categories is the overall popular list.

    .venv/bin/python benchmarks/products.py [--users 10000] [--listings 61000]
    .venv/bin/python benchmarks/products.py --evaluate var/lake [--test-days 3] [--knobs]
    .venv/bin/python benchmarks/products.py --yoochoose
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from bunjang_lab.marketplace.state import snapshot
from bunjang_lab.products.recommend import build_products, write_products
from bunjang_lab.products.feed_ranker import load_feed_ranker
from bunjang_lab.ranking.features import recent_states
from bunjang_lab.testing import market_events, write_random_model


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--users", type=int, default=10_000)
    p.add_argument("--listings", type=int, default=62_000, help="all listings; about 5/6 stay live (50,000+)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--evaluate", metavar="LAKE", help="print product quality on this lake's time split instead")
    p.add_argument("--test-days", type=float, default=3.0)
    p.add_argument("--yoochoose", action="store_true", help="related items on YooChoose-100k's real sessions instead")
    p.add_argument("--knobs", action="store_true", help="with --evaluate: also the home feed knobs' cost on NDCG@10")
    args = p.parse_args()
    if args.evaluate:
        return evaluate(args.evaluate, args.test_days, args.knobs)
    if args.yoochoose:
        return evaluate_yoochoose()

    start = time.perf_counter()
    events = market_events(args.users, args.listings, seed=args.seed)
    print(f"generated {len(events):,} events in {time.perf_counter() - start:.1f} s (not timed below)")
    with tempfile.TemporaryDirectory() as tmp:
        model = write_random_model(events, Path(tmp) / "model")
        timings = {}
        t0 = time.perf_counter()
        snap = snapshot(events)
        timings["snapshot"] = time.perf_counter() - t0
        t = time.perf_counter()
        states = recent_states(snap.interactions)
        timings["users"] = time.perf_counter() - t
        t = time.perf_counter()
        ranker = load_feed_ranker(model, snap, recent=states)
        timings["load model"] = time.perf_counter() - t
        tables, product_seconds = build_products(snap, ranker, states=states)
        timings.update(product_seconds)
        t = time.perf_counter()
        tables["vectors"] = ranker.export(Path(tmp) / "vectors", tables["users"]["user_id"], snap.live["item_id"])
        timings["vectors"] = time.perf_counter() - t
        t = time.perf_counter()
        write_products(tables, Path(tmp) / "run")
        timings["write"] = time.perf_counter() - t
        timings["total"] = time.perf_counter() - t0
    live = int(snap.listings["live"].sum())
    print(f"users with events: {len(snap.users):,}  live listings: {live:,}  "
          f"interactions: {len(snap.interactions):,}  searches: {len(snap.searches):,}")
    print("rows: " + ", ".join(f"{n}={len(tables[n]):,}" for n in ("home", "candidates", "popular", "related", "suggest", "users")))
    width = max(map(len, timings))
    for name, seconds in timings.items():
        print(f"  {name:<{width}}  {seconds:7.2f} s")
    print(json.dumps({"users": len(snap.users), "live_listings": live, "seconds": {k: round(v, 2) for k, v in timings.items()},
                      "target_seconds": 120, "ok": timings["total"] < 120}))


def evaluate(lake: str, test_days: float, knobs: bool = False) -> None:
    from bunjang_lab.lake import read_events
    from bunjang_lab.products.evaluation import evaluate_products
    from bunjang_lab.ranking.split import time_split

    split = time_split(read_events(lake), test_days=test_days)
    start = time.perf_counter()
    result = evaluate_products(split, knobs=knobs)
    print(f"time split at {split.cutoff.isoformat()}, {test_days:g} test days, {len(split.users)} users "
          f"({time.perf_counter() - start:.0f} s)")
    home = result["home"]["results"]
    print(f"\nhome feed (top {result['home']['k']}):  " + "  ".join(f"{m:>9}" for m in ("hr@10", "ndcg@10", "recall@20", "mrr")))
    for name, m in home.items():
        print(f"  {name:<16}" + "  ".join(f"{m[k]:>9.4f}" for k in ("hr@10", "ndcg@10", "recall@20", "mrr")))
    print_related(result["related"])
    sug = result["suggest"]
    for title, part in (("queries people finished", sug), ("final query of each search session", sug["final"])):
        print(f"\nsuggestions, MRR of the {title} ({part['queries']} queries; {sug['protocol']}):")
        for typed, m in part["results"].items():
            d = part["difference"][typed]
            print(f"  {typed:<12}  suggest {m['suggest']:.4f}  prefix-popularity {m['prefix-popularity']:.4f}"
                  f"  difference {d['diff']:+.4f} [{d['low']:+.4f}, {d['high']:+.4f}]")
    if knobs:
        print(f"\nhome feed knobs ({result['knobs']['users']} users; first 10 items):")
        print("  category cap  freshness  NDCG@10  vs default [95% interval]      diversity  median age (h)")
        for m in result["knobs"]["settings"]:
            d = m["difference"]
            print(f"  {m['category_cap']:>12}  {m['freshness_weight']:>9}  {m['ndcg@10']:.4f}  {d['diff']:+.4f} [{d['low']:+.4f}, {d['high']:+.4f}]"
                  f"  {m['diversity@10']:>9.3f}  {m['median_age_hours@10']:>14.1f}")
    print(json.dumps(result, ensure_ascii=False))


def evaluate_yoochoose() -> None:
    from yoochoose import read_clicks  # benchmarks/yoochoose.py: where the data lies

    from bunjang_lab.products.evaluation import related_on_session_log

    start = time.perf_counter()
    train, test = (log.rename(columns={"SessionId": "session", "ItemId": "item_id", "Time": "ts"}) for log in read_clicks())
    result, items = related_on_session_log(train, test)
    print(f"YooChoose-100k: {items:,} items in training ({time.perf_counter() - start:.1f} s)")
    print_related(result)
    print(json.dumps(result))


def print_related(related: dict) -> None:
    batches = f", {related['batches']} daily batches" if "batches" in related else ""
    print(f"\nrelated items, next opened item ({related['pairs']} pairs{batches}):")
    for name, m in related["results"].items():
        print(f"  {name:<16}  " + "  ".join(f"{k} {v:.4f}" for k, v in m.items()))
    for metric, d in related["difference"].items():
        print(f"  {metric} difference {d['diff']:+.4f}, paired 95% interval [{d['low']:+.4f}, {d['high']:+.4f}]")


if __name__ == "__main__":
    main()
