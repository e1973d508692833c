"""``score event --json FILE|-``: apply click/favorite/search/listing events in real time.

Each line of the input is one event; each prints what it did. A bad line is reported in
its own output line (``{"line": n, "error": ...}``) and the others are still applied.
"""

from __future__ import annotations

from bunjang_lab.cli import parser
from bunjang_lab.errors import BunjangError
from bunjang_lab.serving.cache import CacheError
from bunjang_lab.serving.backends import open_cache
from bunjang_lab.serving.commands.cached import EXIT_PARTIAL
from bunjang_lab.serving.commands.common import emit, read_jsonl
from bunjang_lab.serving.events import apply_event


def run(argv: list[str]) -> int:
    p = parser("python -m bunjang_lab.score event",
               "Apply events (JSON Lines: click, favorite, search, listing_status, fraud_flag...) to the serving cache.")
    p.add_argument("--json", required=True, metavar="FILE", help="events, one JSON object per line ('-' for stdin)")
    p.add_argument("--cache", default=None, help="cache URL (default: BUNJANG_CACHE_URL or sqlite:///var/cache.sqlite)")
    args = p.parse_args(argv)
    failed = False
    with open_cache(args.cache) as cache:
        for number, event in read_jsonl(args.json):
            try:
                emit(apply_event(cache, event))
            except CacheError:
                raise  # the cache itself is unusable: stop, one line
            except BunjangError as exc:
                emit({"line": number, "error": str(exc)})
                failed = True
    return EXIT_PARTIAL if failed else 0
