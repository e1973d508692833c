"""``score related --item ID [--k 10] [--explain]``: related items (substitutes) for a listing."""

from __future__ import annotations

from bunjang_lab.cli import UserError, parser
from bunjang_lab.serving import lookup, queries
from bunjang_lab.serving.commands.cached import add_options, serve


def run(argv: list[str]) -> int:
    p = parser("python -m bunjang_lab.score related", "Related items (substitutes) for a listing.")
    p.add_argument("--item", help="listing id")
    p.add_argument("--k", type=int, default=lookup.RELATED_K, help="items to return (default %(default)s)")
    p.add_argument("--explain", action="store_true", help="add each item's title, category, price and listing age")
    add_options(p, "item_id and optionally k, explain")
    args = p.parse_args(argv)
    if args.jsonl is None and not args.item:
        raise UserError("--item ID (or --jsonl FILE) is required")
    return serve(args, queries.related, {"item_id": args.item, "k": args.k, "explain": args.explain})
