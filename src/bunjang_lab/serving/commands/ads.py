"""``score ads --surface home|search|detail --user ID [--item ID] [--query TEXT]``: the ads of one
request, and the list they are blended into.

- ``home``: the user's home feed with the ads at the ad positions;
- ``detail``: the related row of ``--item`` with the ads (never the viewed listing itself);
- ``search``: the ads for ``--query`` (the search results themselves come from search).

Answers ``{"surface", "user_id", "ads": [...], "items": [...]}``; each ad carries its campaign,
billing, price (the auction's, in the billing's unit) and pCTR, and in ``items`` ``"ad": true``.
"""

from __future__ import annotations

import time

from bunjang_lab.ads.blend import DEFAULT_MAX_SHARE, DEFAULT_POSITIONS, blend
from bunjang_lab.cli import UserError, parser
from bunjang_lab.serving import lookup
from bunjang_lab.serving.ads import ads_for
from bunjang_lab.serving.backends import open_cache
from bunjang_lab.serving.commands.common import emit

SURFACES = ("home", "search", "detail")


def _positions(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(p) for p in text.split(",") if p.strip())
    except ValueError:
        raise UserError(f"--positions takes comma-separated whole numbers, got {text!r}") from None


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
    if args.surface == "detail" and not args.item:
        raise UserError("--surface detail needs --item ID")
    if args.surface == "search" and not args.query.strip():
        raise UserError("--surface search needs --query TEXT")
    now_ms = args.now_ms if args.now_ms is not None else int(time.time() * 1000)
    with open_cache(args.cache) as cache:
        ads = ads_for(cache, args.surface, args.user, item_id=args.item, query=args.query, now_ms=now_ms,
                      slots=args.slots)
        with cache.snapshot() as snap:
            if args.surface == "home":
                organic = lookup.recommend(snap, args.user, k=args.k)["items"]
            elif args.surface == "detail":
                organic = lookup.related(snap, args.item, k=args.k)["items"]
            else:
                organic = []
    items = blend(organic, ads, _positions(args.positions), args.max_share) if organic else \
        [{**ad, "ad": True} for ad in ads]
    emit({"surface": args.surface, "user_id": args.user, "ads": ads, "items": items})
    return 0
