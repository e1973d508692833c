"""A run killed with SIGKILL at any moment, then run again, leaves every valid event exactly once."""

from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.compute as pc

from bunjang_lab.lake import TMP, event_ids, read_events

REPO_ROOT = Path(__file__).resolve().parents[1]


def write_inputs(folder: Path, files: int, per_file: int) -> set[str]:
    """JSON Lines files spread over 40 days (many partitions, so publishing takes a while)."""
    rng = random.Random(3)
    ids = set()
    for f in range(files):
        with open(folder / f"{f}.jsonl", "w", encoding="utf-8") as out:
            for n in range(per_file):
                number = f * per_file + n if rng.random() > 0.02 else rng.randrange(f * per_file + n + 1)
                kind = rng.choice(["click", "search", "favorite"])
                event = {"event_id": f"e{number}", "type": kind, "user_id": f"u{n % 97}",
                         "ts": f"2026-10-{1 + number % 30:02d}T{number % 24:02d}:00:00+09:00"}
                event |= {"query": "운동화"} if kind == "search" else {"item_id": f"i{n % 501}"}
                ids.add(event["event_id"])
                out.write(json.dumps(event, ensure_ascii=False) + "\n")
    return ids


def start(inputs: Path, lake: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "bunjang_lab", "ingest", str(inputs), "--lake", str(lake),
                             "--now", "2026-11-26T00:00:00Z"], cwd=REPO_ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def kill_when(process: subprocess.Popen, condition, timeout: float = 60) -> bool:
    """SIGKILL the process as soon as ``condition()`` holds; False if it finished first."""
    deadline = time.monotonic() + timeout
    while process.poll() is None and time.monotonic() < deadline:
        if condition():
            process.send_signal(signal.SIGKILL)
            process.wait()
            return True
        time.sleep(0.002)
    process.wait()
    return False


def test_kill_at_several_moments_then_rerun(tmp_path):
    inputs, lake = tmp_path / "in", tmp_path / "lake"
    inputs.mkdir()
    # Enough events that parsing and publishing take a while and temporary files are seen.
    expected = write_inputs(inputs, files=3, per_file=25_000)
    # How long a whole run takes here and now, so the first kill lands part-way through one
    # (a fixed delay let a run on a quiet machine finish first, and then nothing was left to write).
    began = time.monotonic()
    timing = start(inputs, tmp_path / "timing-lake")
    timing.communicate(timeout=120)
    assert timing.returncode == 0
    whole_run = time.monotonic() - began
    moments = {
        "part-way through the run": lambda: time.monotonic() - began > random.Random(1).uniform(0.5, 0.8) * whole_run,
        "while writing a temporary file": lambda: any((lake / TMP).glob("*.parquet")),
        "after some parts were published": lambda: len(list((lake / "events").glob("*/*/*.parquet"))) >= 5,
        "while publishing more": lambda: len(list((lake / "events").glob("*/*/*.parquet"))) >= 40,
    }
    killed = []
    for name, condition in moments.items():
        began = time.monotonic()
        if kill_when(start(inputs, lake), condition):
            killed.append(name)
    assert len(killed) >= 3, killed  # most moments must actually interrupt a run
    final = start(inputs, lake)
    out, err = final.communicate(timeout=120)
    assert final.returncode == 0, err.decode()
    stats = json.loads(out.decode().splitlines()[-1])
    assert stats["read"] == stats["accepted"] + stats["duplicates"] + stats["quarantined"] == 75_000
    ids = event_ids(lake)
    assert len(ids) == len(expected) and set(ids.to_pylist()) == expected
    assert pc.count_distinct(ids).as_py() == len(expected)
    assert not any((lake / TMP).iterdir())
    assert len(read_events(lake)) == len(expected)
