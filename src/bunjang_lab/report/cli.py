"""``python -m bunjang_lab report``: write the batch report of a run."""

from __future__ import annotations

from pathlib import Path

from bunjang_lab import paths
from bunjang_lab.cli import UserError, parser


def run(argv: list[str]) -> int:
    p = parser("python -m bunjang_lab report", "Write the batch report (HTML with charts, JSON figures, CSV tables).")
    p.add_argument("--lake", default=str(paths.lake_dir()), help="event lake (default: %(default)s)")
    p.add_argument("--runs", default=str(paths.runs_dir()), help="folder of run folders, relative to BUNJANG_HOME (default: %(default)s)")
    p.add_argument("--date", help="run to report on (a folder name under --runs; default: the newest)")
    p.add_argument("--out", help="output folder, relative to BUNJANG_HOME (default: reports/<run>/)")
    p.add_argument("--labels", help="simulator labels folder, to add precision and recall per rule")
    p.add_argument("--models", default=str(paths.models_dir()), help="models folder (default: %(default)s)")
    args = p.parse_args(argv)
    runs = paths.in_home(args.runs)
    if args.date and not (runs / args.date).is_dir():
        raise UserError(f"no run {args.date!r} under {runs}")
    from bunjang_lab.report.build import build_report, resolve_run

    run = resolve_run(runs, args.date)
    if not run.is_dir():
        raise UserError(f"no runs under {runs} (compute one: python -m bunjang_lab recommend --out runs/today)")
    if not (run / "products").is_dir():
        raise UserError(f"run {run.name} under {runs} has no products to report on "
                        f"(compute them: python -m bunjang_lab recommend --out {run})")
    out = paths.in_home(args.out) if args.out else paths.reports_dir() / run.name
    print(build_report(args.lake, runs, out, date=args.date, labels=args.labels, models=args.models))
    return 0
