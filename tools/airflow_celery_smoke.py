"""``make airflow-celery-smoke``: the sample chain on the CeleryExecutor, a worker killed mid-run.

A developer tool like ``tools/airflow_local.py`` (standard library only; it starts Airflow,
it does not import it), with the same conventions: everything under ``airflow_home/``,
the processes in their own sessions, all stopped at the end, also on failure.

What it starts: Airflow's api-server, scheduler and dag-processor with the
CeleryExecutor; Redis database :data:`BROKER_DB` of ``127.0.0.1:6379`` as the broker
(emptied first: it is this tool's own); PostgreSQL database :data:`DATABASE` on
``127.0.0.1:5432`` (created afresh) as metadata database and Celery result backend; and
the two Celery workers of :data:`WORKERS`, each in a UTS namespace of its own with its
own host name (as two machines would be; it needs root for ``unshare --uts``), each
taking the ``default`` queue and the image shards' queue (``fraud_scan.scan_images``'s,
as the API reports it).

What it runs: history in the lake and a model (as ``make airflow-smoke``), then the
newest sample day dropped in the landing folder: ``marketplace_ingest`` ->
``fraud_scan`` (mapped image shards) -> ``publish`` (mapped user shards); then
``recommender_train`` -> ``publish`` again; then ``batch_report``. As soon as a mapped
image shard has finished and another is running, the worker running it is killed with
SIGKILL (its whole process group: the machine is gone); the scheduler notices the missing
heartbeats, and the retry runs on the other worker. The metadata database then tells on
which hosts the mapped task instances ran (every try). Last line::

    {"workers_used": 2, "worker_killed": true, "run_state": "success", "tasks": n, "seconds": s}
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from airflow_local import (PG_HOST, PG_PORT, PG_USER, REPO_ROOT, USER_NAME, Api, LocalAirflow,  # noqa: E402
                           fresh_smoke_home, postgres_url, print_login)

BROKER_DB = 14
"""Redis database index of the Celery broker, emptied at the start: no other user (the tests'
serving caches use 11, the benchmarks 12, the DAG tests 13, the default cache 0)."""
DATABASE = "bunjang_airflow_celery"
WORKERS = ("worker-a", "worker-b")
HEARTBEAT_TIMEOUT = 45
"""Seconds without a task's heartbeat before the scheduler fails the try (Airflow's default: 300)."""
CHAIN = ("marketplace_ingest", "fraud_scan", "recommender_train", "publish", "batch_report")


def psql(sql: str, database: str = DATABASE) -> list[list[str]]:
    out = subprocess.run(["psql", "-h", PG_HOST, "-p", str(PG_PORT), "-U", PG_USER, "-d", database, "-AtF", "\t", "-c", sql],
                         capture_output=True, text=True, timeout=60, check=True).stdout
    return [line.split("\t") for line in out.splitlines() if line]


def fresh_database() -> str:
    psql(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)', database="postgres")
    url = postgres_url(database=DATABASE)
    if url is None:
        raise RuntimeError(f"PostgreSQL on {PG_HOST}:{PG_PORT} (or psycopg2/asyncpg) is needed for the CeleryExecutor")
    return url


def start_worker(local: LocalAirflow, name: str, queues: str) -> None:
    """One ``airflow celery worker`` in a UTS namespace whose host name is ``name``."""
    command = (f"hostname {name} && exec {local.python} -m airflow celery worker --celery-hostname {name}@%h "
               f"--queues {queues} --concurrency 1 --skip-serve-logs")
    log = open(local.home / "logs" / f"{name}.log", "ab")
    local.processes[name] = subprocess.Popen(["unshare", "--uts", "sh", "-c", command], env=local.environment(),
                                             stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    log.close()
    local.pid_file.write_text(json.dumps({c: p.pid for c, p in local.processes.items()}))


def mapped_hosts(since: str) -> list[list[str]]:
    """(host, state, dag, task, map index, try) of every try of a mapped task since ``since``."""
    rows = []
    for table in ("task_instance", "task_instance_history"):
        rows += psql(f"SELECT t.hostname, t.state, t.dag_id, t.task_id, t.map_index, t.try_number FROM {table} t "
                     f"JOIN dag_run r ON r.dag_id = t.dag_id AND r.run_id = t.run_id "
                     f"WHERE t.map_index >= 0 AND r.run_after >= '{since}' AND t.hostname <> ''")
    return rows


def kill_a_worker_mid_shards(local: LocalAirflow, since: str, timeout: float) -> str:
    """Wait until a mapped image shard succeeded and another runs; SIGKILL the worker
    running it (its process group). Returns its name."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rows = [r for r in mapped_hosts(since) if r[3] == "scan_images"]
        running = [r[0] for r in rows if r[1] == "running" and r[0] in WORKERS]
        if running and any(r[1] == "success" for r in rows):
            victim = running[0]
            os.killpg(local.processes[victim].pid, signal.SIGKILL)
            local.processes[victim].wait()
            del local.processes[victim]
            print(f"killed {victim} (SIGKILL) while it ran an image shard", flush=True)
            return victim
        time.sleep(1)
    raise TimeoutError("no image shard ran while another had finished: nothing to kill")


