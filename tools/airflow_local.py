"""A local Airflow for this repository: ``make airflow`` and ``make airflow-smoke``.

A developer tool of the repository, not part of the installed package. Standard library
and ``bunjang_lab.paths`` only (it starts Airflow; it does not import it)::

    python tools/airflow_local.py start   # api-server, scheduler, dag-processor; Ctrl-C stops them
    python tools/airflow_local.py smoke   # start, run the sample chain, print run states, stop
    python tools/airflow_local.py stop    # stop what an earlier start left running

Everything Airflow writes goes to ``airflow_home/`` in the repository (git-ignored): its
config, logs (``airflow_home/logs/<component>.log``), the SQLite metadata database when
PostgreSQL is not reachable, the login password and the ids of the started processes.
The metadata database is PostgreSQL (database ``bunjang_airflow`` on 127.0.0.1:5432,
created when missing) when reachable, else SQLite. The DAGs are this repository's
``dags/`` and read and write under ``BUNJANG_HOME`` as usual; the landing folder
marketplace_ingest watches is ``BUNJANG_HOME/landing``.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from bunjang_lab import paths

REPO_ROOT = Path(__file__).resolve().parents[1]
COMPONENTS = ("api-server", "scheduler", "dag-processor")
# No triggerer: asset-triggered DAGs are scheduled by the scheduler and no task defers.
PARALLELISM = 4
"""Task slots: 2 cores and 24 GB fit a few tasks (OCR and xlearn are single-threaded)."""
PG_HOST, PG_PORT, PG_USER, PG_DATABASE = "127.0.0.1", 5432, "postgres", "bunjang_airflow"
USER_NAME = "admin"


def _reachable(host: str, port: int, timeout: float = 1.0) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def _free_port(preferred: int) -> int:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", preferred))
            return preferred
        except OSError:
            probe.bind(("127.0.0.1", 0))
            return probe.getsockname()[1]


def _has_module(python: str, module: str) -> bool:
    probe = subprocess.run([python, "-c", f"import importlib.util, sys; sys.exit(importlib.util.find_spec({module!r}) is None)"],
                           capture_output=True, timeout=60)
    return probe.returncode == 0


def postgres_url(python: str = sys.executable, database: str = PG_DATABASE) -> str | None:
    """The URL of PostgreSQL metadata database ``database``, creating it when missing; None if
    unreachable or if Airflow's drivers for it (psycopg2 and, for its async engine, asyncpg)
    are not installed."""
    if not _reachable(PG_HOST, PG_PORT) or not shutil.which("psql"):
        return None
    missing = [m for m in ("psycopg2", "asyncpg") if not _has_module(python, m)]
    if missing:
        print(f"PostgreSQL is reachable but {', '.join(missing)} is not installed: using SQLite", flush=True)
        return None
    base = ["psql", "-h", PG_HOST, "-p", str(PG_PORT), "-U", PG_USER, "-d", "postgres", "-Atc"]
    exists = subprocess.run([*base, f"SELECT 1 FROM pg_database WHERE datname = '{database}'"],
                            capture_output=True, text=True, timeout=30)
    if exists.returncode != 0:
        return None
    if exists.stdout.strip() != "1":
        created = subprocess.run([*base, f'CREATE DATABASE "{database}"'], capture_output=True, text=True, timeout=60)
        if created.returncode != 0:
            return None
    return f"postgresql+psycopg2://{PG_USER}@{PG_HOST}:{PG_PORT}/{database}"


@dataclass
class LocalAirflow:
    """The processes of one local Airflow and the environment they share."""

    home: Path = field(default_factory=lambda: REPO_ROOT / "airflow_home")
    port: int = 8080
    database: str | None = None  # None: PostgreSQL when reachable, else SQLite
    python: str = sys.executable
    settings: dict[str, str] = field(default_factory=dict)  # AIRFLOW__* overrides, e.g. the executor
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://localhost:{self.port}"

    @property
    def pid_file(self) -> Path:
        return self.home / "pids.json"

    def environment(self) -> dict[str, str]:
        secret_file = self.home / ".jwt_secret"
        if not secret_file.exists():
            secret_file.write_text(secrets.token_urlsafe(32))
        return os.environ | {
            "AIRFLOW_HOME": str(self.home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(REPO_ROOT / "dags"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__CORE__PARALLELISM": str(PARALLELISM),
            "AIRFLOW__CORE__MAX_ACTIVE_TASKS_PER_DAG": str(PARALLELISM),
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{USER_NAME}:admin",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(self.password_file),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": self.database,
            "AIRFLOW__API__BASE_URL": self.url,
            "AIRFLOW__API__PORT": str(self.port),
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.url}/execution/",
            "AIRFLOW__API_AUTH__JWT_SECRET": secret_file.read_text().strip(),
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "30",  # new DAG files show up within 30 s
            "AIRFLOW__SCHEDULER__MIN_FILE_PROCESS_INTERVAL": "30",
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
            "BUNJANG_HOME": str(paths.home()),
            "BUNJANG_MODELS": str(paths.models_dir()),
            "USER": os.environ.get("USER") or "bunjang",  # xlearn aborts without it
            "OMP_THREAD_LIMIT": os.environ.get("OMP_THREAD_LIMIT", "1"),
            "NO_PROXY": "localhost,127.0.0.1",
        } | self.settings

    @property
    def password_file(self) -> Path:
        return self.home / "passwords.json"

    def password(self) -> str:
        """The admin password: generated once, kept in ``airflow_home/passwords.json``."""
        if not self.password_file.exists():
            self.password_file.write_text(json.dumps({USER_NAME: secrets.token_urlsafe(9)}))
        return json.loads(self.password_file.read_text())[USER_NAME]

    def airflow(self, *args: str, check: bool = True, timeout: float = 600) -> subprocess.CompletedProcess:
        """Run one ``airflow`` CLI command against this environment."""
        proc = subprocess.run([self.python, "-m", "airflow", *args], env=self.environment(), capture_output=True,
                              text=True, timeout=timeout)
        if check and proc.returncode != 0:
            raise RuntimeError(f"airflow {' '.join(args)} failed:\n{proc.stderr[-2000:]}")
        return proc

    def prepare(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        (self.home / "logs").mkdir(exist_ok=True)
        self.stop_leftovers()
        self.port = _free_port(self.port)
        self.database = self.database or postgres_url(self.python) or f"sqlite:///{self.home / 'airflow.db'}"
        self.password()
        (paths.home() / "landing").mkdir(parents=True, exist_ok=True)
        print(f"metadata database: {self.database}", flush=True)
        self.airflow("db", "migrate")

    def start(self) -> None:
        self.prepare()
        env = self.environment()
        for component in COMPONENTS:
            args = [component, "--port", str(self.port)] if component == "api-server" else [component]
            log = open(self.home / "logs" / f"{component}.log", "ab")
            # own session: stop() signals the component and every worker it forked
            self.processes[component] = subprocess.Popen([self.python, "-m", "airflow", *args], env=env, stdout=log,
                                                         stderr=subprocess.STDOUT, start_new_session=True)
            log.close()
        self.pid_file.write_text(json.dumps({c: p.pid for c, p in self.processes.items()}))
        self.wait_healthy()

    def wait_healthy(self, timeout: float = 180) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for component, proc in self.processes.items():
                if proc.poll() is not None:
                    raise RuntimeError(f"{component} exited with {proc.returncode}; see {self.home / 'logs' / (component + '.log')}")
            try:
                with urllib.request.urlopen(f"{self.url}/api/v2/monitor/health", timeout=5) as answer:
                    health = json.load(answer)
                if health.get("scheduler", {}).get("status") == "healthy":
                    return
            except (urllib.error.URLError, OSError, ValueError):
                pass
            time.sleep(2)
        raise RuntimeError(f"Airflow not healthy after {timeout:.0f} s; see {self.home / 'logs'}")

    def stop(self) -> None:
        """Stop every process this object started (TERM, then KILL after 20 s)."""
        _terminate({c: p.pid for c, p in self.processes.items()})
        for proc in self.processes.values():
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
        self.processes.clear()
        self.pid_file.unlink(missing_ok=True)

    def stop_leftovers(self) -> None:
        """Stop the processes an earlier start recorded but did not stop (a killed make)."""
        if self.pid_file.exists():
            _terminate(json.loads(self.pid_file.read_text()))
            self.pid_file.unlink(missing_ok=True)


def _terminate(pids: dict[str, int], grace: float = 20) -> None:
    """Signal each recorded process group (the component and its workers)."""
    for pid in pids.values():
        try:
            os.killpg(pid, signal.SIGTERM)
        except (ProcessLookupError, PermissionError):
            pass
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and any(_alive(pid) for pid in pids.values()):
        time.sleep(0.5)
    for pid in pids.values():
        try:
            os.killpg(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


def _alive(pid: int) -> bool:
    """Whether any process of the group ``pid`` leads is still running."""
    try:
        os.waitpid(pid, os.WNOHANG)  # reap our own exited child, or it lingers as a zombie
    except ChildProcessError:
        pass
    try:
        os.killpg(pid, 0)
        return True
    except (ProcessLookupError, PermissionError):
        return False


def print_login(local: LocalAirflow) -> None:
    print(f"Airflow UI:  {local.url}   login: {USER_NAME} / {local.password()}", flush=True)
    print(f"DAGs:        {REPO_ROOT / 'dags'} (paused at creation: unpause them in the UI)")
    print(f"Landing:     {paths.home() / 'landing'} (drop JSON Lines day files here for marketplace_ingest)")
    print(f"Logs:        {local.home / 'logs'}")


def cmd_start(local: LocalAirflow) -> int:
    try:
        local.start()
        print_login(local)
        print("Press Ctrl-C to stop.", flush=True)
        while all(proc.poll() is None for proc in local.processes.values()):
            time.sleep(2)
        dead = [c for c, p in local.processes.items() if p.poll() is not None]
        print(f"stopping: {', '.join(dead)} exited; see {local.home / 'logs'}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        local.stop()


def cmd_stop(local: LocalAirflow) -> int:
    local.stop_leftovers()
    return 0


# --------------------------------------------------------------------------- smoke

SMOKE_DAGS = ("marketplace_ingest", "fraud_scan", "publish")
"""The chain one landing file sets off (recommender_train and batch_report are daily)."""


class Api:
    """The few REST calls the smoke test needs (Airflow 3 public API, JWT from the simple auth manager)."""

    def __init__(self, url: str, user: str, password: str):
        self.url = url
        body = json.dumps({"username": user, "password": password}).encode()
        token = self._call("POST", "/auth/token", body, auth=False)["access_token"]
        self.headers = {"Authorization": f"Bearer {token}"}

    def _call(self, method: str, path: str, body: bytes | None = None, auth: bool = True) -> dict:
        headers = {"Content-Type": "application/json", **(self.headers if auth else {})}
        request = urllib.request.Request(self.url + path, data=body, method=method, headers=headers)
        with urllib.request.urlopen(request, timeout=30) as answer:
            return json.load(answer)

    def wait_for_dags(self, dag_ids, timeout: float = 300) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            known = {d["dag_id"] for d in self._call("GET", "/api/v2/dags?limit=100")["dags"]}
            if set(dag_ids) <= known:
                return
            time.sleep(3)
        raise RuntimeError(f"DAGs not parsed after {timeout:.0f} s: {sorted(set(dag_ids) - known)}")

    def unpause(self, dag_id: str) -> None:
        self._call("PATCH", f"/api/v2/dags/{dag_id}", json.dumps({"is_paused": False}).encode())

    def trigger(self, dag_id: str, conf: dict | None = None) -> str:
        body = json.dumps({"logical_date": None, "conf": conf or {}}).encode()
        return self._call("POST", f"/api/v2/dags/{dag_id}/dagRuns", body)["dag_run_id"]

    def runs(self, dag_id: str) -> list[dict]:
        return self._call("GET", f"/api/v2/dags/{dag_id}/dagRuns?limit=50&order_by=run_after")["dag_runs"]

    def task_states(self, dag_id: str, run_id: str) -> dict[str, str]:
        found = self._call("GET", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances?limit=100")["task_instances"]
        return {(t["task_id"] + (f"[{t['map_index']}]" if t["map_index"] >= 0 else "")): t["state"] for t in found}


def bootstrap_history(python: str, sample: Path, landing: Path, lake: str, models: str) -> str:
    """An existing marketplace: every sample day but the last in the lake and a model in
    production; the last day goes to the landing folder as the new drop. Returns its name."""
    days = sorted(sample.glob("*.jsonl*"))
    if len(days) < 2:
        raise RuntimeError(f"the smoke test needs at least two day files in {sample}")
    history, new = days[:-1], days[-1]
    env = os.environ | {"USER": os.environ.get("USER") or "bunjang"}
    for argv in (["ingest", *map(str, history), "--lake", lake], ["train", "--lake", lake, "--out", models]):
        print(f"history: python -m bunjang_lab {argv[0]} ...", flush=True)
        subprocess.run([python, "-m", "bunjang_lab", *argv], env=env, check=True, stdout=subprocess.DEVNULL)
    landing.mkdir(parents=True, exist_ok=True)
    shutil.copy(new, landing / new.name)
    if not (landing / "images").exists():
        (landing / "images").symlink_to(sample / "images")
    return new.name


def fresh_smoke_home(local: LocalAirflow) -> str:
    """A new BUNJANG_HOME under the Airflow home, inherited by every Airflow process started
    afterwards, holding the sample's history; returns the name of the day dropped to land."""
    smoke_home = local.home / "smoke_home"
    shutil.rmtree(smoke_home, ignore_errors=True)
    os.environ["BUNJANG_HOME"] = str(smoke_home)
    os.environ["BUNJANG_MODELS"] = str(smoke_home / "models")
    return bootstrap_history(local.python, paths.sample_dir(), smoke_home / "landing", str(paths.lake_dir()),
                             str(paths.models_dir()))


