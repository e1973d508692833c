"""``python -m bunjang_lab.score listing --json FILE|-``: fraud risk of a whole listing.

Input: one JSON object (or JSON Lines, one listing per line) with ``title``,
``description``, optionally ``item_id``, ``seller_id`` (or ``user_id``) and ``images``
(file paths or URLs). The answer combines, with a noisy-OR:

* the text scorer on title and description (rules, plus the classifier when trained);
* the image checks (reused photos from the image index, contact details read by OCR)
  when the listing has images;
* the published batch verdicts when the serving cache has them: the listing's flag, and
  the seller's risk from their behaviour (a flagged seller's risk counts).

``{"item_id", "risk", "flagged", "reasons", "parts": {"text", "images", "cache", "seller"}}``; each
part says what it contributed or why it was skipped. A reason's ``source`` says what its
evidence quotes: ``text`` (this listing's title and description), ``image`` (text read in
its photos), ``behaviour``, ``seller`` (the seller's other listings and messages) or
``published`` (the batch verdict, from the listing as it was then); ``origin`` keeps the
kind of content a ``seller`` or ``published`` reason quotes. A picture that cannot be read is
listed under ``parts.images.errors`` (the rest is still scored) and the exit code is 1.
"""

from __future__ import annotations

import json
import sys

from bunjang_lab.cli import UserError, parser
from bunjang_lab.serving.commands.common import emit, open_input, parse_jsonl

EXIT_PARTIAL = 1


def _read(path: str) -> list[tuple[int, dict]]:
    """The listings in ``path``: one JSON object, or JSON Lines."""
    stream = open_input(path)
    try:
        content = stream.read()
    finally:
        if stream is not sys.stdin:
            stream.close()
    try:
        whole = json.loads(content)
    except json.JSONDecodeError:
        whole = None
    if isinstance(whole, dict):
        return [(1, whole)]
    listings = list(parse_jsonl(content.splitlines(), path))
    if not listings:
        raise UserError(f"{path}: no listing (expected a JSON object with title and description)")
    return listings


def _seller_of(listing: dict) -> str | None:
    seller = listing.get("seller_id", listing.get("user_id"))
    return None if seller is None else str(seller)


def _cached_verdicts(cache_url: str | None, listings: list[dict]) -> tuple[dict, dict, str]:
    """Published verdicts: item_id -> flag, seller_id -> seller record, and a note on the
    cache (an unavailable cache is not an error: the listing is still scored)."""
    item_ids = [str(obj["item_id"]) for obj in listings if obj.get("item_id") is not None]
    seller_ids = sorted({s for s in map(_seller_of, listings) if s is not None})
    if not item_ids and not seller_ids:
        return {}, {}, "no item_id or seller_id given"
    from bunjang_lab.serving import keys
    from bunjang_lab.serving.cache import CacheError
    from bunjang_lab.serving.backends import open_cache

    try:
        with open_cache(cache_url) as cache, cache.snapshot() as snap:
            flags = snap.get_many([keys.flag(i) for i in item_ids])
            sellers = snap.get_many([keys.seller(s) for s in seller_ids])
            return ({i: f for i, f in zip(item_ids, flags) if f is not None},
                    {s: v for s, v in zip(seller_ids, sellers) if v is not None}, f"version {snap.version}")
    except (CacheError, OSError) as exc:
        return {}, {}, f"unavailable ({exc})"


def score_listing(listing: dict, text_scorer, images: list[dict] | None, cached: dict | None, cache_note: str,
                  seller: dict | None = None) -> dict:
    """The combined answer of one listing (the parts already computed).

    ``seller`` is the seller's published verdict: it is reported under ``parts.seller`` and
    counts towards the risk when the seller is flagged (as the batch flags such listings).
    """
    from bunjang_lab.fraud.risk import attributed, flagged, noisy_or

    text = "\n".join(str(listing.get(k) or "") for k in ("title", "description")).strip()
    text_part = text_scorer.score(text)
    reasons = list(text_part["reasons"])
    risks = [text_part["risk"]]
    parts = {"text": {"risk": text_part["risk"], "model": text_part["model"]}}
    if text_part.get("truncated"):
        parts["text"]["truncated"] = True
    if images is None:
        parts["images"] = {"skipped": "no images"}
    else:
        usable = [r for r in images if "error" not in r]
        parts["images"] = {"risk": max((r["risk"] for r in usable), default=0.0), "checked": len(usable),
                           "errors": [{"image": r["image"], "error": r["error"]} for r in images if "error" in r]}
        risks.append(parts["images"]["risk"])
        seen = set()
        for result in usable:
            for reason in result["reasons"]:
                if (reason["code"], reason["evidence"]) not in seen:
                    seen.add((reason["code"], reason["evidence"]))
                    reasons.append(reason)
    if cached:
        parts["cache"] = {"risk": cached.get("risk"), "flagged": True, "source": cache_note}
        risks.append(float(cached.get("risk") or 0.0))
        # the published verdict scored the listing as it was then: its quotes are marked as such
        quoted = {(r["code"], r["evidence"]) for r in reasons}
        reasons += [r for r in attributed(cached.get("reasons", []), "published")
                    if (r["code"], r["evidence"]) not in quoted and r not in reasons]
    else:
        parts["cache"] = {"flagged": False, "source": cache_note}
    if seller is None:
        parts["seller"] = {"skipped": "no published verdict for this seller"}
    else:
        parts["seller"] = {k: seller.get(k) for k in ("risk", "flagged", "anomaly_score")}
        if seller.get("flagged"):
            risks.append(float(seller.get("risk") or 0.0))
            reasons += [r for r in attributed(seller.get("reasons", []), "seller") if r not in reasons]
    score = noisy_or(risks)
    reasons.sort(key=lambda r: -float(r.get("weight", 0)))
    return {"item_id": listing.get("item_id"), "risk": score, "flagged": flagged(score), "reasons": reasons,
            "parts": parts}


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
    listings = _read(args.json)

    from bunjang_lab.serving.commands.text import scorer_from_args

    text_scorer = scorer_from_args(args)
    cached, sellers, cache_note = _cached_verdicts(args.cache, [obj for _, obj in listings])
    failed = False
    for number, listing in listings:
        if not any(isinstance(listing.get(k), str) for k in ("title", "description")):
            emit({"line": number, "item_id": listing.get("item_id"), "error": "a listing needs a title or a description"})
            failed = True
            continue
        images = listing.get("images") or []
        if not isinstance(images, list):
            emit({"line": number, "item_id": listing.get("item_id"), "error": "images must be a list of paths"})
            failed = True
            continue
        results = None
        if images and not args.no_images:
            results = _scan_images([str(i) for i in images], args.index, not args.no_ocr)
            failed = failed or any("error" in r for r in results)
        emit(score_listing(listing, text_scorer, results, cached.get(str(listing.get("item_id"))), cache_note,
                           sellers.get(_seller_of(listing))))
    return EXIT_PARTIAL if failed else 0


def _scan_images(images: list[str], index: str | None, ocr: bool) -> list[dict]:
    """The image checks; without a built index, OCR only (no photo matching)."""
    from bunjang_lab.fraud.images.cli import default_index
    from bunjang_lab.fraud.images.index import MANIFEST
    from bunjang_lab.fraud.images.scan import scan_images

    folder = index or default_index()
    if index is None and not (folder / MANIFEST).exists():
        folder = None
    return scan_images(images, folder, ocr=ocr)
