"""``score ads --surface home|search|detail --user ID [--item ID] [--query TEXT]``: the ads of one
request, and the list they are blended into.

- ``home``: the user's home feed with the ads at the ad positions;
- ``detail``: the related row of ``--item`` with the ads (never the viewed listing itself);
- ``search``: the ads for ``--query`` (the search results themselves come from search).

Answers ``{"surface", "user_id", "ads": [...], "items": [...]}``; each ad carries its campaign,
billing, price (the auction's, in the billing's unit) and pCTR, and in ``items`` ``"ad": true``.
"""

from __future__ import annotations

from bunjang_lab.ads.blend import DEFAULT_MAX_SHARE, DEFAULT_POSITIONS
from bunjang_lab.cli import parser
from bunjang_lab.serving.ads import SURFACES, ads_answer
from bunjang_lab.serving.backends import open_cache
from bunjang_lab.serving.commands.common import emit


def run(argv: list[str]) -> int:
    p = parser("python -m bunjang_lab.score ads", "The ads of one request and the list they are blended into.")
    p.add_argument("--surface", choices=SURFACES, required=True)
    p.add_argument("--user", required=True, help="the viewer's user id")
    p.add_argument("--item", help="the viewed listing (detail)")
    p.add_argument("--query", default="", help="the search text (search)")
    p.add_argument("--k", type=int, default=20, help="organic items in the list (default %(default)s)")
    p.add_argument("--slots", type=int, default=2, help="ads per request at most (default %(default)s)")
    p.add_argument("--positions", default=",".join(map(str, DEFAULT_POSITIONS)),
                   help="0-based list positions ads may take (default %(default)s)")
    p.add_argument("--max-share", type=float, default=DEFAULT_MAX_SHARE,
                   help="largest share of a list that ads may take (default %(default)s)")
    p.add_argument("--now-ms", type=int, default=None, help="request time, epoch ms (default: now)")
    p.add_argument("--cache", default=None, help="cache URL (default: BUNJANG_CACHE_URL or sqlite:///var/cache.sqlite)")
    args = p.parse_args(argv)
    params = {"surface": args.surface, "user_id": args.user, "item_id": args.item, "query": args.query, "k": args.k,
              "slots": args.slots, "positions": args.positions, "max_share": args.max_share}
    with open_cache(args.cache) as cache:
        emit(ads_answer(cache, params, now_ms=args.now_ms, plain=True))   # one request: no numpy
    return 0
