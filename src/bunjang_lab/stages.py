"""How long each stage of a day's run took, kept in the run folder by the stage itself.

Every task that builds part of ``runs/<day>/`` (the image shards, the fraud scan, training,
the gate, the products, publishing; the demo adds its ingest and fraud training) writes
``stages/<stage>.json`` when it succeeds: wall seconds and when it started and finished.
The batch report reads these records, so its timings are the run's own, whichever way
the run was driven (demo, DAG, a person). A mapped stage (one image shard each) writes
one record per part; :func:`read` adds them up.

>>> import tempfile
>>> run = tempfile.mkdtemp()
>>> with timed(run, "publish"):
...     pass
>>> record(run, "fraud-images", 2.5, part=0); record(run, "fraud-images", 1.5, part=1)
>>> totals = read(run)
>>> sorted(totals), totals["fraud-images"]["seconds"], totals["fraud-images"]["parts"]
(['fraud-images', 'publish'], 4.0, 2)
"""

from __future__ import annotations

import json
import os
import time
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Iterator

from bunjang_lab.files import write_json

FOLDER = "stages"


def _path(run: str | os.PathLike, stage: str, part: int | None) -> Path:
    return Path(run) / FOLDER / (f"{stage}.json" if part is None else f"{stage}-{part:05d}.json")


def record(run: str | os.PathLike, stage: str, seconds: float, part: int | None = None,
           started_at: datetime | None = None) -> None:
    """Keep that ``stage`` (or its ``part``) of the run in folder ``run`` took ``seconds``."""
    finished = datetime.now(timezone.utc)
    started_at = started_at or finished - timedelta(seconds=float(seconds))  # a stage that just ended
    write_json(_path(run, stage, part), {
        "stage": stage, "part": part, "seconds": round(float(seconds), 3),
        "started_at": started_at.isoformat(timespec="milliseconds"), "finished_at": finished.isoformat(timespec="milliseconds")})


def forget(run: str | os.PathLike, stage: str, part: int | None = None) -> None:
    """Drop a record (a part that a re-planned run no longer has)."""
    _path(run, stage, part).unlink(missing_ok=True)


@contextmanager
def timed(run: str | os.PathLike, stage: str, part: int | None = None) -> Iterator[None]:
    """Record the wall time of the block as ``stage`` of ``run`` when it succeeds."""
    started_at, started = datetime.now(timezone.utc), time.perf_counter()
    yield
    record(run, stage, time.perf_counter() - started, part, started_at)


def read(run: str | os.PathLike) -> dict[str, dict]:
    """``{stage: {"seconds", "parts", "started_at", "finished_at"}}`` in the order the stages
    started; the parts of a mapped stage are summed (their wall times, not the span)."""
    stages: dict[str, dict] = {}
    records = []
    for path in sorted((Path(run) / FOLDER).glob("*.json")):
        try:
            records.append(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError):
            continue  # a record is a courtesy: an unreadable one is left out, not fatal
    for rec in sorted(records, key=lambda r: r.get("started_at") or ""):
        stage = stages.setdefault(rec["stage"], {"seconds": 0.0, "parts": 0, "started_at": rec.get("started_at")})
        stage["seconds"] = round(stage["seconds"] + float(rec["seconds"]), 3)
        stage["parts"] += 1
        stage["finished_at"] = max(stage.get("finished_at") or "", rec.get("finished_at") or "")
    return stages