def run_now(api: Api, dag_id: str, since: str) -> None:
    """Unpause a scheduled DAG: the scheduler starts its latest interval's run (no catch-up);
    trigger one if it did not within a minute."""
    api.unpause(dag_id)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if any((r.get("run_after") or "") >= since for r in api.runs(dag_id)):
            return
        time.sleep(3)
    api.trigger(dag_id)


def wait_runs(api: Api, dag_ids, since: str, timeout: float) -> dict[str, list[dict]]:
    """Poll until every DAG of ``dag_ids`` has runs queued after ``since``, all
    succeeded; returns them. Fails as soon as one run failed."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        runs = {d: [r for r in api.runs(d) if (r.get("run_after") or "") >= since] for d in dag_ids}
        failed = [d for d, rs in runs.items() if any(r["state"] == "failed" for r in rs)]
        if failed:
            raise RuntimeError(f"failed runs: {failed}")
        if all(rs and all(r["state"] == "success" for r in rs) for rs in runs.values()):
            return runs
        print("  " + ", ".join(f"{d}: {[r['state'] for r in rs] or 'waiting'}" for d, rs in runs.items()), flush=True)
        time.sleep(10)
    raise TimeoutError(f"{list(dag_ids)} did not finish within {timeout:.0f} s")


def main() -> int:
    started = time.monotonic()
    for stop in (signal.SIGTERM, signal.SIGINT):  # stop what was started on either (a background job ignores SIGINT)
        signal.signal(stop, lambda *_: sys.exit(1))
    if os.geteuid() != 0 or not shutil.which("unshare"):
        print("error: the workers get host names of their own through `unshare --uts`: run as root", file=sys.stderr)
        return 2
    subprocess.run(["redis-cli", "-n", str(BROKER_DB), "FLUSHDB"], check=True, capture_output=True, timeout=30)
    result_backend = f"db+postgresql+psycopg2://{PG_USER}@{PG_HOST}:{PG_PORT}/{DATABASE}"
    local = LocalAirflow(home=REPO_ROOT / "airflow_home" / "celery", database=fresh_database(), settings={
        "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
        "AIRFLOW__CELERY__BROKER_URL": f"redis://127.0.0.1:6379/{BROKER_DB}",
        "AIRFLOW__CELERY__RESULT_BACKEND": result_backend,
        "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": str(HEARTBEAT_TIMEOUT),
        # prefork's pool processes are daemonic, and so is a task forked from one: the
        # training's xlearn child (multiprocessing) is then refused; the threads pool
        # cannot run Airflow's task supervisor (it sets signal handlers). Solo runs one
        # task at a time in the worker's main process: a worker per task slot.
        "AIRFLOW__CELERY__POOL": "solo",
    })
    local.home.mkdir(parents=True, exist_ok=True)
    landed = fresh_smoke_home(local)
    victim, state, tasks = None, "failed", 0
    try:
        local.start()
        print_login(local)
        api = Api(local.url, USER_NAME, local.password())
        api.wait_for_dags(CHAIN)
        image_queue = api._call("GET", "/api/v2/dags/fraud_scan/tasks/scan_images")["queue"]
        for name in WORKERS:
            start_worker(local, name, f"default,{image_queue}")
        since = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(time.time() - 5))
        for dag_id in ("marketplace_ingest", "fraud_scan", "publish"):
            api.unpause(dag_id)
        print(f"triggered marketplace_ingest ({api.trigger('marketplace_ingest')}) for {landed}", flush=True)
        victim = kill_a_worker_mid_shards(local, since, timeout=900)
        wait_runs(api, ("marketplace_ingest", "fraud_scan", "publish"), since, timeout=1800)
        run_now(api, "recommender_train", since)
        wait_runs(api, ("recommender_train",), since, timeout=1800)
        time.sleep(15)  # a promoted model sets off publish
        run_now(api, "batch_report", since)
        runs = wait_runs(api, CHAIN, since, timeout=1800)
        hosts = mapped_hosts(since)
        used = sorted({r[0] for r in hosts})
        for host in used:
            mine = [r for r in hosts if r[0] == host]
            print(f"{host}: {len(mine)} tries of mapped tasks "
                  f"({', '.join(sorted({f'{r[2]}.{r[3]}' for r in mine}))}; states {sorted({r[1] for r in mine})})")
        tasks = sum(len(api.task_states(d, r["dag_run_id"])) for d, rs in runs.items() for r in rs)
        state = "success"
        workers_used = len(set(used) & set(WORKERS))
    except Exception as exc:  # the summary line still says what happened
        print(f"error: {exc}", file=sys.stderr)
        workers_used = 0
    finally:
        local.stop()
        print("stopped every process started", flush=True)
    print(json.dumps({"workers_used": workers_used, "worker_killed": victim is not None, "run_state": state,
                      "tasks": tasks, "seconds": round(time.monotonic() - started)}))
    return 0 if state == "success" and workers_used >= 2 and victim else 1


if __name__ == "__main__":
    sys.exit(main())
