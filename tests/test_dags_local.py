"""The local Airflow process manager (``make airflow``): its environment and its clean-up.

The full start-trigger-wait-stop cycle is ``make airflow-smoke``; these tests cover what
must hold without starting Airflow.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
TOOL = REPO_ROOT / "tools" / "airflow_local.py"


def _load_tool():
    """tools/airflow_local.py is a script of the repository, not a module of the package."""
    spec = importlib.util.spec_from_file_location("airflow_local", TOOL)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up while being defined
    spec.loader.exec_module(module)
    return module


airflow_local = _load_tool()


def test_environment_points_airflow_at_this_repo_with_low_parallelism(tmp_path, isolated_home):
    local = airflow_local.LocalAirflow(home=tmp_path / "airflow_home", port=8793, database="sqlite:////tmp/x.db")
    local.home.mkdir()
    env = local.environment()

    assert env["AIRFLOW__CORE__DAGS_FOLDER"] == str(REPO_ROOT / "dags")
    assert int(env["AIRFLOW__CORE__PARALLELISM"]) <= 4
    assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://localhost:8793/execution/"
    assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] == "sqlite:////tmp/x.db"
    assert env["BUNJANG_HOME"] == str(isolated_home)
    assert env["AIRFLOW__CORE__LOAD_EXAMPLES"] == "False"
    assert env["USER"]  # xlearn aborts without it
    # every component must sign and accept the same tokens: one secret, kept across starts
    assert env["AIRFLOW__API_AUTH__JWT_SECRET"] == local.environment()["AIRFLOW__API_AUTH__JWT_SECRET"]


def test_settings_override_the_defaults_as_the_celery_smoke_sets_its_executor(tmp_path):
    local = airflow_local.LocalAirflow(home=tmp_path, database="sqlite:////tmp/x.db",
                                       settings={"AIRFLOW__CORE__EXECUTOR": "CeleryExecutor"})
    assert local.environment()["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    assert airflow_local.LocalAirflow(home=tmp_path).environment()["AIRFLOW__CORE__EXECUTOR"] == "LocalExecutor"


def test_the_login_password_is_generated_once_and_kept(tmp_path):
    local = airflow_local.LocalAirflow(home=tmp_path)
    first = local.password()
    assert len(first) >= 12
    assert airflow_local.LocalAirflow(home=tmp_path).password() == first
    assert json.loads((tmp_path / "passwords.json").read_text()) == {"admin": first}


def test_stop_ends_every_recorded_process_group_including_forked_workers(tmp_path):
    """A killed `make airflow` leaves pids.json behind; the next start or `stop` ends them all."""
    script = "import subprocess, sys, time; subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)']); time.sleep(120)"
    leader = subprocess.Popen([sys.executable, "-c", script], start_new_session=True)
    time.sleep(1.0)  # let it fork its worker
    local = airflow_local.LocalAirflow(home=tmp_path)
    local.pid_file.write_text(json.dumps({"scheduler": leader.pid}))

    local.stop_leftovers()

    leader.wait(timeout=30)  # ended (already reaped by the manager)
    assert not airflow_local._alive(leader.pid)  # the whole group, worker included
    assert not local.pid_file.exists()


def test_a_taken_port_is_replaced_by_a_free_one():
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        taken = busy.getsockname()[1]
        assert airflow_local._free_port(taken) != taken


def test_the_manager_imports_no_airflow_and_nothing_heavy():
    code = ("import runpy, sys; runpy.run_path(sys.argv[1]);"
            "print(sorted(m for m in ('airflow', 'pandas', 'numpy') if m in sys.modules))")
    proc = subprocess.run([sys.executable, "-c", code, str(TOOL)], capture_output=True, text=True, timeout=60)
    assert proc.stdout.strip() == "[]", proc.stderr

