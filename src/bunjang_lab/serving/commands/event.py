"""``score event --json FILE|-``: apply click/favorite/search/listing events in real time.

Each line of the input is one event; each prints what it did. A bad line is reported in
its own output line (``{"line": n, "error": ...}``), the others are still applied, and
the exit code is 1. So is it when an event names a listing the published version does not
know: it is recorded (``"unknown_item": true``), and one line on stderr names the listings.
An unusable cache stops the batch with one line on stderr.
"""

from __future__ import annotations

import sys

from bunjang_lab.cli import parser
from bunjang_lab.serving.cache import CacheError
from bunjang_lab.serving.backends import open_cache
from bunjang_lab.serving.commands.common import EXIT_PARTIAL, answer_lines
from bunjang_lab.serving.events import apply_event


def run(argv: list[str]) -> int:
    p = parser("python -m bunjang_lab.score event",
               "Apply events (JSON Lines: click, favorite, search, listing_status, fraud_flag...) to the serving cache.")
    p.add_argument("--json", required=True, metavar="FILE", help="events, one JSON object per line ('-' for stdin)")
    p.add_argument("--cache", default=None, help="cache URL (default: BUNJANG_CACHE_URL or sqlite:///var/cache.sqlite)")
    p.add_argument("--index", default=None, help="image index whose pictures of a confirmed listing join the "
                   "blocklist (default: BUNJANG_HOME/image_index when built)")
    args = p.parse_args(argv)
    unknown: list[str] = []
    from bunjang_lab.fraud.images.cli import default_index
    from bunjang_lab.serving.blocklist import index_pictures

    pictures_of = index_pictures(args.index or default_index())

    def apply(event: dict) -> dict:
        result = apply_event(cache, event, pictures_of)
        if result.get("unknown_item"):
            unknown.append(str(result["item_id"]))
        return result

    with open_cache(args.cache) as cache:
        code = answer_lines(args.json, apply, fatal=CacheError)
    if unknown:
        named = ", ".join(dict.fromkeys(unknown[:5])) + (", ..." if len(unknown) > 5 else "")
        print(f"python -m bunjang_lab.score event: {len(unknown)} event(s) name listings the published version "
              f"does not know ({named}): recorded, nothing re-ranked", file=sys.stderr)
        return EXIT_PARTIAL
    return code
