"""``score related --item ID [--k 20]``: related items (substitutes) for a listing."""

from __future__ import annotations

from bunjang_lab.cli import UserError, parser
from bunjang_lab.serving import queries
from bunjang_lab.serving.commands.cached import add_options, serve


def run(argv: list[str]) -> int:
    p = parser("python -m bunjang_lab.score related", "Related items (substitutes) for a listing.")
    p.add_argument("--item", help="listing id")
    p.add_argument("--k", type=int, default=20, help="items to return (default 20)")
    add_options(p, "item_id and optionally k")
    args = p.parse_args(argv)
    if args.jsonl is None and not args.item:
        raise UserError("--item ID (or --jsonl FILE) is required")
    return serve(args, queries.related, {"item_id": args.item, "k": args.k})
