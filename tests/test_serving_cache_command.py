"""``score cache info|keys|get`` on both backends: what a published cache holds."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bunjang_lab.serving.backends import open_cache
from bunjang_lab.serving.publish import publish_run
from bunjang_lab.testing import write_run

SRC = Path(__file__).resolve().parents[1] / "src"


def cache_command(*args: str, url: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    return subprocess.run([sys.executable, "-m", "bunjang_lab.score", "cache", *args, "--cache", url],
                          capture_output=True, text=True, env=env, timeout=60)


@pytest.fixture
def published(cache_url, tmp_path):
    """Two versions of the same run and one item sold since."""
    run = write_run(tmp_path / "run", users=20, items=40)
    publish_run(run, cache_url)
    publish_run(run, cache_url)
    with open_cache(cache_url) as cache:
        cache.atomic(lambda tx: tx.put_live("gone:i7", {"status": "sold", "ts": 1.0}), watch=[])
    return cache_url


def test_info_counts_every_key_of_every_version_by_kind(published):
    proc = cache_command("info", "--json", url=published)
    assert proc.returncode == 0, proc.stderr
    found = json.loads(proc.stdout)
    assert [(v["version"], v["current"]) for v in found["versions"]] == [(1, False), (2, True)]
    first, second = found["versions"]
    assert first["keys"] == second["keys"] > 0 and first["bytes"] == second["bytes"] > 0
    assert found["kinds"]["home"]["keys"] == 19  # u0 is the write_run's cold user
    assert found["kinds"]["ivec"]["keys"] == 40 and found["kinds"]["_manifest"]["keys"] == 1
    assert sum(k["keys"] for k in found["kinds"].values()) == second["keys"]
    assert found["live"] == {"keys": 1, "bytes": len(b'{"status":"sold","ts":1.0}')}

    table = cache_command("info", url=published).stdout
    assert "version  run" in table and "home" in table and "live keys" in table and "{" not in table


def test_keys_lists_sizes_that_match_the_values(published):
    proc = cache_command("keys", "--prefix", "pop:", "--json", url=published)
    listed = [json.loads(line) for line in proc.stdout.splitlines()]
    assert listed and all(row["key"].startswith("pop:") for row in listed)
    assert [row["key"] for row in listed] == sorted(row["key"] for row in listed)
    with open_cache(published) as cache, cache.snapshot() as snap:
        for row in listed:
            value = snap.get(row["key"])
            assert row["bytes"] == len(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode())

    short = cache_command("keys", "--limit", "3", url=published).stdout.splitlines()
    assert short[0].split() == ["key", "bytes"] and len(short) == 5 and short[-1].startswith("... ")
    assert cache_command("keys", "--live", "--json", url=published).stdout == '{"key":"gone:i7","bytes":26}\n'
    old = cache_command("keys", "--version", "1", "--prefix", "_manifest", "--json", url=published)
    assert json.loads(old.stdout)["key"] == "_manifest"


def test_get_prints_one_value(published):
    proc = cache_command("get", "home:u2", url=published)
    assert proc.returncode == 0 and json.loads(proc.stdout)["items"]
    assert json.loads(cache_command("get", "gone:i7", "--live", url=published).stdout)["status"] == "sold"
    assert json.loads(cache_command("get", "_manifest", "--version", "1", url=published).stdout)["counts"]["vectors"] > 0


@pytest.mark.parametrize("args, message", [
    (["get", "home:nobody"], "no key 'home:nobody' in version 2"),
    (["get"], "get takes one KEY"),
    (["keys", "--version", "9"], "--version 9 is not a committed version"),
    (["keys", "--limit", "-1"], "--limit must be 0 (all) or more"),
    (["vacuum"], "invalid choice"),
])
def test_mistakes_are_one_line_errors(published, args, message):
    proc = cache_command(*args, url=published)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.count("\n") == 1 and message in proc.stderr
