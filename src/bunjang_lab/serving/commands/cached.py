"""What the cached-lookup commands share: the ``--cache`` and ``--jsonl`` options and the
answer loop (one snapshot for a whole batch, so a batch never mixes two versions)."""

from __future__ import annotations

import argparse
from functools import partial
from typing import Callable

from bunjang_lab.serving.cache import Snapshot
from bunjang_lab.serving.backends import open_cache
from bunjang_lab.serving.commands.common import answer_lines, emit


def add_options(p: argparse.ArgumentParser, batch_fields: str) -> None:
    p.add_argument("--cache", default=None, help="cache URL (default: BUNJANG_CACHE_URL or sqlite:///var/cache.sqlite)")
    p.add_argument("--jsonl", metavar="FILE", default=None,
                   help=f"batch input, one JSON object per line ('-' for stdin) with {batch_fields}")


def serve(args: argparse.Namespace, answer: Callable[[Snapshot, dict], dict], single: dict,
          with_cache: bool = False) -> int:
    """Print ``answer(snapshot, params)`` (``answer(cache, snapshot, params)`` ``with_cache``)
    for ``single`` or for each ``--jsonl`` line (see :func:`~bunjang_lab.serving.commands.common.answer_lines`)."""
    with open_cache(args.cache) as cache, cache.snapshot() as snap:
        ask = partial(answer, cache, snap) if with_cache else partial(answer, snap)
        if args.jsonl is None:
            emit(ask(single))
            return 0
        return answer_lines(args.jsonl, ask)
