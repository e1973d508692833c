"""The ranker on real data: MovieLens-100K, through the real CLI.

The data comes from PyPI: ``pip download --no-deps recbole==1.2.1`` into the git-ignored
``benchmarks/.cache/`` (the wheel carries ``recbole/dataset_example/ml-100k/``; the
MovieLens licence forbids redistribution, so it is never committed). It is converted to
events in our contract:

* each user -> ``signup`` (gender, birth year = 1998 - age: the ratings are from 1997-98);
* each movie -> ``listing`` one hour before its first rating (title, first genre as the
  category, release year as the brand field, price 0: MovieLens has no prices);
* each rating -> ``click`` (implicit feedback: any rating is an interaction);

then ``python -m bunjang_lab ingest`` and ``python -m bunjang_lab evaluate --protocol
time-split --candidates catalogue --exclude-seen --json`` run as subprocesses (every film is
rated once, so films a user already rated are never recommended), the tables are printed
and the evaluate JSON object is the last line (alone with ``--json``).

    .venv/bin/python benchmarks/movielens.py [--test-days 30] [--budget 4] [--windows 2] [--json]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / "benchmarks" / ".cache"
WHEEL = CACHE / "recbole-1.2.1-py3-none-any.whl"
MEMBER = "recbole/dataset_example/ml-100k/ml-100k.{}"


def fetch() -> Path:
    if not WHEEL.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "recbole==1.2.1", "-d", str(CACHE)], check=True)
    return WHEEL


def read_table(wheel: zipfile.ZipFile, name: str) -> pd.DataFrame:
    frame = pd.read_csv(io.BytesIO(wheel.read(MEMBER.format(name))), sep="\t", dtype=str, keep_default_na=False)
    frame.columns = [c.split(":")[0] for c in frame.columns]
    return frame


def to_events(wheel_path: Path, out: Path) -> int:
    """Write the events as JSON Lines; returns how many."""
    with zipfile.ZipFile(wheel_path) as wheel:
        users, movies, ratings = (read_table(wheel, n) for n in ("user", "item", "inter"))
    ratings["ts"] = ratings["timestamp"].astype(float).astype("int64") * 1000
    start = int(ratings["ts"].min()) - 86_400_000
    first = ratings.groupby("item_id")["ts"].min()
    events = []
    for row in users.itertuples():
        events.append({"event_id": f"s{row.user_id}", "type": "signup", "ts": start, "user_id": f"u{row.user_id}",
                       "gender": row.gender if row.gender in ("M", "F") else None, "birth_year": 1998 - int(row.age)})
    for row in movies.itertuples():
        if row.item_id not in first.index:
            continue
        genre = (row._4.split() or ["unknown"])[0]
        listing = {"event_id": f"l{row.item_id}", "type": "listing", "ts": int(first[row.item_id]) - 3_600_000,
                   "user_id": "studio", "item_id": f"m{row.item_id}", "title": row.movie_title or f"movie {row.item_id}",
                   "price": 0, "category": genre}
        if row.release_year:
            listing["brand"] = row.release_year
        events.append(listing)
    for n, row in enumerate(ratings.itertuples()):
        events.append({"event_id": f"r{n}", "type": "click", "ts": int(row.ts), "user_id": f"u{row.user_id}",
                       "item_id": f"m{row.item_id}", "surface": "home"})
    with open(out, "w", encoding="utf-8") as handle:
        for event in events:
            handle.write(json.dumps({k: v for k, v in event.items() if v is not None}, ensure_ascii=False) + "\n")
    return len(events)


def _children_cpu() -> float:
    """CPU seconds (user + system) of the finished subprocesses, theirs included: the machine is
    shared, so wall time alone says little."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def cli(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    result = subprocess.run([sys.executable, "-m", "bunjang_lab", *args], capture_output=True, text=True, env=env)
    if result.returncode:
        sys.exit(f"{' '.join(args[:1])} failed: {result.stderr.strip()}")
    return result


def main() -> None:
    sys.path.insert(0, str(ROOT / "src"))
    from bunjang_lab.evaluation.offline import format_table
    from bunjang_lab.ranking.tuning import WINDOWS

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--test-days", type=float, default=30.0, help="held-out days after the cutoff (default: %(default)s)")
    ap.add_argument("--budget", type=int, default=4, help="hyperparameter settings per model (default: %(default)s)")
    ap.add_argument("--windows", type=int, default=WINDOWS, help="validation windows the settings are judged on (default: %(default)s)")
    ap.add_argument("--json", action="store_true", help="print only the evaluate JSON object")
    args = ap.parse_args()
    wheel = fetch()
    with tempfile.TemporaryDirectory(dir=CACHE) as tmp:
        tmp = Path(tmp)
        n = to_events(wheel, tmp / "ml-100k.jsonl")
        started = time.perf_counter()
        cli("ingest", str(tmp / "ml-100k.jsonl"), "--lake", str(tmp / "lake"), "--min-ts", "1990-01-01T00:00:00Z")
        ingest_s = time.perf_counter() - started
        started, children = time.perf_counter(), _children_cpu()
        result = json.loads(cli("evaluate", "--lake", str(tmp / "lake"), "--protocol", "time-split", "--candidates",
                                "catalogue", "--exclude-seen", "--test-days", str(args.test_days),
                                "--budget", str(args.budget), "--windows", str(args.windows), "--json").stdout)
        evaluate_s, evaluate_cpu = time.perf_counter() - started, _children_cpu() - children
    if not args.json:
        print(f"MovieLens-100K: {n:,} events; ingest {ingest_s:.1f}s, evaluate {evaluate_s:.1f}s wall, "
              f"{evaluate_cpu:.1f}s CPU (its processes and xlearn's)")
        print(format_table(result))
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
