"""Runs killed with SIGKILL at random moments, then run again: the manifests add up to the lake.

After every kill and after the final run: events in the lake = the manifests' accepted,
quarantine rows = their quarantined, ``read == accepted + duplicates + quarantined`` for
every run, and in the end every valid input event is there exactly once.
"""

from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.compute as pc

from bunjang_lab.lake import QUARANTINE, TMP, event_ids, read_events, read_manifests, read_quarantine

REPO_ROOT = Path(__file__).resolve().parents[1]
KILLS = 6


def write_inputs(folder: Path, files: int, per_file: int) -> tuple[set[str], int]:
    """JSON Lines files spread over 30 days (many partitions, so publishing takes a while), with
    re-sent events and rejected lines; returns the valid event ids and the rejected lines' count."""
    rng = random.Random(3)
    ids, rejected = set(), 0
    for f in range(files):
        with open(folder / f"{f}.jsonl", "w", encoding="utf-8") as out:
            for n in range(per_file):
                number = f * per_file + n if rng.random() > 0.02 else rng.randrange(f * per_file + n + 1)
                kind = rng.choice(["click", "search", "favorite"])
                event = {"event_id": f"e{number}", "type": kind, "user_id": f"u{n % 97}",
                         "ts": f"2026-10-{1 + number % 30:02d}T{number % 24:02d}:00:00+09:00"}
                event |= {"query": "운동화"} if kind == "search" else {"item_id": f"i{n % 501}"}
                text = json.dumps(event, ensure_ascii=False)
                if rng.random() < 0.01:
                    text, rejected = text[:len(text) // 2], rejected + 1  # a truncated write
                else:
                    ids.add(event["event_id"])
                out.write(text + "\n")
    return ids, rejected


def start(inputs: Path, lake: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "bunjang_lab", "ingest", str(inputs), "--lake", str(lake),
                             "--now", "2026-11-26T00:00:00Z", "--json"], cwd=REPO_ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def timed_run(inputs: Path, lake: Path) -> float:
    began = time.monotonic()
    run = start(inputs, lake)
    _, err = run.communicate(timeout=120)
    assert run.returncode == 0, err.decode()
    return time.monotonic() - began


def kill_at(process: subprocess.Popen, seconds: float) -> float | None:
    """SIGKILL the process ``seconds`` after it started: None, or how long it ran when it
    finished first."""
    began = time.monotonic()
    try:
        process.wait(timeout=seconds)
        process.communicate()
        return time.monotonic() - began
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGKILL)
        process.communicate()
        return None


def assert_manifests_add_up(lake: Path) -> list[dict]:
    manifests = read_manifests(lake)
    for manifest in manifests:
        assert manifest["read"] == manifest["accepted"] + manifest["duplicates"] + manifest["quarantined"], manifest
    ids = event_ids(lake)
    assert len(ids) == sum(m["accepted"] for m in manifests) == pc.count_distinct(ids).as_py()
    assert len(read_quarantine(lake)) == sum(m["quarantined"] for m in manifests)
    return manifests


def rerun_and_check(inputs: Path, lake: Path, expected: set[str], rejected: int) -> None:
    """Run again to the end: every valid event exactly once, and nothing a killed run left."""
    final = start(inputs, lake)
    out, err = final.communicate(timeout=120)
    assert final.returncode == 0, err.decode()
    stats = json.loads(out.decode().splitlines()[-1])
    assert stats["read"] == stats["accepted"] + stats["duplicates"] + stats["quarantined"] == 20_000
    assert stats["quarantined"] == rejected
    manifests = assert_manifests_add_up(lake)
    ids = event_ids(lake)
    assert set(ids.to_pylist()) == expected and len(ids) == len(expected)
    assert len(read_events(lake)) == len(expected)
    # every file in the lake belongs to a manifest
    assert not any((lake / TMP).iterdir())
    assert len(list((lake / "events").rglob("*.parquet"))) == sum(len(m["parts"]) for m in manifests)
    assert len(list((lake / QUARANTINE).iterdir())) == sum(1 for m in manifests if m["quarantined"])


def test_random_kills_then_rerun_leave_manifests_that_add_up(tmp_path):
    inputs = tmp_path / "in"
    inputs.mkdir()
    (tmp_path / "empty").mkdir()
    expected, rejected = write_inputs(inputs, files=4, per_file=5_000)
    # Kill moments come from this machine's timings now (the quicker of two): the start-up, a
    # run with nothing to read, and a whole run into an empty lake.
    startup = min(timed_run(tmp_path / "empty", tmp_path / f"timing-{n}") for n in range(2))
    whole = min(timed_run(inputs, tmp_path / f"timing-{n}") for n in range(2))
    # One random moment in each sixth of the run's work, so every stage is hit; two kills on
    # each lake (a rerun after a completed run would have nothing left to write).
    rng = random.Random(22)
    work = max(whole - startup, 0.25 * whole)  # on a loaded machine either timing can be off
    moments = [startup + (k + rng.random()) / KILLS * work for k in range(KILLS)]
    rng.shuffle(moments)
    killed, finished_first = [], []
    lakes = (tmp_path / f"lake-{n}" for n in range(3 * KILLS))
    lake, on_lake = next(lakes), 0
    while len(killed) < KILLS and len(finished_first) < 2 * KILLS:
        moment = moments[len(killed)]
        ran = kill_at(start(inputs, lake), moment)
        assert_manifests_add_up(lake)
        if ran is None:
            killed.append(round(moment, 3))
            on_lake += 1
        else:  # the machine got quicker and the run completed: a moment of this run's length, on a fresh lake
            finished_first.append(round(ran, 3))
            moments[len(killed)] = rng.uniform(0.2, 0.95) * ran
        if ran is not None or on_lake == 2:
            rerun_and_check(inputs, lake, expected, rejected)
            lake, on_lake = next(lakes), 0
    if on_lake:
        rerun_and_check(inputs, lake, expected, rejected)
    assert len(killed) == KILLS, (startup, whole, killed, finished_first)
