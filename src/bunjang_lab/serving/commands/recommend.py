"""``score recommend --user ID [--k 20] [--gender M|F] [--birth-year YYYY]``: a user's home feed."""

from __future__ import annotations

from bunjang_lab.cli import UserError, parser
from bunjang_lab.serving import lookup
from bunjang_lab.serving.commands.cached import add_options, integer, serve


def answer(snap, params: dict) -> dict:
    user_id = params.get("user_id")
    if not user_id:
        raise UserError("a user id is required (--user ID, or user_id in each --jsonl line)")
    return lookup.recommend(snap, str(user_id), k=integer(params.get("k"), "k", 20),
                            gender=params.get("gender"), birth_year=integer(params.get("birth_year"), "birth_year"))


def run(argv: list[str]) -> int:
    p = parser("python -m bunjang_lab.score recommend",
               "A user's home feed; an unknown user gets their segment's list (with --gender/--birth-year) or the global one.")
    p.add_argument("--user", help="user id")
    p.add_argument("--k", type=int, default=20, help="items to return (default 20)")
    p.add_argument("--gender", choices=["M", "F"], help="for an unknown user: pick their segment's list")
    p.add_argument("--birth-year", type=int, help="for an unknown user: pick their segment's list")
    add_options(p, "user_id and optionally k, gender, birth_year")
    args = p.parse_args(argv)
    if args.jsonl is None and not args.user:
        raise UserError("--user ID (or --jsonl FILE) is required")
    single = {"user_id": args.user, "k": args.k, "gender": args.gender, "birth_year": args.birth_year}
    return serve(args, answer, single)
