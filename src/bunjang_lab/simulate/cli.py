"""``python -m bunjang_lab simulate``: write a synthetic marketplace with ground truth."""

from __future__ import annotations

import datetime as dt
import json
import sys

from bunjang_lab import paths
from bunjang_lab.cli import UserError, parser
from bunjang_lab.simulate import DEFAULT_START, previous_output, simulate


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise UserError(f"--start must be a date like 2026-10-01, got {text!r}") from None


def run(argv: list[str]) -> int:
    p = parser("python -m bunjang_lab simulate", "Generate events, listing images and ground-truth labels "
               "of a synthetic used-goods marketplace (same seed, same bytes).")
    p.add_argument("--users", type=int, default=1500, help="number of users (default 1500, as data/sample)")
    p.add_argument("--days", type=int, default=14, help="number of days (default 14)")
    p.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
    p.add_argument("--start", default=DEFAULT_START.isoformat(), help=f"first day, KST (default {DEFAULT_START})")
    p.add_argument("--out", required=True, help="output folder, relative to BUNJANG_HOME (created if missing)")
    p.add_argument("--overwrite", action="store_true", help="replace an earlier simulation in --out")
    p.add_argument("--plain", action="store_true", help="write .jsonl instead of .jsonl.gz")
    p.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    p.add_argument("--workers", type=int, help="processes drawing the images (default: 0 for small runs, else 2); "
                   "the output does not depend on it")
    p.add_argument("--json", action="store_true", help="print the summary as one JSON object instead of a table")
    args = p.parse_args(argv)
    start = _date(args.start)
    if args.users < 10 or args.days < 1 or args.seed < 0 or (args.workers or 0) < 0:
        raise UserError("--users must be >= 10, --days >= 1, --seed and --workers >= 0")
    end = start + dt.timedelta(days=args.days)
    if end > dt.date.today() + dt.timedelta(days=1):
        print(f"warning: the simulation runs until {end}, in the future; ingest quarantines events "
              "more than 24 hours ahead", file=sys.stderr)
    out = paths.in_home(args.out)
    if out.exists() and not out.is_dir():
        raise UserError(f"--out is not a folder: {out}")
    if previous_output(out) and not args.overwrite:
        raise UserError(f"{out} already holds a simulation; choose an empty folder or pass --overwrite")
    summary = simulate(args.users, args.days, args.seed, out, start=start, compress=not args.plain,
                       progress=not args.no_progress, workers=args.workers, overwrite=args.overwrite)
    if args.json:
        print(json.dumps(summary, ensure_ascii=False))
        return 0
    from bunjang_lab.tables import text_table

    print(f"simulated {summary['users']:,} users ({summary['fraud_users']:,} fraudsters) over {summary['days']} day(s) "
          f"from {summary['start']} (seed {summary['seed']}) into {summary['out']}: {summary['events']:,} events, "
          f"{summary['listings']:,} listings, {summary['images']:,} images; {summary['seconds']} s")
    print(text_table([{"event type": name, "events": n} for name, n in summary["by_type"].items()]))
    return 0