def wait_for_chain(api: Api, ingest_run: str, since: str, timeout: float) -> dict[str, dict]:
    """Poll until ingest, then an asset-triggered fraud_scan and publish, succeeded.

    Runs of earlier smoke tests (the PostgreSQL metadata database persists) are ignored:
    only runs queued after ``since`` (ISO time of the trigger) count.
    """
    deadline, started = time.monotonic() + timeout, time.time()
    while time.monotonic() < deadline:
        latest = {}
        for dag_id in SMOKE_DAGS:
            runs = [r for r in api.runs(dag_id) if (r.get("run_after") or "") >= since]
            if dag_id == "marketplace_ingest":
                runs = [r for r in runs if r["dag_run_id"] == ingest_run]
            latest[dag_id] = runs[-1] if runs else None
        failed = [d for d, r in latest.items() if r and r["state"] == "failed"]
        if failed:
            return latest
        if all(r and r["state"] == "success" for r in latest.values()):
            return latest
        states = ", ".join(f"{d}: {r['state'] if r else 'waiting'}" for d, r in latest.items())
        print(f"  {time.time() - started:5.0f} s  {states}", flush=True)
        time.sleep(10)
    raise TimeoutError(f"the chain did not finish within {timeout:.0f} s")


def cmd_smoke(local: LocalAirflow, timeout: float) -> int:
    """Start Airflow on a fresh home, drop the newest sample day, wait for the chain, stop."""
    landed = fresh_smoke_home(local)
    try:
        local.start()
        print_login(local)
        api = Api(local.url, USER_NAME, local.password())
        api.wait_for_dags(SMOKE_DAGS)
        for dag_id in SMOKE_DAGS:
            api.unpause(dag_id)
        since = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(time.time() - 5))
        run_id = api.trigger("marketplace_ingest")
        print(f"triggered marketplace_ingest ({run_id}) for {landed}; waiting for fraud_scan and publish", flush=True)
        latest = wait_for_chain(api, run_id, since, timeout)
        ok = True
        print()
        for dag_id, run in latest.items():
            ok &= run["state"] == "success"
            print(f"{dag_id:20s} {run['state']:8s} {run['dag_run_id']}")
            for task, state in sorted(api.task_states(dag_id, run["dag_run_id"]).items()):
                print(f"    {task:28s} {state}")
        if ok:
            answer = subprocess.run([local.python, "-m", "bunjang_lab.score", "popular", "--k", "3"], capture_output=True,
                                    text=True, env=local.environment(), timeout=60)
            print(f"\nscore popular --k 3 -> {answer.stdout.strip() or answer.stderr.strip()}")
        print("smoke test " + ("passed" if ok else f"FAILED; logs under {local.home / 'logs'}"))
        return 0 if ok else 1
    finally:
        local.stop()
        print("stopped every Airflow process started", flush=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python tools/airflow_local.py", description=__doc__.splitlines()[0])
    ap.add_argument("command", choices=("start", "smoke", "stop"))
    ap.add_argument("--port", type=int, default=int(os.environ.get("AIRFLOW_PORT", 8080)),
                    help="API server / UI port (default 8080, or a free one when taken)")
    ap.add_argument("--sqlite", action="store_true", help="use SQLite even when PostgreSQL is reachable")
    ap.add_argument("--timeout", type=float, default=1800, help="smoke: seconds to wait for the chain (default 1800)")
    args = ap.parse_args(argv)
    local = LocalAirflow(port=args.port)
    if args.sqlite:
        local.database = f"sqlite:///{local.home / 'airflow.db'}"
    if args.command == "start":
        return cmd_start(local)
    if args.command == "stop":
        return cmd_stop(local)
    return cmd_smoke(local, timeout=args.timeout)


if __name__ == "__main__":
    sys.exit(main())
