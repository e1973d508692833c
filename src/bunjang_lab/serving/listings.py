"""Fraud risk of a whole listing (``score listing`` and ``POST /api/v1/listing``).

The answer combines, with a noisy-OR:

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
kind of content a ``seller`` or ``published`` reason quotes.
"""

from __future__ import annotations

from typing import Any

from bunjang_lab.errors import InvalidInput
from bunjang_lab.serving import keys
from bunjang_lab.serving.cache import Snapshot
from bunjang_lab.serving.inputs import identifier, short_text

MAX_IMAGES = 20
"""Most pictures one listing may ask to check."""


def checked_listing(listing: Any) -> dict:
    """The listing with a string title or description, ids as strings and images a list of
    paths; anything else is an :class:`InvalidInput`."""
    if not isinstance(listing, dict):
        raise InvalidInput("a listing must be a JSON object")
    if not any(isinstance(listing.get(k), str) for k in ("title", "description")):
        raise InvalidInput("a listing needs a title or a description")
    out = dict(listing)
    for field in ("item_id", "seller_id", "user_id"):
        if out.get(field) is not None:
            out[field] = identifier(out[field], field)
    images = out.get("images") or []
    if not isinstance(images, list) or not all(isinstance(i, str) for i in images):
        raise InvalidInput("images must be a list of paths")
    if len(images) > MAX_IMAGES:
        raise InvalidInput(f"a listing may carry at most {MAX_IMAGES} images, got {len(images)}")
    out["images"] = [short_text(i, "image", 2000) for i in images]
    return out


def seller_of(listing: dict) -> str | None:
    seller = listing.get("seller_id", listing.get("user_id"))
    return None if seller is None else str(seller)


def cached_verdicts(snap: Snapshot, listings: list[dict]) -> tuple[dict, dict]:
    """Published verdicts of these listings: item_id -> flag, seller_id -> seller record."""
    item_ids = [str(obj["item_id"]) for obj in listings if obj.get("item_id") is not None]
    seller_ids = sorted({s for s in map(seller_of, listings) if s is not None})
    flags = snap.get_many([keys.flag(i) for i in item_ids])
    sellers = snap.get_many([keys.seller(s) for s in seller_ids])
    return ({i: f for i, f in zip(item_ids, flags) if f is not None},
            {s: v for s, v in zip(seller_ids, sellers) if v is not None})


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
                           "errors": [{k: r[k] for k in ("image", "error", "error_code")} for r in images if "error" in r]}
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


def scan_listing_images(images: list[str], index: str | None, ocr: bool, blocklist=None) -> list[dict]:
    """The image checks; without a built index, OCR only (no photo matching); ``blocklist``:
    the confirmed scams' (their pictures give ``confirmed_image``)."""
    from bunjang_lab.fraud.images.cli import default_index
    from bunjang_lab.fraud.images.index import MANIFEST
    from bunjang_lab.fraud.images.scan import scan_images

    folder = index or default_index()
    if index is None and not (folder / MANIFEST).exists():
        folder = None
    return scan_images(images, folder, ocr=ocr, blocklist=blocklist)
