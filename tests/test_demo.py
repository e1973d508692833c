"""``python -m bunjang_lab demo``: the whole pipeline on a (small) sample, then commands that work."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def small_sample(tmp_path_factory) -> Path:
    """A few days of the simulator, like data/sample but small enough for a test."""
    from bunjang_lab.simulate import simulate

    out = tmp_path_factory.mktemp("sample")
    simulate(users=80, days=3, seed=5, out=out, progress=False)
    return out


def _demo(env: dict, *argv: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bunjang_lab", "demo", *argv], env=env, capture_output=True, text=True,
                          timeout=900, cwd=REPO_ROOT)


def test_demo_runs_every_stage_prints_commands_that_work_and_reruns_as_a_no_op(small_sample, isolated_home):
    env = os.environ | {"USER": os.environ.get("USER") or "bunjang"}
    first = _demo(env, "--sample", str(small_sample))
    assert first.returncode == 0, first.stderr[-4000:]
    out = first.stdout

    for stage in ("[ingest]", "[fraud-train]", "[fraud]", "[train]", "[gate]", "[products]", "[publish]", "[report]"):
        assert stage in out
    report = Path(out.split("Open the report:")[1].split()[0])
    assert report.is_file() and report.suffix == ".html"
    assert report.is_relative_to(isolated_home)

    commands = [line.strip() for line in out.splitlines() if " -m bunjang_lab.score " in line]
    assert {shlex.split(c)[3] for c in commands} >= {"recommend", "related", "popular", "suggest", "text"}
    for command in commands:  # exactly what a user would paste
        argv = shlex.split(command)
        proc = subprocess.run([sys.executable, *argv[1:]], env=env, capture_output=True, text=True, timeout=60, cwd=REPO_ROOT)
        assert proc.returncode == 0, (command, proc.stderr)
        answer = json.loads(proc.stdout.splitlines()[0])
        assert answer.get("items") or answer.get("suggestions") or "risk" in answer, (command, answer)
        if argv[3] == "text":  # the demo trained the classifier on the sample's labels
            assert answer["model"].startswith("rules+classifier"), answer

    again = _demo(env, "--sample", str(small_sample), "--json")
    assert again.returncode == 0, again.stderr[-4000:]
    summary = json.loads(again.stdout.splitlines()[-1])
    assert summary["ingest"]["accepted"] == 0
    # the sample named here holds the listings' pictures: every one is read (one more image root)
    assert summary["fraud"]["images"] > 0 and summary["fraud"]["image_errors"] == {}
    assert summary["ingest"]["duplicates"] == summary["ingest"]["read"] > 0
    assert summary["gate"]["promoted"] is True  # the same model, compared with itself


def test_demo_without_day_files_is_a_one_line_error(tmp_path):
    proc = _demo(os.environ | {"USER": "bunjang"}, "--sample", str(tmp_path))
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "no JSON Lines day files" in proc.stderr


def test_demo_rejects_a_bad_day(tmp_path):
    proc = _demo(os.environ | {"USER": "bunjang"}, "--day", "yesterday")
    assert proc.returncode == 2 and "--day: not a date" in proc.stderr
