"""``score popular [--gender M|F] [--age-band 20s] [--k 20] [--explain]``: the popular list."""

from __future__ import annotations

from bunjang_lab.cli import parser
from bunjang_lab.marketplace.segments import AGE_BANDS, GENDERS
from bunjang_lab.serving import queries
from bunjang_lab.serving.commands.cached import add_options, serve


def run(argv: list[str]) -> int:
    p = parser("python -m bunjang_lab.score popular",
               "The popular list: overall, for a gender × age-band segment, or for a gender or age band alone.")
    p.add_argument("--gender", choices=GENDERS, help="M, F or unknown")
    p.add_argument("--age-band", choices=AGE_BANDS, help=", ".join(AGE_BANDS))
    p.add_argument("--k", type=int, default=20, help="items to return (default 20)")
    p.add_argument("--explain", action="store_true", help="add each item's title, category, price and listing age")
    add_options(p, "optionally gender, age_band, k, explain")
    args = p.parse_args(argv)
    return serve(args, queries.popular, {"gender": args.gender, "age_band": args.age_band, "k": args.k, "explain": args.explain})
