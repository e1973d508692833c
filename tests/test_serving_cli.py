"""The score commands as whole processes: light imports, JSON out, one-line errors."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from bunjang_lab.serving.publish import publish_run
from bunjang_lab.testing import write_run

SRC = Path(__file__).resolve().parents[1] / "src"
HEAVY = ("pandas", "numpy", "sklearn", "xlearn", "airflow", "pyarrow", "scipy", "redis")


@pytest.fixture
def cache_url(tmp_path):
    url = f"sqlite:///{tmp_path / 'cache.sqlite'}"
    publish_run(write_run(tmp_path / "run"), url)
    return url


def score(*args: str, stdin: str | None = None, extra_env: dict | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(SRC), **(extra_env or {})}
    return subprocess.run([sys.executable, *args], input=stdin, capture_output=True, text=True, env=env, timeout=60)


def imported_modules(importtime_stderr: str) -> set[str]:
    """Top-level packages named in ``python -X importtime`` output."""
    names = set()
    for line in importtime_stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            names.add(line.rsplit("|", 1)[1].strip().split(".")[0])
    return names


@pytest.mark.parametrize("command", [
    ["recommend", "--user", "u2"],
    ["recommend", "--user", "stranger", "--gender", "F", "--birth-year", "2001"],
    ["popular", "--gender", "F", "--age-band", "20s"],
    ["related", "--item", "i4"],
    ["suggest", "--prefix", "ㄴㅇㅋ", "--user", "u2"],
])
def test_lookups_import_no_heavy_library(cache_url, command):
    proc = score("-X", "importtime", "-m", "bunjang_lab.score", *command, "--cache", cache_url)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["items" if command[0] != "suggest" else "suggestions"]
    heavy = imported_modules(proc.stderr) & set(HEAVY)
    assert not heavy, f"{command[0]} imported {sorted(heavy)}"


def test_event_command_imports_no_heavy_library(cache_url):
    event = json.dumps({"type": "click", "user_id": "u2", "item_id": "i3"})
    proc = score("-X", "importtime", "-m", "bunjang_lab.score", "event", "--json", "-", "--cache", cache_url, stdin=event)
    assert proc.returncode == 0, proc.stderr
    assert not imported_modules(proc.stderr) & set(HEAVY)


def test_default_cache_comes_from_the_environment(cache_url):
    proc = score("-m", "bunjang_lab.score", "recommend", "--user", "u2", "--k", "2", extra_env={"BUNJANG_CACHE_URL": cache_url})
    answer = json.loads(proc.stdout)
    assert answer["source"] == "personal" and len(answer["items"]) == 2


def test_jsonl_batch_answers_every_line_and_reports_bad_ones(cache_url):
    lines = "\n".join(json.dumps(x) for x in [{"user_id": "u2", "k": 1}, {"k": 3}, {"user_id": "nobody", "gender": "F", "birth_year": 2001}])
    proc = score("-m", "bunjang_lab.score", "recommend", "--jsonl", "-", "--cache", cache_url, stdin=lines + "\n")
    out = [json.loads(line) for line in proc.stdout.splitlines()]
    assert proc.returncode == 1
    assert [o.get("source") for o in out] == ["personal", None, "segment"]
    assert out[1] == {"line": 2, "error": "user_id is required"}


@pytest.mark.parametrize("args, message", [
    (["recommend"], "--user ID (or --jsonl FILE) is required"),
    (["recommend", "--user", "u2", "--k", "0"], "k must be at least 1"),
    (["popular", "--age-band", "twenties"], "invalid choice"),
    (["related", "--item", "nope"], "no related items for item 'nope'"),
    (["suggest", "--prefix", " "], "the prefix is empty"),
])
def test_user_mistakes_are_one_line_errors(cache_url, args, message):
    proc = score("-m", "bunjang_lab.score", *args, "--cache", cache_url)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.count("\n") == 1 and message in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.parametrize("url, message", [
    ("redis://127.0.0.1:1/0", "cannot use Redis at redis://127.0.0.1:1/0"),
    ("redis://127.0.0.1:6379/99999", "cannot use Redis"),
    ("redis://127.0.0.1:notaport/0", "invalid Redis URL"),
    ("ftp://x", "unsupported cache URL"),
    ("redis://127.0.0.1:6379/0?socket_timeout=3", "unsupported option(s) socket_timeout"),
])
def test_unreachable_or_wrong_cache_urls_are_one_line_errors(url, message):
    proc = score("-m", "bunjang_lab.score", "popular", "--cache", url)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.count("\n") == 1 and message in proc.stderr


def test_empty_or_corrupt_cache_errors_name_the_problem(tmp_path, cache_url):
    proc = score("-m", "bunjang_lab.score", "popular", "--cache", f"sqlite:///{tmp_path / 'none.sqlite'}")
    assert proc.returncode == 2 and "no cache at" in proc.stderr and "publish" in proc.stderr
    with sqlite3.connect(cache_url.removeprefix("sqlite:///")) as conn:
        conn.execute("UPDATE kv SET value = x'ff00' WHERE key = 'home:u2'")
    proc = score("-m", "bunjang_lab.score", "recommend", "--user", "u2", "--cache", cache_url)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "corrupt value at key 'home:u2'" in proc.stderr


def test_publish_to_unreachable_redis_is_a_one_line_error(tmp_path):
    run = write_run(tmp_path / "run", users=3, items=6)
    proc = score("-m", "bunjang_lab", "publish", str(run), "--cache", "redis://127.0.0.1:1/0")
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "cannot use Redis" in proc.stderr


def test_redis_lookups_import_no_client_library(tmp_path):
    import uuid

    from bunjang_lab.serving.backends import open_cache

    prefix = f"test-{uuid.uuid4().hex}:"
    url = f"redis://127.0.0.1:6379/11?prefix={prefix}"
    publish_run(write_run(tmp_path / "run", users=4, items=10), url)
    try:
        proc = score("-X", "importtime", "-m", "bunjang_lab.score", "recommend", "--user", "u2", "--cache", url)
        assert proc.returncode == 0, proc.stderr
        assert json.loads(proc.stdout)["source"] == "personal"
        assert not imported_modules(proc.stderr) & set(HEAVY + ("asyncio", "opentelemetry"))
    finally:
        with open_cache(url) as cache:
            cache.clear()


def test_a_batch_answers_every_line_whatever_is_wrong_with_some(cache_url, tmp_path):
    lines = [json.dumps({"user_id": "u2", "k": 1}).encode(), b'{"user_id": "\xff\xfe"}', b'{"user_id": "\\ud800"}',
             b"[" * 5000 + b"]" * 5000, b'{"user_id": ["u2"]}', b'{"user_id": "' + b"x" * 500 + b'"}', b"{broken",
             json.dumps({"user_id": "u2", "k": 2}).encode()]
    path = tmp_path / "requests.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    proc = score("-m", "bunjang_lab.score", "recommend", "--jsonl", str(path), "--cache", cache_url)
    assert proc.returncode == 1 and proc.stderr == ""
    out = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [o.get("line") for o in out] == [None, 2, 3, 4, 5, 6, 7, None]
    assert len(out[0]["items"]) == 1 and len(out[-1]["items"]) == 2
    errors = [o["error"] for o in out[1:-1]]
    assert "not valid UTF-8" in errors[0] and "lone surrogate" in errors[1] and "nested deeper" in errors[2]
    assert "must be a string id, got a list" in errors[3] and "over the 128-character limit" in errors[4]
    assert "invalid JSON" in errors[5]


@pytest.mark.parametrize("args, stdin, message", [
    (["recommend", "--user", "u\udcff"], None, "user_id is not valid UTF-8"),
    (["suggest", "--prefix", "\udcff"], None, "prefix is not valid UTF-8"),
    (["text", "-"], b"\xff\xfe", "stdin is not valid UTF-8"),
    (["text", "abc\udcff"], None, "TEXT is not valid UTF-8"),
])
def test_arguments_that_are_not_utf8_are_one_line_errors(cache_url, args, stdin, message):
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    argv = [os.fsencode(a) for a in [sys.executable, "-m", "bunjang_lab.score", *args, "--cache", cache_url]]
    if args[0] == "text":
        argv = argv[:-2] + [b"--rules-only"]
    proc = subprocess.run(argv, input=stdin, capture_output=True, env=env, timeout=60)
    stderr = proc.stderr.decode()
    assert proc.returncode == 2 and "Traceback" not in stderr and stderr.count("\n") == 1 and message in stderr


@pytest.mark.parametrize("event, message", [
    ({"type": "click", "user_id": "u2", "item_id": "i3", "ts": 1e308}, "more than 24 hours ahead of the clock"),
    ({"type": "click", "user_id": "u2", "item_id": {"id": "i3"}, "ts": None}, "item_id must be a string id"),
    ({"type": "purchase", "user_id": "u2", "item_id": ["i3"]}, "item_id must be a string id"),
    ({"type": "click", "user_id": "u" * 129, "item_id": "i3"}, "over the 128-character limit"),
])
def test_events_that_would_poison_a_feed_are_refused_and_the_rest_applied(cache_url, event, message):
    good = {"type": "click", "user_id": "u2", "item_id": "i3"}
    stdin = json.dumps(event) + "\n" + json.dumps(good) + "\n"
    proc = score("-m", "bunjang_lab.score", "event", "--json", "-", "--cache", cache_url, stdin=stdin)
    out = [json.loads(line) for line in proc.stdout.splitlines()]
    assert proc.returncode == 1 and message in out[0]["error"] and out[1]["effect"] == "reranked"


@pytest.mark.parametrize("args, message", [
    (["text", "안녕하세요", "--models", "/nope"], "no models folder at /nope"),
    (["listing", "--json", "-", "--models", "/nope"], "no models folder at /nope"),
    (["serve", "--models", "/nope"], "--models: no models folder at /nope"),
    (["recommend", "--user", "someone-new", "--gender", "F", "--birth-year", "3000"], "birth year 3000 gives an age of"),
    (["recommend", "--user", "u2", "--birth-year", "1900"], "it must give 10 to 100"),
])
def test_silent_mistakes_are_one_line_errors(cache_url, args, message):
    proc = score("-m", "bunjang_lab.score", *args, stdin='{"title": "x"}', extra_env={"BUNJANG_CACHE_URL": cache_url})
    assert proc.returncode == 2 and proc.stdout == "", proc.stdout
    assert proc.stderr.count("\n") == 1 and message in proc.stderr and "Traceback" not in proc.stderr


def test_an_event_about_an_unknown_listing_is_recorded_as_such_not_reranked(cache_url):
    stdin = "".join(json.dumps({"type": "click", "user_id": "u2", "item_id": item}) + "\n" for item in ("i3", "i999999"))
    proc = score("-m", "bunjang_lab.score", "event", "--json", "-", "--cache", cache_url, stdin=stdin)
    known, unknown = (json.loads(line) for line in proc.stdout.splitlines())
    assert known["effect"] == "reranked" and "unknown_item" not in known
    assert unknown["effect"] == "recorded" and unknown["unknown_item"] is True
    assert proc.returncode == 1
    assert proc.stderr.count("\n") == 1 and "1 event(s) name listings the published version does not know (i999999)" in proc.stderr
