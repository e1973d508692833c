"""Every DAG file imports cleanly and each DAG has the shape the pipeline relies on.

Airflow is loaded in a subprocess with its own temporary AIRFLOW_HOME, so its config and
logs never leak into other tests.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
DAGS = REPO_ROOT / "dags"

pytestmark = pytest.mark.airflow

DESCRIBE = r"""
import json, sys
from airflow.dag_processing.dagbag import BundleDagBag
bag = BundleDagBag(dag_folder=sys.argv[1], bundle_path=sys.argv[1], bundle_name="dags-folder")
def flat(condition):
    if condition is None:
        return []
    return [condition.uri] if hasattr(condition, "uri") else [u for c in condition.objects for u in flat(c)]
out = {"errors": {k: v[-300:] for k, v in bag.import_errors.items()}, "dags": {}}
for dag in bag.dags.values():
    out["dags"][dag.dag_id] = {
        "timetable": type(dag.timetable).__name__,
        "summary": getattr(dag.timetable, "expression", None),
        "assets": sorted(flat(getattr(dag.timetable, "asset_condition", None))),
        "tags": sorted(dag.tags),
        "params": sorted(dag.params.keys()),
        "catchup": dag.catchup,
        "max_active_runs": dag.max_active_runs,
        "tasks": {
            t.task_id: {
                "upstream": sorted(t.upstream_task_ids),
                "retries": t.retries,
                "trigger_rule": str(t.trigger_rule),
                "mapped": "Mapped" in type(t).__name__,
                "queue": t.queue,
                "outlets": sorted(o.uri for o in t.outlets),
            }
            for t in dag.tasks
        },
    }
