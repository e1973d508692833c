"""``python -m bunjang_lab train`` and ``python -m bunjang_lab evaluate``."""

from __future__ import annotations

import argparse
import json

import pandas as pd

from bunjang_lab import paths
from bunjang_lab.cli import UserError, parser
from bunjang_lab.intervals import RESAMPLES
from bunjang_lab.ranking.split import CANDIDATES, PROTOCOLS
from bunjang_lab.ranking.tuning import BUDGET, WINDOWS
from bunjang_lab.ranking.training import DEFAULT_PARAMS


def _timestamp(text: str) -> pd.Timestamp:
    try:
        return pd.Timestamp(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date: {text!r}") from None


def train(argv: list[str]) -> int:
    from bunjang_lab.evaluation.gate import promote_if_not_worse
    from bunjang_lab.ranking.training import train_model

    ap = parser("python -m bunjang_lab train", "Train the factorization-machine ranker on the lake.")
    ap.add_argument("--lake", default=str(paths.lake_dir()), help="event lake (default: %(default)s)")
    ap.add_argument("--until", type=_timestamp, help="train on events before this date/time (UTC; default: all)")
    ap.add_argument("--out", default=str(paths.models_dir()), help="models folder (default: %(default)s)")
    ap.add_argument("--k", type=int, default=DEFAULT_PARAMS["k"], help="latent factors (default: %(default)s)")
    ap.add_argument("--epochs", type=int, default=DEFAULT_PARAMS["epochs"], help="maximum epochs (default: %(default)s)")
    ap.add_argument("--lr", type=float, default=DEFAULT_PARAMS["lr"], help="learning rate (default: %(default)s)")
    ap.add_argument("--gate", action="store_true", help="move latest only if not worse than the current model")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", action="store_true", help="print the model's record (and the gate's decision) as one JSON object")
    args = ap.parse_args(argv)
    folder = train_model(args.lake, args.until, args.out, promote=not args.gate, seed=args.seed, k=args.k, epochs=args.epochs, lr=args.lr)
    meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    decision = promote_if_not_worse(folder, args.out, args.lake) if args.gate else None
    if args.json:
        print(json.dumps({"model": str(folder), **meta, **({"gate": decision} if decision else {})}, ensure_ascii=False, default=str))
        return 0
    t = meta["timings"]
    print(f"model {folder}")
    print(f"rows {meta['metrics']['rows']} (+{meta['metrics']['valid_rows']} validation), features {meta['metrics']['n_features']}, "
          f"validation AUC {meta['metrics']['valid_auc']}")
    for clock, suffix in (("wall", "_s"), ("cpu", "_cpu_s")):
        total, pipeline = t["total" + suffix], t["pipeline" + suffix]
        print(f"{clock} time {total:.1f}s: xlearn {t['xlearn' + suffix]:.1f}s; pipeline around it {pipeline:.1f}s "
              f"({pipeline / total:.0%}: features {t['features' + suffix]:.1f}s, file writing {t['write' + suffix]:.1f}s); "
              f"reading the lake and saving the model {t['other' + suffix]:.1f}s (lake {t['read' + suffix]:.1f}s)")
    if decision:
        verdict = "promoted to latest" if decision.get("promoted") else "kept the current model"
        print(f"gate: {verdict} ({decision.get('reason')})")
    return 0


def evaluate(argv: list[str]) -> int:
    from bunjang_lab.evaluation.offline import evaluate as evaluate_lake, format_table, planned_steps
    from bunjang_lab.progress import Steps
    from bunjang_lab.ranking.models import default_models

    ap = parser("python -m bunjang_lab evaluate", "Offline evaluation of the FM ranker against baselines (full ranking), "
                                                  "with paired bootstrap intervals of its differences.")
    ap.add_argument("--lake", default=str(paths.lake_dir()), help="event lake (default: %(default)s)")
    ap.add_argument("--protocol", choices=PROTOCOLS, default="time-split",
                    help="time-split: each user's positives after the cutoff; next-item: every later positive "
                         "from what the user did before it (default: %(default)s)")
    ap.add_argument("--test-days", type=float, default=3.0, help="days after the cutoff that are held out (default: %(default)s)")
    ap.add_argument("--cutoff", type=_timestamp, help="the cutoff T (UTC date/time; default: --test-days before the last event)")
    ap.add_argument("--candidates", choices=CANDIDATES, default="live",
                    help="live: listings that could be bought at the request's time (marketplaces); catalogue: "
                         "every item with a training interaction (click logs, ratings) (default: %(default)s)")
    ap.add_argument("--exclude-seen", action="store_true",
                    help="never recommend what the user already interacted with (for items consumed once, like "
                         "ratings; by default repeats stay and are reported apart)")
    ap.add_argument("--budget", type=int, default=BUDGET,
                    help="hyperparameter settings each model tries on a validation window before the cutoff (default: %(default)s)")
    ap.add_argument("--windows", type=int, default=WINDOWS,
                    help="validation windows before the cutoff, each as long as the test window, that the settings "
                         "are judged on, by their mean NDCG@10 (default: %(default)s)")
    ap.add_argument("--resamples", type=int, default=RESAMPLES, help="bootstrap resamples per interval (default: %(default)s)")
    ap.add_argument("--json", action="store_true", help="print one JSON object instead of tables")
    ap.add_argument("--epochs", type=int, help="FM: maximum epochs")
    ap.add_argument("--k", type=int, help="FM: latent factors")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    if args.budget < 1 or args.resamples < 1 or args.windows < 1:
        raise UserError("--budget, --windows and --resamples must be at least 1")
    fm_params = {name: value for name, value in (("epochs", args.epochs), ("k", args.k)) if value is not None}
    models = default_models(seed=args.seed, **fm_params)
    # a bar at a terminal, nothing in a log or a pipe: the table (or --json) is the output
    with Steps("evaluate", total=planned_steps(models, args.protocol, args.candidates, args.budget, args.seed)) as done:
        result = evaluate_lake(args.lake, args.protocol, models=models, test_days=args.test_days, cutoff=args.cutoff,
                               candidates=args.candidates, exclude_seen=args.exclude_seen, budget=args.budget,
                               windows=args.windows, resamples=args.resamples, seed=args.seed, progress=done)
    print(json.dumps(result, ensure_ascii=False) if args.json else format_table(result))
    return 0
