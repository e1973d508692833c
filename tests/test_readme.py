"""The README's commands, run as printed after the demo, in a temporary BUNJANG_HOME.

Every ``sh`` block line of the README runs through bash from the repository root, in
order, on a copy of the session's demo home (``sample_demo``): the batch pipeline, then
the serving lookups against the cache it leaves, then the HTTP service and its ``curl``
lines (on a free port instead of 8000, so a service already running there is no
obstacle). ``make`` lines are not run here: ``make demo`` is ``tests/test_demo.py``'s and
the Airflow targets are ``tests/test_dags_e2e.py``'s.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
README = REPO_ROOT / "README.md"
SERVE = "-m bunjang_lab.score serve"

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("sample_demo")]  # on the worker that ran the demo


def readme_commands() -> list[str]:
    """Each command of the README's ``sh`` blocks, continuation lines joined, ``make`` left out."""
    commands = []
    for block in re.findall(r"```sh\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S):
        for command in re.sub(r"\\\n\s*", "", block).splitlines():
            if command.strip() and not command.startswith("make "):
                commands.append(command.strip())
    return commands


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def home(sample_demo, tmp_path_factory) -> Path:
    """A copy of the demo's home: the README's commands add runs and cache versions to it."""
    copy = tmp_path_factory.mktemp("readme") / "home"
    shutil.copytree(sample_demo[0], copy, symlinks=True)
    cache = copy / "cache.sqlite"
    assert cache.exists()
    return copy


def _env(home: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "BUNJANG_CACHE_URL"}
    return env | {"BUNJANG_HOME": str(home), "BUNJANG_MODELS": str(home / "models"), "USER": env.get("USER") or "bunjang"}


def run(command: str, home: Path, timeout: float = 1800) -> subprocess.CompletedProcess:
    """``command`` through bash in the README's setting; ``evaluate`` on the sample passed 10 minutes
    on the shared two-core machine at load 18, hence the generous default."""
    proc = subprocess.run(["bash", "-c", command], cwd=REPO_ROOT, env=_env(home), capture_output=True, text=True,
                          timeout=timeout)
    assert proc.returncode == 0, (command, proc.stderr[-3000:])
    assert "Traceback" not in proc.stderr, (command, proc.stderr[-3000:])
    return proc


def test_the_readme_lists_the_commands_it_documents():
    commands = readme_commands()
    for expected in ("bunjang_lab --version", "bunjang_lab.score --version", "score cache info", "bunjang_lab report",
                     "bunjang_lab.score related --item", SERVE, "curl "):
        assert any(expected.replace("score ", "bunjang_lab.score ") in c or expected in c for c in commands), expected
    assert not any("(and images)" in c for c in commands)


def test_every_batch_command_runs_as_printed(home):
    batch = [c for c in readme_commands() if " -m bunjang_lab " in c]
    assert len(batch) >= 14
    outputs = {command: run(command, home).stdout for command in batch}
    by_name = {re.search(r"-m bunjang_lab (\S+(?: (?:train|evaluate|index))?)", c).group(1): out for c, out in outputs.items()}
    assert "commands:" in by_name["--help"] and by_name["--version"].startswith("bunjang_lab ")
    assert re.match(r"ingested [\d,]+ records from \d+ file\(s\)", by_name["ingest"]) and "accepted" in by_name["ingest"]
    # relative --out paths are the home's, wherever the command ran
    assert (home / "runs/today/products/home.parquet").exists() and (home / "runs/today/fraud/listings.parquet").exists()
    report = Path(by_name["report"].strip().splitlines()[-1])
    assert report == home / "reports/today/report.html" and report.exists()
    assert any((home / "market").glob("*.jsonl*"))


def test_every_serving_command_answers_as_printed(home):
    serving = [c for c in readme_commands() if "-m bunjang_lab.score " in c and SERVE not in c]
    assert len(serving) >= 10
    for command in serving:
        out = run(command, home, timeout=120).stdout
        name = re.search(r"-m bunjang_lab\.score (\S+)", command).group(1)
        if name == "--version":
            assert out.startswith("bunjang_lab ")
        elif name == "cache":
            assert out.startswith("cache sqlite:///") and "by kind of key" in out
        else:
            answer = json.loads(out.splitlines()[0])
            expected = {"recommend": "items", "popular": "items", "related": "items", "ads": "items",
                        "suggest": "suggestions", "event": "effect", "text": "risk", "image": "matches", "listing": "risk"}[name]
            assert expected in answer, (command, answer)
            if expected in ("items", "suggestions"):
                assert answer[expected], command
            if name == "event":  # a listing the published version knows: the feed is re-ranked
                assert answer["effect"] == "reranked" and "unknown_item" not in answer


def test_the_http_service_answers_the_readme_curls(home):
    port = str(_free_port())
    commands = readme_commands()
    serve = next(c for c in commands if SERVE in c).replace("8000", port)
    curls = [c.replace("8000", port) for c in commands if c.startswith("curl ")]
    assert len(curls) >= 5
    service = subprocess.Popen(["bash", "-c", f"exec {serve}"], cwd=REPO_ROOT, env=_env(home), stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                if time.monotonic() > deadline or service.poll() is not None:
                    raise
                time.sleep(0.3)
        for curl in curls:
            out = run(curl.replace("curl ", "curl -sf ", 1), home, timeout=60).stdout
            assert out.strip(), curl
    finally:
        service.send_signal(signal.SIGTERM)
        service.communicate(timeout=30)