print("DESCRIPTION" + json.dumps(out))
"""


@pytest.fixture(scope="module")
def described(tmp_path_factory):
    home = tmp_path_factory.mktemp("airflow_home")
    env = os.environ | {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS),
        "USER": os.environ.get("USER") or "bunjang",
    }
    proc = subprocess.run(
        [sys.executable, "-c", DESCRIBE, str(DAGS)], env=env, capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    line = next(line for line in proc.stdout.splitlines() if line.startswith("DESCRIPTION"))
    return json.loads(line[len("DESCRIPTION"):])


def test_every_dag_file_imports_without_errors(described):
    assert described["errors"] == {}
    assert set(described["dags"]) == {"marketplace_ingest", "fraud_scan", "recommender_train", "publish", "batch_report",
                                      "ads_billing", "fraud_retrain"}


def test_every_task_retries_at_least_twice_and_every_dag_is_tagged(described):
    for dag_id, dag in described["dags"].items():
        assert "bunjang" in dag["tags"], dag_id
        assert dag["catchup"] is False, dag_id
        for task_id, task in dag["tasks"].items():
            assert task["retries"] >= 2, f"{dag_id}.{task_id}"


def test_schedules_chain_the_dags_through_assets(described):
    dags = described["dags"]
    assert dags["marketplace_ingest"]["timetable"] == "CronDataIntervalTimetable"
    assert dags["marketplace_ingest"]["summary"] == "0 * * * *"
    assert dags["recommender_train"]["summary"] == dags["batch_report"]["summary"] == "0 0 * * *"
    assert dags["fraud_retrain"]["summary"] == "0 0 * * *"
    assert dags["ads_billing"]["summary"] == "0 * * * *"
    lake, fraud, model, cache = "bunjang://lake/events", "bunjang://runs/fraud", "bunjang://models/latest", "bunjang://serving/cache"
    assert dags["marketplace_ingest"]["tasks"]["announce"]["outlets"] == [lake]
    assert dags["fraud_scan"]["assets"] == [lake]
    assert dags["fraud_scan"]["tasks"]["scan"]["outlets"] == [fraud]
    assert dags["recommender_train"]["tasks"]["promote"]["outlets"] == [model]
    assert dags["publish"]["assets"] == sorted([fraud, model])
    assert dags["publish"]["tasks"]["to_cache"]["outlets"] == [cache]


def test_task_dependencies(described):
    def edges(dag_id):
        return {task: spec["upstream"] for task, spec in described["dags"][dag_id]["tasks"].items()}

    assert edges("marketplace_ingest") == {"ingest": [], "announce": ["ingest"]}
    assert edges("fraud_scan") == {"plan": [], "scan_images": ["plan"], "scan": ["scan_images"]}
    assert edges("recommender_train") == {"train": [], "gate": ["train"], "promote": ["gate"]}
    assert edges("publish") == {"plan_products": [], "user_shard": ["plan_products"], "products": ["user_shard"],
                                "to_cache": ["products"], "ad_calibration": ["products", "to_cache"],
                                "ad_state": ["products", "to_cache"]}
    assert edges("batch_report") == {"report": []}
    assert edges("ads_billing") == {"reconcile": []}
    assert edges("fraud_retrain") == {"retrain": []}


def test_images_are_scanned_in_mapped_tasks_and_the_scan_survives_zero_shards(described):
    tasks = described["dags"]["fraud_scan"]["tasks"]
    assert tasks["scan_images"]["mapped"] is True
    # image shards on a Celery queue of their own, everything else on the default one
    assert tasks["scan_images"]["queue"] == "images"
    assert {t["queue"] for d in described["dags"].values() for i, t in d["tasks"].items() if i != "scan_images"} == {"default"}
    assert tasks["scan"]["trigger_rule"].lower().endswith("none_failed")
    assert described["dags"]["publish"]["tasks"]["user_shard"]["mapped"] is True


def test_params_let_users_point_the_dags_at_other_folders(described):
    dags = described["dags"]
    assert {"landing", "lake"} <= set(dags["marketplace_ingest"]["params"])
    assert {"lake", "runs", "image_index", "days", "shard_size"} <= set(dags["fraud_scan"]["params"])
    assert {"lake", "runs", "models", "tolerance"} <= set(dags["recommender_train"]["params"])
    assert {"lake", "runs", "models", "cache_url", "days", "user_shards"} <= set(dags["publish"]["params"])
    assert {"lake", "runs", "reports"} <= set(dags["batch_report"]["params"])
    assert {"lake", "runs"} <= set(dags["ads_billing"]["params"])


def test_dag_files_do_no_work_at_import_time(tmp_path):
    """Importing the DAG files reads no BUNJANG_HOME and imports no pipeline module."""
    code = (
        "import sys, runpy\n"
        f"sys.path.insert(0, {str(DAGS)!r})\n"
        f"for name in {sorted(p.name for p in DAGS.glob('*.py'))!r}:\n"
        f"    runpy.run_path({str(DAGS)!r} + '/' + name)\n"
        "heavy = [m for m in ('bunjang_lab.pipeline', 'bunjang_lab.ingest', 'pandas', 'sklearn', 'xlearn') if m in sys.modules]\n"
        "print('HEAVY', heavy)\n"
    )
    env = os.environ | {"AIRFLOW_HOME": str(tmp_path), "BUNJANG_HOME": str(tmp_path / "must-not-exist"), "USER": "bunjang"}
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "HEAVY []" in proc.stdout
    assert not (tmp_path / "must-not-exist").exists()


@pytest.mark.parametrize(
    ("connection", "expected"),
    [
        ("redis://:secret-pw@cache.internal:6380/2", "redis://:secret-pw@cache.internal:6380/2"),
        ("redis://127.0.0.1:6379/13", "redis://127.0.0.1:6379/13"),
        ('{"conn_type": "redis", "host": "cache.internal", "port": 6380, "schema": "2", "login": "app", "password": "p@ss:w/rd"}',
         "redis://app:p%40ss%3Aw%2Frd@cache.internal:6380/2"),
        (None, "sqlite:///{home}/cache.sqlite"),
    ],
)
def test_publish_takes_the_cache_from_the_bunjang_cache_connection_else_sqlite(tmp_path, connection, expected):
    env = os.environ | {"AIRFLOW_HOME": str(tmp_path / "airflow"), "BUNJANG_HOME": str(tmp_path / "home"), "USER": "bunjang"}
    env.pop("BUNJANG_CACHE_URL", None)
    if connection:
        env["AIRFLOW_CONN_BUNJANG_CACHE"] = connection
    code = f"import sys; sys.path.insert(0, {str(DAGS)!r}); import publish; print('URL', publish.cache_url(None))"
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert f"URL {expected.format(home=tmp_path / 'home')}" in proc.stdout
