"""``score recommend --user ID [--k 20] [--gender M|F] [--birth-year YYYY] [--explain]``: a user's home feed,
with the home surface's ads blended in (``"ad": true``) when the cache holds campaigns."""

from __future__ import annotations

from functools import partial

from bunjang_lab.cli import UserError, parser
from bunjang_lab.serving.ads import recommend_answer
from bunjang_lab.serving.commands.cached import add_options, serve


def run(argv: list[str]) -> int:
    p = parser("python -m bunjang_lab.score recommend",
               "A user's home feed; an unknown user gets their segment's list (with --gender/--birth-year) or the global one.")
    p.add_argument("--user", help="user id")
    p.add_argument("--k", type=int, default=20, help="items to return (default 20)")
    p.add_argument("--gender", choices=["M", "F"], help="for an unknown user: pick their segment's list")
    p.add_argument("--birth-year", type=int, help="for an unknown user: pick their segment's list")
    p.add_argument("--explain", action="store_true", help="add each item's title, category, price and listing age")
    add_options(p, "user_id and optionally k, gender, birth_year, explain")
    args = p.parse_args(argv)
    if args.jsonl is None and not args.user:
        raise UserError("--user ID (or --jsonl FILE) is required")
    single = {"user_id": args.user, "k": args.k, "gender": args.gender, "birth_year": args.birth_year, "explain": args.explain}
    # one request per process: the standard-library auction (importing numpy costs more than the lookup)
    return serve(args, partial(recommend_answer, plain=True), single, with_cache=True)
