"""``python -m bunjang_lab recommend``: home feeds, popular lists, related items, suggestions."""

from __future__ import annotations

import json
from pathlib import Path

from bunjang_lab import paths
from bunjang_lab.cli import UserError, parser
from bunjang_lab.products import limits


def run(argv: list[str]) -> int:
    p = parser("python -m bunjang_lab recommend",
               "Compute the four recommendation products for the current state of the lake into RUN_DIR/products/.")
    p.add_argument("--lake", default=str(paths.lake_dir()), help="event lake (default: %(default)s)")
    p.add_argument("--model", default=str(paths.models_dir() / "latest"), help="trained model folder (default: %(default)s)")
    p.add_argument("--out", help="run folder, relative to BUNJANG_HOME (default: runs/<UTC timestamp>)")
    p.add_argument("--now", help="the moment to recommend for (default: the newest event in the lake)")
    p.add_argument("--fraud-dir", help="fraud results whose flagged listings are excluded (default: RUN_DIR/fraud)")
    p.add_argument("--category-cap", type=int, default=limits.CATEGORY_CAP,
                   help="home feed: at most this many items per leaf category (default %(default)s; cost in docs/products.md)")
    p.add_argument("--freshness-weight", type=float, default=limits.FRESHNESS_WEIGHT,
                   help="home feed: boost of a listing posted now, halved every 48 h (default %(default)s)")
    p.add_argument("--json", action="store_true", help="print the summary as one JSON object instead of a table")
    args = p.parse_args(argv)

    import pandas as pd

    from bunjang_lab.products.feed import FeedKnobs
    from bunjang_lab.products.recommend import compute_products

    if not str(args.lake).startswith(("memory://", "s3://", "gs://")) and not Path(args.lake).exists():
        raise UserError(f"no event lake at {args.lake} (run `python -m bunjang_lab ingest` first)")
    if args.now is not None:
        try:
            pd.Timestamp(args.now)
        except ValueError:
            raise UserError(f"--now: not a timestamp: {args.now!r}") from None
    if args.category_cap < 1 or args.freshness_weight < 0:
        raise UserError("--category-cap must be at least 1 and --freshness-weight at least 0")
    out = paths.in_home(args.out) if args.out else paths.runs_dir() / pd.Timestamp.now("UTC").strftime("%Y%m%dT%H%M%SZ")
    knobs = FeedKnobs(category_cap=args.category_cap, freshness_weight=args.freshness_weight)
    summary = compute_products(args.lake, args.model, out, now=args.now, fraud_dir=args.fraud_dir, knobs=knobs)
    if args.json:
        print(json.dumps({"out": str(out), **summary}, ensure_ascii=False))
        return 0
    from bunjang_lab.tables import text_table

    print(f"products of model {summary['model']} as of {summary['now']} in {out / 'products'}: "
          f"{summary['users_in_feed']:,} users with a feed, {summary['live_listings']:,} live listings "
          f"({summary['flagged_listings']:,} flagged as fraud, kept out); {summary['seconds']['total']} s")
    print(text_table([{"product": name, "rows": rows} for name, rows in summary["rows"].items()]))
    return 0
