"""Time to compute the four products for 10,000 users and 50,000 live listings.

Generates a synthetic marketplace of that size (``bunjang_lab.products.synthetic``), writes a
stand-in FM with the real feature map and format (random parameters: the scoring cost is
the same as a trained model's), then runs exactly what ``recommend`` runs after reading the
lake — snapshot, FM scorer, the four products, vector export, Parquet writes — and prints
the seconds per product. Target: under 120 s in total.

    .venv/bin/python benchmarks/products.py [--users 10000] [--listings 60000]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from bunjang_lab.products.catalog import snapshot
from bunjang_lab.products.recommend import build_products, write_products
from bunjang_lab.products.scorer import load_scorer
from bunjang_lab.products.synthetic import market_events, write_random_model


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--users", type=int, default=10_000)
    p.add_argument("--listings", type=int, default=61_000, help="all listings; about 5/6 stay live (50,000+)")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()

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
        scorer = load_scorer(model, events, snap)
        timings["load model"] = time.perf_counter() - t
        tables, product_seconds = build_products(snap, scorer)
        timings.update(product_seconds)
        t = time.perf_counter()
        tables["vectors"] = scorer.export(Path(tmp) / "vectors", tables["users"]["user_id"], snap.live["item_id"])
        timings["vectors"] = time.perf_counter() - t
        t = time.perf_counter()
        write_products(tables, Path(tmp) / "run")
        timings["write"] = time.perf_counter() - t
        timings["total"] = time.perf_counter() - t0
    live = int(snap.listings["live"].sum())
    print(f"users with events: {len(snap.users):,}  live listings: {live:,}  "
          f"interactions: {len(snap.interactions):,}  searches: {len(snap.searches):,}")
    print(f"rows: " + ", ".join(f"{n}={len(tables[n]):,}" for n in ("home", "candidates", "popular", "related", "suggest", "users")))
    width = max(map(len, timings))
    for name, seconds in timings.items():
        print(f"  {name:<{width}}  {seconds:7.2f} s")
    print(json.dumps({"users": len(snap.users), "live_listings": live, "seconds": {k: round(v, 2) for k, v in timings.items()},
                      "target_seconds": 120, "ok": timings["total"] < 120}))


if __name__ == "__main__":
    main()
