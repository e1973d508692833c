"""A synthetic Korean used-goods marketplace with ground truth.

:func:`simulate` writes one JSON Lines file of events per day (the contract of
``docs/events.md``), listing images and a ``labels/`` folder (see ``docs/simulator.md``).

>>> import tempfile, gzip, json, pathlib
>>> tmp = tempfile.TemporaryDirectory()
>>> out = pathlib.Path(tmp.name)
>>> summary = simulate(users=40, days=1, seed=3, out=out, progress=False)
>>> summary["events"] > 0 and summary["listings"] > 0
True
>>> first = json.loads(gzip.open(out / "2026-10-01.jsonl.gz").readline())
>>> sorted(first)[:3]
['birth_year', 'event_id', 'gender']
>>> tmp.cleanup()
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

from bunjang_lab.simulate.market import Config

DEFAULT_START = dt.date(2026, 10, 1)

__all__ = ["Config", "DEFAULT_START", "simulate", "previous_output"]


def previous_output(out: Path) -> list[Path]:
    """The files of an earlier simulation in ``out`` (day files, images, labels)."""
    if not out.is_dir():
        return []
    return sorted([*out.glob("????-??-??.jsonl"), *out.glob("????-??-??.jsonl.gz"), *out.glob("images/*.jpg"),
                   *out.glob("labels/*.csv"), *out.glob("labels/*.jsonl")])


def simulate(users: int, days: int, seed: int, out: str | Path, start: dt.date = DEFAULT_START,
             config: Config | None = None, compress: bool = True, progress: bool = True,
             workers: int | None = None, overwrite: bool = False) -> dict:
    """Simulate ``users`` over ``days`` from ``start`` (KST) into ``out``; returns a summary.

    The same arguments give byte-identical output. ``compress`` writes ``.jsonl.gz`` day
    files (fixed gzip header), else plain ``.jsonl``. ``workers`` processes draw the images
    (default: none for small runs, else up to 2); the output does not depend on it.
    A folder that already holds a simulation raises :class:`FileExistsError` unless
    ``overwrite``, which first deletes the old day files, images and labels (nothing else).
    """
    from bunjang_lab.simulate.engine import Simulation

    if users < 10:
        raise ValueError(f"users must be at least 10, got {users}")
    if days < 1:
        raise ValueError(f"days must be at least 1, got {days}")
    if workers is None:
        workers = min(2, os.cpu_count() or 1) if users * days >= 20_000 else 0
    out = Path(out)
    previous = previous_output(out)
    if previous and not overwrite:
        raise FileExistsError(f"{out} already holds a simulation ({previous[0].name}...); "
                              "choose an empty folder or overwrite it")
    for path in previous:
        path.unlink()
    out.mkdir(parents=True, exist_ok=True)
    return Simulation(users, days, seed, out, start, config or Config(), compress, progress, workers).run()
