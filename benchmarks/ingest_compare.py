"""Same-run comparison of ``ingest_files`` against an earlier commit's, and of both against the raw parse.

On a shared machine wall clock swings by a third between runs, so the three are run
alternately on one generated file, and each reports CPU seconds, wall seconds, the
part of both spent after the last region of input was handed on (the run's tail, where
whatever is not overlapped with parsing shows up), and the ingests' page faults and
system seconds (the kernel's share: zeroing fresh memory, copying file data):

    .venv/bin/python benchmarks/ingest_compare.py --baseline <commit> [--events 1000000] [--rounds 3]

The baseline's ingest (``ingest.py``, or the ``ingest/`` package it was split into) is loaded
from git and runs against the current ``lake.py``, so pick a baseline whose ingest uses only
what the current lake module offers.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pyarrow.json as pj

import bunjang_lab
import bunjang_lab.ingest.runs as current
from ingest import generate, measure

REPO_ROOT = Path(__file__).resolve().parents[1]


def git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=REPO_ROOT, check=True, capture_output=True, text=True).stdout


def load_baseline(commit: str, folder: Path):
    """The module of ``commit`` that holds ``ingest_files`` and ``_merge_next``."""
    if not git("ls-tree", "--name-only", commit, "src/bunjang_lab/ingest.py"):  # split into a package
        return load_baseline_package(commit, folder / "baseline_ingest")
    path = folder / "baseline_ingest.py"
    path.write_text(git("show", f"{commit}:src/bunjang_lab/ingest.py"))
    spec = importlib.util.spec_from_file_location("baseline_ingest", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


def load_baseline_package(commit: str, folder: Path):
    """The ``runs`` module of the commit's ``ingest`` package. Its modules import each other by their
    full names, so they are imported in place of the current package, which is then put back."""
    folder.mkdir()
    for name in git("ls-tree", "--name-only", f"{commit}:src/bunjang_lab/ingest").split():
        if name.endswith(".py"):
            (folder / name).write_text(git("show", f"{commit}:src/bunjang_lab/ingest/{name}"))

    def loaded() -> list[str]:
        return [name for name in sys.modules if name == "bunjang_lab.ingest" or name.startswith("bunjang_lab.ingest.")]

    ours = {name: sys.modules.pop(name) for name in loaded()}
    try:
        spec = importlib.util.spec_from_file_location("bunjang_lab.ingest", folder / "__init__.py",
                                                      submodule_search_locations=[str(folder)])
        sys.modules[spec.name] = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(sys.modules[spec.name])
        return importlib.import_module("bunjang_lab.ingest.runs")
    finally:
        for name in loaded():
            del sys.modules[name]
        sys.modules.update(ours)
        bunjang_lab.ingest = ours["bunjang_lab.ingest"]


def ingest(module, source: Path, work: Path) -> tuple[float, ...]:
    """(wall, cpu, tail wall, tail cpu, page faults, system seconds) of one run into an empty lake."""
    merge, last = module._merge_next, {}

    def timed_merge(*args):
        merge(*args)
        last["at"] = (time.perf_counter(), time.process_time())

    module._merge_next = timed_merge
    lake = Path(tempfile.mkdtemp(dir=work))
    before = resource.getrusage(resource.RUSAGE_SELF)
    try:
        _, wall, cpu = measure(lambda: module.ingest_files([source], lake, now="2026-12-01T00:00:00Z"))
        end = (time.perf_counter(), time.process_time())
        after = resource.getrusage(resource.RUSAGE_SELF)
    finally:
        module._merge_next = merge
        shutil.rmtree(lake)
    return (wall, cpu, end[0] - last["at"][0], end[1] - last["at"][1], after.ru_minflt - before.ru_minflt,
            after.ru_stime - before.ru_stime)


def main() -> None:
    cli = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    cli.add_argument("--baseline", required=True, help="commit whose ingest is the baseline")
    cli.add_argument("--events", type=int, default=1_000_000)
    cli.add_argument("--rounds", type=int, default=3)
    args = cli.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-ingest-compare-"))
    try:
        baseline = load_baseline(args.baseline, work)
        source = work / "events.jsonl"
        generate(source, args.events)
        results: dict[str, list[tuple[float, ...]]] = {"raw": [], "baseline": [], "current": []}
        for _ in range(args.rounds):
            results["raw"].append(measure(lambda: pj.read_json(source))[1:])
            results["baseline"].append(ingest(baseline, source, work))
            results["current"].append(ingest(current, source, work))
            print(f"load average {os.getloadavg()[0]:.1f}", flush=True)
        raw_wall, raw_cpu = (min(r[i] for r in results["raw"]) for i in (0, 1))
        print(f"raw read_json: wall {raw_wall:.2f}s CPU {raw_cpu:.2f}s (best of {args.rounds})")
        for name in ("baseline", "current"):
            wall, cpu, tail_wall, tail_cpu = (min(r[i] for r in results[name]) for i in range(4))
            faults, system = (sorted(r[i] for r in results[name]) for i in (4, 5))
            print(f"{name:9s} wall {wall:.2f}s CPU {cpu:.2f}s (cores busy {cpu / wall:.2f}); tail wall {tail_wall:.2f}s "
                  f"CPU {tail_cpu:.2f}s; ratio to raw: wall {raw_wall / wall:.2f}, CPU {raw_cpu / cpu:.2f}; "
                  f"page faults {faults[0]:,}-{faults[-1]:,}, system {system[0]:.2f}-{system[-1]:.2f}s")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
