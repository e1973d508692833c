"""A synthetic Korean used-goods marketplace with ground truth.

:func:`simulate` writes one JSON Lines file of events per day (the contract of
``docs/events.md``), listing images and a ``labels/`` folder (see ``docs/simulator.md``).

>>> import tempfile, gzip, json, pathlib
>>> out = pathlib.Path(tempfile.mkdtemp())
>>> summary = simulate(users=40, days=1, seed=3, out=out, progress=False)
>>> summary["events"] > 0 and summary["listings"] > 0
True
>>> first = json.loads(gzip.open(out / "2026-10-01.jsonl.gz").readline())
>>> sorted(first)[:3]
['birth_year', 'event_id', 'gender']
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

from bunjang_lab.simulate.market import Config

DEFAULT_START = dt.date(2026, 10, 1)

__all__ = ["Config", "DEFAULT_START", "simulate"]


def simulate(users: int, days: int, seed: int, out: str | Path, start: dt.date = DEFAULT_START,
             config: Config | None = None, compress: bool = True, progress: bool = True,
             workers: int | None = None) -> dict:
    """Simulate ``users`` over ``days`` from ``start`` (KST) into ``out``; returns a summary.

    The same arguments give byte-identical output. ``compress`` writes ``.jsonl.gz`` day
    files (fixed gzip header), else plain ``.jsonl``. ``workers`` processes draw the images
    (default: none for small runs, else up to 2); the output does not depend on it.
    """
    from bunjang_lab.simulate.engine import Simulation

    if users < 10:
        raise ValueError(f"users must be at least 10, got {users}")
    if days < 1:
        raise ValueError(f"days must be at least 1, got {days}")
    if workers is None:
        workers = min(2, os.cpu_count() or 1) if users * days >= 20_000 else 0
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    return Simulation(users, days, seed, out, start, config or Config(), compress, progress, workers).run()
