"""What the cached-lookup commands share: the ``--cache`` and ``--jsonl`` options and the
answer loop (one snapshot for a whole batch, so a batch never mixes two versions)."""

from __future__ import annotations

import argparse
from typing import Any, Callable

from bunjang_lab.cli import UserError
from bunjang_lab.errors import BunjangError
from bunjang_lab.serving.cache import Snapshot
from bunjang_lab.serving.backends import open_cache
from bunjang_lab.serving.commands.common import emit, read_jsonl

EXIT_PARTIAL = 1
"""Exit code of a batch in which some lines failed (each failure is reported in its line)."""


def add_options(p: argparse.ArgumentParser, batch_fields: str) -> None:
    p.add_argument("--cache", default=None, help="cache URL (default: BUNJANG_CACHE_URL or sqlite:///var/cache.sqlite)")
    p.add_argument("--jsonl", metavar="FILE", default=None,
                   help=f"batch input, one JSON object per line ('-' for stdin) with {batch_fields}")


def integer(value: Any, name: str, default: int | None = None) -> int | None:
    """``value`` as an int (``default`` when absent); anything else is a one-line error."""
    if value is None:
        return default
    try:
        return int(value)
    except (TypeError, ValueError):
        raise UserError(f"{name} must be an integer, got {value!r}") from None


def serve(args: argparse.Namespace, answer: Callable[[Snapshot, dict], dict], single: dict) -> int:
    """Print ``answer(snapshot, params)`` for ``single`` or for each ``--jsonl`` line.

    In a batch, a line that fails prints ``{"line": n, "error": ...}`` and the others are
    still answered; the exit code is then :data:`EXIT_PARTIAL`.
    """
    with open_cache(args.cache) as cache, cache.snapshot() as snap:
        if args.jsonl is None:
            emit(answer(snap, single))
            return 0
        failed = False
        for number, params in read_jsonl(args.jsonl):
            try:
                emit(answer(snap, params))
            except BunjangError as exc:
                emit({"line": number, "error": str(exc)})
                failed = True
        return EXIT_PARTIAL if failed else 0
