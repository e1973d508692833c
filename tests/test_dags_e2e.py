"""End to end: every DAG with ``dag.test()`` on data/sample, in a day's order, twice.

A subprocess (this file run as a script) gets its own AIRFLOW_HOME on SQLite and its
own BUNJANG_HOME, drops the sample day files into the landing folder and runs
marketplace_ingest -> fraud_scan -> recommender_train -> publish -> batch_report for the
newest sample day. The test then asks the serving CLI for answers from the cache, drops
the same files again, runs the same day again, and checks nothing changed.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SAMPLE_DIR = REPO_ROOT / "data" / "sample"
DAG_ORDER = ("marketplace_ingest", "fraud_scan", "recommender_train", "publish", "batch_report")

pytestmark = [pytest.mark.airflow, pytest.mark.slow]


def drive(day: str) -> None:
    """Run every DAG for ``day`` with dag.test(); print one JSON line of run states."""
    from airflow.dag_processing.dagbag import BundleDagBag

    dags_folder = str(REPO_ROOT / "dags")
    bag = BundleDagBag(dag_folder=dags_folder, bundle_path=dags_folder, bundle_name="dags-folder")
    assert not bag.import_errors, bag.import_errors
    next_midnight = datetime.combine(date.fromisoformat(day), datetime.min.time(), tzinfo=timezone.utc) + timedelta(days=1)
    runs = {
        # the hourly ingest just after the day closed; the asset-triggered DAGs are told the
        # day (as the lake asset's extra would) so the test scans one day, not the sample's 15
        "marketplace_ingest": {"logical_date": next_midnight + timedelta(hours=1)},
        "fraud_scan": {"run_conf": {"days": day, "shard_size": 50, "lookback_days": 1}},
        "recommender_train": {"logical_date": next_midnight},
        "publish": {"run_conf": {"days": day}},
        "batch_report": {"logical_date": next_midnight},
    }
    states = {}
    for dag_id in DAG_ORDER:
        dag = bag.dags[dag_id]
        for task in dag.tasks:  # fail now rather than wait for a retry (test_dags checks retries)
            task.retries = 0
        started = time.perf_counter()
        run = dag.test(**runs[dag_id])
        states[dag_id] = {"state": str(run.state), "seconds": round(time.perf_counter() - started, 1),
                          "tasks": {f"{ti.task_id}[{ti.map_index}]": str(ti.state) for ti in run.get_task_instances()}}
    print("STATES " + json.dumps(states))


def _environment(tmp_path: Path) -> dict:
    home = tmp_path / "bunjang_home"
    airflow_home = tmp_path / "airflow_home"
    return os.environ | {
        "AIRFLOW_HOME": str(airflow_home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(REPO_ROOT / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
        "BUNJANG_HOME": str(home),
        "BUNJANG_MODELS": str(home / "models"),
        "USER": os.environ.get("USER") or "bunjang",
        "PYTHONPATH": str(REPO_ROOT / "src"),
    }


def _drop_sample(landing: Path) -> None:
    """What a producer does: day files into the landing folder, next to their images."""
    landing.mkdir(parents=True, exist_ok=True)
    for day_file in sorted(SAMPLE_DIR.glob("*.jsonl*")):
        shutil.copy(day_file, landing / day_file.name)
    if not (landing / "images").exists():
        (landing / "images").symlink_to(SAMPLE_DIR / "images")


def _run_day(env: dict, day: str) -> dict:
    proc = subprocess.run([sys.executable, __file__, day], env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, (proc.stdout[-3000:], proc.stderr[-5000:])
    line = next(line for line in proc.stdout.splitlines() if line.startswith("STATES "))
    states = json.loads(line[len("STATES "):])
    print({dag_id: (run["state"], run["seconds"]) for dag_id, run in states.items()})  # shown on failure
    return states


def _score(env: dict, *argv: str) -> dict:
    proc = subprocess.run([sys.executable, "-m", "bunjang_lab.score", *argv], env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    answer = json.loads(proc.stdout.splitlines()[0])
    answer.pop("version", None)  # every publish is a new cache version; the answer must not change
    return answer


def _tree_digest(root: Path) -> dict:
    """path -> sha256 of every file under ``root``."""
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(root.rglob("*")) if p.is_file()}


def _run_contents(run: Path) -> dict:
    """relative path -> rows of every Parquet file of a run partition (as plain records)."""
    import pandas as pd

    return {
        str(p.relative_to(run)): json.loads(pd.read_parquet(p).to_json(orient="records", double_precision=15))
        for p in sorted(run.rglob("*.parquet")) if not any(part.startswith(".") for part in p.relative_to(run).parts)
    }


def _differences(before: dict, after: dict) -> list[str]:
    """Which files changed, and their first differing row, for a readable failure."""
    found = [f"{name}: only {'before' if name in before else 'after'}" for name in sorted(set(before) ^ set(after))]
    for name in sorted(set(before) & set(after)):
        if before[name] != after[name]:
            pairs = [(a, b) for a, b in zip(before[name], after[name]) if a != b]
            first = pairs[0] if pairs else (len(before[name]), len(after[name]))
            found.append(f"{name}: {len(pairs)} rows differ, first {first}")
    return found


def _answers(env: dict, user: str, item: str) -> dict:
    return {
        "recommend": _score(env, "recommend", "--user", user, "--k", "10"),
        "recommend_unknown": _score(env, "recommend", "--user", "nobody-yet", "--gender", "F", "--birth-year", "1995"),
        "related": _score(env, "related", "--item", item, "--k", "5"),
        "popular": _score(env, "popular", "--k", "5"),
        "text": _score(env, "text", "카톡 아이디 abc123 로 연락주세요 선입금 후 택배만 가능"),
    }


def test_a_day_runs_through_every_dag_and_running_it_again_changes_nothing(tmp_path):
    env = _environment(tmp_path)
    home = Path(env["BUNJANG_HOME"])
    migrate = subprocess.run([sys.executable, "-m", "airflow", "db", "migrate"], env=env, capture_output=True, text=True, timeout=300)
    assert migrate.returncode == 0, migrate.stderr[-3000:]
    day = max(p.name.split(".")[0] for p in SAMPLE_DIR.glob("*.jsonl*"))
    _drop_sample(home / "landing")

    first = _run_day(env, day)

    for dag_id in DAG_ORDER:
        assert first[dag_id]["state"].endswith("success"), (dag_id, first[dag_id])
    assert first["marketplace_ingest"]["tasks"]["announce[-1]"].endswith("success")  # events were new
    assert sum(1 for task in first["fraud_scan"]["tasks"] if task.startswith("scan_images[")) >= 2  # mapped shards
    assert not any(p.name.endswith(".jsonl.gz") for p in (home / "landing").iterdir())  # moved aside
    run = home / "runs" / day
    assert (run / "fraud" / "listings.parquet").exists() and (run / "fraud" / "images.parquet").exists()
    assert (run / "products" / "home.parquet").exists()
    assert (home / "models" / "latest").is_symlink()
    assert list((home / "reports" / day).glob("*.html"))

    import pandas as pd

    user = str(pd.read_parquet(run / "products" / "home.parquet")["user_id"].iloc[0])
    item = str(pd.read_parquet(run / "products" / "related.parquet")["item_id"].iloc[0])
    answers = _answers(env, user, item)
    assert answers["recommend"]["items"], answers["recommend"]
    assert answers["related"]["items"]
    assert answers["text"]["risk"] > 0.5 and answers["text"]["reasons"], answers["text"]
    lake_before = _tree_digest(home / "lake" / "events")
    runs_before = _run_contents(run)
    model_before = os.readlink(home / "models" / "latest")

    _drop_sample(home / "landing")  # the producer sends the same files again
    second = _run_day(env, day)

    for dag_id in DAG_ORDER:
        assert second[dag_id]["state"].endswith("success"), (dag_id, second[dag_id])
    assert second["marketplace_ingest"]["tasks"]["announce[-1]"].endswith("skipped")  # nothing new: nothing triggered
    assert _tree_digest(home / "lake" / "events") == lake_before
    assert not _differences(runs_before, _run_contents(run))
    assert os.readlink(home / "models" / "latest") == model_before
    assert _answers(env, user, item) == answers


if __name__ == "__main__":
    drive(sys.argv[1])
