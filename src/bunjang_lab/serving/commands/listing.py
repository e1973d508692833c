"""``python -m bunjang_lab.score listing --json FILE|-``: fraud risk of a whole listing.

Input: one JSON object (or JSON Lines, one listing per line) with ``title``,
``description``, optionally ``item_id``, ``seller_id`` (or ``user_id``) and ``images``
(file paths or URLs). The answer is :func:`bunjang_lab.serving.listings.score_listing`'s.
A line that is not a usable listing answers ``{"line", "item_id", "error"}``; a picture that
cannot be read is listed under ``parts.images.errors`` (the rest is still scored); either
makes the exit code 1.
"""

from __future__ import annotations

from bunjang_lab.cli import UserError, parser
from bunjang_lab.errors import InvalidInput
from bunjang_lab.serving.commands.common import EXIT_PARTIAL, emit, parse_object, read_input
from bunjang_lab.serving.listings import cached_verdicts, checked_listing, scan_listing_images, score_listing, seller_of


def _read(path: str) -> list[tuple[int, dict | InvalidInput]]:
    """The listings in ``path``: one JSON object, or JSON Lines (a bad line as its error)."""
    content = read_input(path)
    try:
        return [(1, parse_object(content, path))]
    except InvalidInput:
        pass
    listings = []
    for number, line in enumerate(content.splitlines(), 1):
        if line.strip():
            try:
                listings.append((number, parse_object(line, f"{path}:{number}")))
            except InvalidInput as exc:
                listings.append((number, exc))
    if not listings:
        raise UserError(f"{path}: no listing (expected a JSON object with title and description)")
    return listings


def _checked(number: int, obj: dict | InvalidInput) -> tuple[dict | None, dict | None]:
    """(the checked listing, None), or (None, the ``{"line", "item_id", "error"}`` answer)."""
    try:
        if isinstance(obj, InvalidInput):
            raise obj
        return checked_listing(obj), None
    except InvalidInput as exc:
        item_id = obj.get("item_id") if isinstance(obj, dict) else None
        return None, {"line": number, "item_id": item_id if isinstance(item_id, (str, int)) else None, "error": str(exc)}


def _published(cache_url: str | None, listings: list[dict]) -> tuple[dict, dict, str]:
    """Published verdicts and a note on the cache (an unavailable cache is not an error:
    the listing is still scored)."""
    if not any(obj.get("item_id") is not None or seller_of(obj) is not None for obj in listings):
        return {}, {}, "no item_id or seller_id given"
    from bunjang_lab.serving.cache import CacheError
    from bunjang_lab.serving.backends import open_cache

    try:
        with open_cache(cache_url) as cache, cache.snapshot() as snap:
            return (*cached_verdicts(snap, listings), f"version {snap.version}")
    except (CacheError, OSError) as exc:
        return {}, {}, f"unavailable ({exc})"


def run(argv: list[str]) -> int:
    p = parser("python -m bunjang_lab.score listing", "Fraud risk for a whole listing (text, images and seller).")
    p.add_argument("--json", required=True, metavar="FILE", help="listing JSON object, or JSON Lines ('-' for stdin)")
    p.add_argument("--index", default=None, help="image index folder (default: BUNJANG_HOME/image_index)")
    p.add_argument("--no-ocr", action="store_true", help="skip reading text in the pictures")
    p.add_argument("--no-images", action="store_true", help="skip the image checks")
    p.add_argument("--cache", default=None, help="cache URL for the published verdicts (default: BUNJANG_CACHE_URL)")
    p.add_argument("--rules-only", action="store_true", help="do not use the trained text classifier")
    p.add_argument("--models", default=None, help="models folder (default: BUNJANG_MODELS or models/)")
    args = p.parse_args(argv)
    listings = [_checked(number, obj) for number, obj in _read(args.json)]

    from bunjang_lab.serving.commands.text import scorer_from_args

    text_scorer = scorer_from_args(args, strict_cache=False)  # an unusable cache is the answer's note
    cached, sellers, cache_note = _published(args.cache, [listing for listing, _ in listings if listing is not None])
    failed = False
    for listing, error in listings:
        if error is not None:
            emit(error)
            failed = True
            continue
        results = None
        if listing["images"] and not args.no_images:
            results = scan_listing_images(listing["images"], args.index, not args.no_ocr, text_scorer.blocklist)
            failed = failed or any("error" in r for r in results)
        emit(score_listing(listing, text_scorer, results, cached.get(str(listing.get("item_id"))), cache_note,
                           sellers.get(seller_of(listing))))
    return EXIT_PARTIAL if failed else 0
