"""``score suggest --prefix TEXT [--user ID] [--k 10]``: search keyword suggestions."""

from __future__ import annotations

from bunjang_lab.cli import UserError, parser
from bunjang_lab.serving import queries
from bunjang_lab.serving.commands.cached import add_options, serve


def run(argv: list[str]) -> int:
    p = parser("python -m bunjang_lab.score suggest",
               "Search suggestions for a typed prefix (jamo such as ㄴ/낭, chosung such as ㄴㅇㅋ, any Latin case).")
    p.add_argument("--prefix", help="what the user typed so far")
    p.add_argument("--user", help="boost queries of this user's categories")
    p.add_argument("--k", type=int, default=10, help="suggestions to return (default 10)")
    add_options(p, "prefix and optionally user_id, k")
    args = p.parse_args(argv)
    if args.jsonl is None and args.prefix is None:
        raise UserError("--prefix TEXT (or --jsonl FILE) is required")
    return serve(args, queries.suggest, {"prefix": args.prefix, "user_id": args.user, "k": args.k})
