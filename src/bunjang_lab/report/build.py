"""Build the batch report for one run: ``reports/<DATE>/report.html``, ``figures.json``, ``tables/*.csv``."""

from __future__ import annotations

import json
import time
from datetime import datetime, timezone
from pathlib import Path

from bunjang_lab import files, paths
from bunjang_lab.progress import Steps
from bunjang_lab.report import ads as ads_section
from bunjang_lab.report import fraud_feedback
from bunjang_lab.report import render, sections


def _runs(runs_dir: Path) -> list[Path]:
    return sorted(p for p in runs_dir.iterdir() if p.is_dir()) if runs_dir.exists() else []


def resolve_run(runs_dir: Path, date: str | None) -> Path:
    """The run folder named ``date``, else the newest run (by name: runs are named by date)."""
    if date is not None:
        return runs_dir / date
    history = _runs(runs_dir)
    return history[-1] if history else runs_dir / "none"


def build_report(lake, runs, out, date: str | None = None, labels=None, models=None) -> Path:
    """Write the report of the run named ``date`` (default: the newest run) and return the HTML path.

    ``runs`` is the folder holding one sub-folder per run; ``labels`` optionally points at
    simulator ground truth, adding precision and recall per rule.
    """
    started = time.perf_counter()
    runs_dir, out = Path(runs), Path(out)
    run_dir = resolve_run(runs_dir, date)
    history = [r for r in _runs(runs_dir) if r.name <= run_dir.name]
    models_dir = Path(models) if models else paths.models_dir()
    builders = [
        ("data health", lambda: sections.data_health(str(lake))),
        ("recommender", lambda: sections.recommender(str(lake), history, run_dir)),
        ("fraud", lambda: sections.fraud(str(lake), run_dir, Path(labels) if labels else None)),
        ("fraud feedback", lambda: fraud_feedback.fraud_feedback(str(lake), run_dir, models_dir)),
        ("operations", lambda: sections.operations(run_dir, models_dir)),
        ("ads", lambda: ads_section.ads(run_dir)),
    ]
    parts = []
    with Steps("report", total=len(builders) + 1, unit="section") as done:  # a bar at a terminal only
        for name, section in builders:
            parts.append(section())
            done(f"{name} section")
        title = f"bunjang_lab batch report — {run_dir.name}"
        generated = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        subtitle = f"run {run_dir.name} · lake {lake} · generated {generated} in {time.perf_counter() - started:.1f} s"
        out.mkdir(parents=True, exist_ok=True)
        render.write_csv(parts, out / "tables")
        files.write_text(out / "figures.json", json.dumps(render.to_json(title, parts), ensure_ascii=False, indent=1, default=str))
        html_path = out / "report.html"
        files.write_text(html_path, render.to_html(title, subtitle, parts))
        done("written")
    return html_path
