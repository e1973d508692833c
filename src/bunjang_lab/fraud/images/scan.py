"""Image fraud checks end to end: hash, read the text, match, explain.

* :func:`scan_images` answers ``score image``: one JSON-ready dict per file, in order.
* :func:`plan_shards`, :func:`scan_shard` and :func:`merge_shards` are the batch path
  (the Airflow ``fraud_scan`` DAG maps :func:`scan_shard` over shards): shards do the
  expensive per-picture work (decode, hash, OCR) into part files; the merge adds every
  picture to the index under its lock, then matches each one against everything stored
  before it, so the photo that was listed first is the original and its later copies
  are the reuse.

A picture that cannot be read or analysed is an ``{"image", "error", "error_code"}``
answer of its own (codes in ``docs/images.md``); the pictures around it carry on. Where a
picture may be read from is :class:`~bunjang_lab.fraud.images.sources.ImageSources`'
business: the references of a lake or a listing obey its roots and protocols.

Reasons follow ``docs/architecture.md``: ``{"code", "category", "weight", "evidence",
"source": "image"}``; OCR text goes through the same rules as listing text
(:func:`bunjang_lab.fraud.rules.reasons`) and personal data is masked
(:func:`bunjang_lab.fraud.mask.mask`).
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

from bunjang_lab import files
from bunjang_lab.fraud.categories import ACCOUNT_TRANSFER, EXTERNAL_CHANNEL, IMAGE_TEXT, PHISHING_LINK, STOLEN_IMAGE

SOURCE = "image"
#: Weight of a photo already listed by another seller (a stolen photo), for a strong
#: (verified) match, which flags on its own, and a loose one, which adds to other evidence.
REUSE_OTHER_SELLER_WEIGHT = 0.7
REUSE_LOOSE_MATCH_WEIGHT = 0.35
#: Weight of one seller putting the same photo on many listings (mass-posting).
REUSE_SAME_SELLER_WEIGHT = 0.4
#: ... from this many *other* listings of the same seller on.
SAME_SELLER_LISTINGS = 2
#: Rule categories that, found in a picture, also raise the ``image_text`` reason.
CONTACT_CATEGORIES = (EXTERNAL_CHANNEL, PHISHING_LINK, ACCOUNT_TRANSFER)
#: ``flagged`` when the combined risk reaches this (same scale as the text scorer).
FLAG_THRESHOLD = 0.5
OCR_CACHE = "ocr_cache.sqlite"
#: A word of read text that may hold a contact detail: letters, digits and their joiners
#: around at least one digit.
_READ_WORD = re.compile(r"[A-Za-z0-9@._\-]*\d[A-Za-z0-9@._\-]*")
MAX_EVIDENCE = 80
#: Weight of a number read in a picture in the shape of a bank account with no bank's name
#: read beside it (:func:`account_shaped`): flags on its own, below the rules' account reasons.
ACCOUNT_SHAPE_WEIGHT = 0.8
_ACCOUNT_SHAPE = re.compile(r"(?<![0-9A-Za-z-])[0-9]{2,7}(?:-[0-9]{2,7}){2,3}(?![0-9A-Za-z]|-[0-9])")
_DATE_START = re.compile(r"(?:19|20)[0-9]{2}-(?:0?[1-9]|1[0-2])-(?:0?[1-9]|[12][0-9]|3[01])(?![0-9])")
#: Labels of numbers that are no one's account, besides the serial, order and parcel labels
#: of :func:`~bunjang_lab.fraud.phones.after_serial_label`.
_OTHER_NUMBER_LABEL = re.compile(r"(?:사업자|등록|승인|카드|접수|예약|회원|쿠폰|일련|바코드|isbn|imei)"
                                 r"(?: ?번호)?[^0-9a-z가-힣]{0,3}$")
_LATIN_LABEL = re.compile(r"[a-z][a-z/.#]*[ :.#]{0,2}$")
_SPACE_IN_WORD = re.compile(r"(?<=[가-힣]) (?=[가-힣])")
#: What odd pixel content can make the numeric work of a picture raise (the 20000x8 strip
#: made OCR's resize raise ValueError): that picture's error, never its shard's.
CONTENT_ERRORS = (ValueError, ArithmeticError, IndexError, TypeError)
log = logging.getLogger(__name__)


@dataclass
class Analysed:
    """One picture after the per-file work: hashes and text, or an error."""

    image: str
    key: str | None = None
    hashes: "object | None" = None
    ocr_text: str = ""
    error: str | None = None
    ocr_capped: tuple[str, ...] = ()
    error_code: str | None = None


def analyse(image: str, reader=None, store: bool = True, query: bool = True, sources=None) -> Analysed:
    """Decode, hash and (with a :class:`~bunjang_lab.fraud.images.ocr.Reader`) OCR one
    file; ``store``: with the hashes the index keeps, ``query``: with those it is
    searched with (:func:`~bunjang_lab.fraud.images.hashing.hash_image`); ``sources``:
    the :class:`~bunjang_lab.fraud.images.sources.ImageSources` rules (default: the
    ``BUNJANG_IMAGE_*`` settings)."""
    from bunjang_lab.fraud.images.hashing import CROP_BOXES, hash_image
    from bunjang_lab.fraud.images.loading import ImageError, one_line, open_image
    from bunjang_lab.fraud.images.sources import ImageSources

    try:
        data = (sources or ImageSources.from_env()).read(image)
        img = open_image(data)
    except ImageError as exc:
        return Analysed(image, error=str(exc), error_code=exc.code)
    except OSError as exc:
        return Analysed(image, error=f"cannot read file ({exc.strerror or exc})", error_code="unreadable")
    key = hashlib.sha256(data).hexdigest()
    try:
        reading = reader.read(img) if reader is not None else None
        hashes = hash_image(img, crops=CROP_BOXES if store else (), with_boxes=store, with_views=query)
    except CONTENT_ERRORS as exc:
        log.exception("analysing %s failed", image)
        return Analysed(image, key, error=f"analysis failed ({type(exc).__name__}: {one_line(exc)})",
                        error_code="analysis_failed")
    return Analysed(image, key, hashes, reading.text if reading else "", ocr_capped=reading.capped if reading else ())


def image_reasons(matches: Sequence[dict], seller: str | None = None) -> list[dict]:
    """The ``image_reuse`` reason for matches of *other* listings (``seller`` unknown: any
    match counts as another seller's)."""
    by_others = [m for m in matches if seller is None or m["seller"] != seller]
    own_listings = {m["listing"] for m in matches if seller is not None and m["seller"] == seller}
    if by_others:
        first = by_others[0]
        more = f" and {len(by_others) - 1} more" if len(by_others) > 1 else ""
        by = f" of seller {first['seller']}" if first["seller"] is not None else ""
        evidence = f"same photo as listing {first['listing']}{by} (distance {first['distance']}){more}"
        weight = REUSE_OTHER_SELLER_WEIGHT if first["strong"] else REUSE_LOOSE_MATCH_WEIGHT
    elif len(own_listings) >= SAME_SELLER_LISTINGS:
        evidence = f"same photo on {len(own_listings)} other listings of this seller"
        weight = REUSE_SAME_SELLER_WEIGHT
    else:
        return []
    return [{"code": "image_reuse", "category": STOLEN_IMAGE, "weight": weight, "evidence": evidence, "source": SOURCE}]


def text_reasons(ocr_text: str) -> list[dict]:
    """The rules' reasons for text read in a picture, plus :func:`account_shaped` numbers
    the rules leave without a bank's name, plus ``image_text`` when contact details or
    payment lures were among them."""
    from bunjang_lab.fraud.rules import reasons

    found = reasons(ocr_text, source=SOURCE)
    if not any(r["category"] == ACCOUNT_TRANSFER for r in found):
        found += [{"code": "account_shaped_number", "category": ACCOUNT_TRANSFER, "weight": ACCOUNT_SHAPE_WEIGHT,
                   "evidence": _clip(mask_read_text(number)), "source": SOURCE} for number in account_shaped(ocr_text)[:1]]
    contact = [r for r in found if r["category"] in CONTACT_CATEGORIES]
    if contact:
        found.append({"code": "image_text", "category": IMAGE_TEXT, "weight": max(r["weight"] for r in contact),
                      "evidence": _clip(mask_read_text(ocr_text)), "source": SOURCE})
    return found


def account_shaped(text: str) -> list[str]:
    """The numbers of ``text`` (read in a picture) written as Korean banks write their
    accounts: 3 or 4 groups of unequal lengths joined by hyphens, 10-14 digits
    (110-482-719305, 1002-123-456789, 352-0123-4567-13), neither a mobile number nor a
    date, and not after a label naming another kind of number (운송장, 주문, 사업자...).
    On a busy photo the bank's name beside it is misread far more often than the digits
    (the recogniser reads digits well, tesseract's Hangul there is noise: ``기라 시 글`` for
    ``계좌 신한``), so the shape alone is the evidence there; parcel numbers (4-4-4), card
    numbers (4-4-4-4), dates, sizes and prices are not of it.

    >>> account_shaped("하 빠 베 여고 615-66-858265 / 운송장번호 60123-4567-8901 / 010-1234-5678")
    ['615-66-858265']
    >>> account_shaped("2024-05-12-1234 구매 / 6893-1234-5678 / 운 송 장 60123-4567-8901 / SIN 5394-046758-601")
    []
    """
    from bunjang_lab.fraud.phones import after_serial_label, is_korean_mobile

    out = []
    for match in _ACCOUNT_SHAPE.finditer(text):
        groups = match.group().split("-")
        digits = "".join(groups)
        if not (10 <= len(digits) <= 14 and len(set(map(len, groups))) > 1 and not is_korean_mobile(digits)
                and not _DATE_START.match(match.group())):
            continue
        # the label as written, its syllables joined (tesseract reads 운 송 장): a product's
        # code follows a Latin label (S/N, read SIN), a bank's account a Hangul word
        before = _SPACE_IN_WORD.sub("", text[max(0, match.start() - 24):match.start()]).lower()
        if not (after_serial_label(before, len(before)) or _OTHER_NUMBER_LABEL.search(before) or _LATIN_LABEL.search(before)):
            out.append(match.group())
    return out


def mask_read_text(text: str) -> str:
    """``text`` read in a picture with personal data masked: what
    :func:`bunjang_lab.fraud.mask.mask` finds, and also every word of 4 or more digits,
    or of letters and digits and 4 or more characters, since OCR misreads contact details
    past the patterns (``O1-1234-``, ``At scam77``).

    >>> mask_read_text("카톡 At scam77 / O1-1234- 가격 150,000원")
    '카톡 At sc**77 / O1-**34- 가격 150,000원'
    """
    from bunjang_lab.fraud.mask import masked, personal_spans
    from bunjang_lab.fraud.normalise import normalise

    spans = personal_spans(normalise(text))
    for word in _READ_WORD.finditer(text):
        digits = sum(ch.isdigit() for ch in word.group())
        if digits >= 4 or (len(word.group()) >= 4 and digits < len(word.group())):
            spans.append(word.span())
    return masked(text, sorted(spans))


def risk(reasons: Iterable[dict]) -> float:
    """Noisy-OR of the reasons' weights: independent pieces of evidence add up.

    >>> risk([{"weight": 0.5}, {"weight": 0.5}])
    0.75
    """
    clean = 1.0
    for reason in reasons:
        clean *= 1.0 - float(reason["weight"])
    return round(1.0 - clean, 4)


def verdict(analysed: Analysed, matches: list[dict], seller: str | None = None, confirmed: Sequence[dict] = ()) -> dict:
    """The ``score image`` object of one analysed picture; ``ocr_capped`` lists the caps
    of :class:`~bunjang_lab.fraud.images.ocr.Budget` the reading hit, when it hit any;
    ``confirmed``: its ``confirmed_image`` reasons (:func:`confirmed_picture_reasons`)."""
    if analysed.error:
        return {"image": analysed.image, "error": analysed.error, "error_code": analysed.error_code}
    reasons = [*confirmed] + image_reasons(matches, seller) + text_reasons(analysed.ocr_text)
    reasons.sort(key=lambda r: -r["weight"])
    score = risk(reasons)
    out = {
        "image": analysed.image,
        "matches": [{k: m[k] for k in ("image", "listing", "seller", "distance")} for m in matches],
        "ocr_text": mask_read_text(analysed.ocr_text),
        "risk": score,
        "flagged": score >= FLAG_THRESHOLD,
        "reasons": reasons,
    }
    if analysed.ocr_capped:
        out["ocr_capped"] = list(analysed.ocr_capped)
    return out


def scan_images(paths: Sequence[str], index_path=None, ocr: bool = True, sources=None, blocklist=None) -> list[dict]:
    """Per file, in order, the ``score image`` object (or ``{"image", "error", "error_code"}``).

    ``index_path`` is an image index folder (``None``: no photo matching); its OCR cache is
    used and filled. A missing index folder is a :class:`FileNotFoundError`. ``sources``
    as for :func:`analyse`. ``blocklist`` (a :class:`~bunjang_lab.fraud.confirmed.Blocklist`):
    the confirmed scams' pictures, found as for :func:`confirmed_picture_reasons`.
    """
    from bunjang_lab.fraud.images.sources import ImageSources

    index = open_index(index_path, must_exist=True) if index_path is not None else None
    reader = make_reader(index_path) if ocr else None
    sources = sources or ImageSources.from_env()
    analysed_matches = []
    for path in paths:
        analysed = analyse(str(path), reader, store=False, sources=sources)
        matches = []
        if index is not None and analysed.hashes is not None:
            from bunjang_lab.fraud.images.matching import find_matches

            matches = find_matches(index, analysed.hashes)
        analysed_matches.append((analysed, matches))
    confirmed = confirmed_picture_reasons(analysed_matches, index, blocklist) if blocklist is not None else \
        [[] for _ in analysed_matches]
    return [verdict(analysed, matches, confirmed=reasons)
            for (analysed, matches), reasons in zip(analysed_matches, confirmed)]


def confirmed_picture_reasons(analysed_matches: Sequence[tuple[Analysed, list[dict]]], index, blocklist) -> list[list[dict]]:
    """Per picture, a ``confirmed_image`` reason when it is a confirmed scam's picture on the
    blocklist: the same picture (its own full-frame hashes), or a copy the matcher verified
    (a strong match of a stored picture whose hashes are on it)."""
    from bunjang_lab.fraud.confirmed import held_reasons, picture_identifier

    found = []
    for analysed, matches in analysed_matches:
        ids = [] if analysed.hashes is None else [picture_identifier(analysed.hashes.phash, analysed.hashes.dhash)]
        copied = [m["position"] for m in matches if m["strong"]]
        if index is not None and copied:
            ids += [picture_identifier(*pair) for pair in index.full_frame_hashes(copied)]
        found.append(ids)
    return held_reasons(found, blocklist, SOURCE)


def listing_pictures(index, listing) -> list[str]:
    """The blocklist identifiers of ``listing``'s pictures stored in ``index`` (what a
    confirmed listing adds: a moderation event carries no picture)."""
    from bunjang_lab.fraud.confirmed import picture_identifier

    return [picture_identifier(*pair) for pair in index.full_frame_hashes(index.pictures_of(listing))]


def open_index(index_path, must_exist: bool = False):
    from bunjang_lab.fraud.images.index import MANIFEST, ImageIndex

    path = Path(index_path)
    if must_exist and not (path / MANIFEST).exists():
        raise FileNotFoundError(2, "no image index here (build one with `python -m bunjang_lab images index`)", str(path))
    return ImageIndex(path)


def make_reader(index_path=None, prefilter: bool = True):
    """An OCR reader whose cache sits in the index folder (no cache without an index)."""
    from bunjang_lab.fraud.images.ocr import OcrCache, Reader

    cache = OcrCache(Path(index_path) / OCR_CACHE) if index_path is not None else None
    return Reader(cache, prefilter=prefilter)


# --- batch path ---------------------------------------------------------------------------


def plan_shards(lake, start, end, shard_size: int = 200) -> list[list[dict]]:
    """The listing images of ``[start, end)`` in listing order, in shards of ``shard_size``:
    ``[[{"image", "item_id", "seller_id", "ts"}, ...], ...]`` (JSON-ready)."""
    from bunjang_lab.lake import read_events

    if shard_size < 1:
        raise ValueError("shard_size must be at least 1")
    listings = read_events(lake, types="listing", start=start, end=end)
    entries, seen = [], set()
    for ts, item_id, seller, images in zip(listings["ts"], listings["item_id"], listings["user_id"], listings["images"]):
        for image in _as_list(images):
            if (image, item_id) not in seen:
                seen.add((image, item_id))
                entries.append({"image": str(image), "item_id": str(item_id), "seller_id": str(seller),
                                "ts": ts.isoformat()})
    return [entries[i:i + shard_size] for i in range(0, len(entries), shard_size)]


PART_COLUMNS = ("image", "item_id", "seller_id", "ts", "key", "hashes", "ocr_text", "error", "error_code")


def scan_shard(shard: Sequence[dict], index_path, out_file) -> str:
    """Decode, hash and OCR the pictures of one shard into the Parquet part ``out_file``.

    Idempotent: the same shard gives the same file (OCR comes from the index's cache when
    a retry already read a picture). A picture that cannot be read or analysed is a row
    with its ``error`` and ``error_code``. Returns ``out_file``.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    from bunjang_lab.fraud.images.sources import ImageSources

    Path(index_path).mkdir(parents=True, exist_ok=True)
    reader = make_reader(index_path)
    sources = ImageSources.from_env()
    rows = {c: [] for c in PART_COLUMNS}
    for entry in shard:
        analysed = analyse(entry["image"], reader, sources=sources)
        values = {**entry, "key": analysed.key, "ocr_text": analysed.ocr_text, "error": analysed.error,
                  "error_code": analysed.error_code,
                  "hashes": json.dumps(_hashes_to_json(analysed.hashes)) if analysed.hashes else None}
        for c in PART_COLUMNS:
            rows[c].append(None if values.get(c) is None else str(values[c]))
    with files.atomic_path(out_file) as tmp:
        pq.write_table(pa.table({c: pa.array(rows[c], type=pa.string()) for c in PART_COLUMNS}), tmp)
    return str(Path(out_file))


IMAGES_COLUMNS = ("image", "item_id", "seller_id", "matches", "ocr_text", "reasons", "risk", "flagged", "error",
                  "error_code")


def merge_shards(part_files: Sequence, index_path, out) -> str:
    """Add the shards' pictures to the index (under its lock; already stored ones are
    skipped) and write ``images.parquet`` (columns :data:`IMAGES_COLUMNS`) into the folder
    ``out`` (or to ``out`` itself when it ends in ``.parquet``). Returns the file written.

    A picture matches only pictures stored *before* it, so the first listing of a photo is
    the original and later copies carry the ``image_reuse`` reason.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    from bunjang_lab.fraud.images.matching import find_matches

    parts = [pq.read_table(p).to_pylist() for p in part_files]
    rows = sorted((r for part in parts for r in part), key=lambda r: (r["ts"] or "", r["item_id"] or "", r["image"]))
    index = open_index(index_path)
    index.add({"image": r["image"], "listing": r["item_id"], "seller": r["seller_id"], "key": r["key"],
               "hashes": _hashes_from_json(r["hashes"])} for r in rows if r["hashes"])
    table = {c: [] for c in IMAGES_COLUMNS}
    for r in rows:
        analysed = Analysed(r["image"], r["key"], _hashes_from_json(r["hashes"]), r["ocr_text"] or "", r["error"],
                            error_code=r.get("error_code"))
        matches = []
        if analysed.hashes is not None:
            own = index.position(r["key"], r["item_id"])
            matches = [m for m in find_matches(index, analysed.hashes)
                       if m["listing"] != r["item_id"] and m["position"] < own]
        result = verdict(analysed, matches, seller=r["seller_id"])
        table["image"].append(r["image"])
        table["item_id"].append(r["item_id"])
        table["seller_id"].append(r["seller_id"])
        table["matches"].append(json.dumps(result.get("matches", []), ensure_ascii=False))
        table["ocr_text"].append(result.get("ocr_text", ""))
        table["reasons"].append(json.dumps(result.get("reasons", []), ensure_ascii=False))
        table["risk"].append(result.get("risk", 0.0))
        table["flagged"].append(result.get("flagged", False))
        table["error"].append(result.get("error"))
        table["error_code"].append(result.get("error_code"))
    target = Path(out)
    if target.suffix != ".parquet":
        target = target / "images.parquet"
    schema = pa.schema([(c, pa.float64() if c == "risk" else pa.bool_() if c == "flagged" else pa.string())
                        for c in IMAGES_COLUMNS])
    with files.atomic_path(target) as tmp:
        pq.write_table(pa.table(table, schema=schema), tmp)
    return str(target)


def _hashes_to_json(hashes) -> dict:
    return {"phash": hashes.phash, "dhash": hashes.dhash, "phash_mirror": hashes.phash_mirror,
            "dhash_mirror": hashes.dhash_mirror, "crops": hashes.crops, "boxes": hashes.boxes,
            "deep": hashes.deep, "deep_boxes": hashes.deep_boxes, "pdq": hashes.pdq,
            "thumbnail": _thumb_hex(hashes.thumbnail), "box_thumbnails": [_thumb_hex(t) for t in hashes.box_thumbnails],
            "views": [[v.phash, v.dhash, v.phash_mirror, v.dhash_mirror, _thumb_hex(v.thumbnail),
                       v.pdq, v.pdq_quality] for v in hashes.views]}


def _hashes_from_json(text):
    from bunjang_lab.fraud.images.hashing import ImageHashes, View

    if not text:
        return None
    values = json.loads(text)
    return ImageHashes(values["phash"], values["dhash"], values["phash_mirror"], values["dhash_mirror"],
                       crops=tuple(tuple(c) for c in values["crops"]), thumbnail=_thumb(values["thumbnail"]),
                       boxes=tuple(tuple(b) for b in values["boxes"]),
                       box_thumbnails=tuple(_thumb(t) for t in values["box_thumbnails"]),
                       deep=tuple(tuple(c) for c in values["deep"]), deep_boxes=tuple(tuple(b) for b in values["deep_boxes"]),
                       pdq=tuple(tuple(int(v) for v in p) for p in values["pdq"]),
                       views=tuple(View(*v[:4], thumbnail=_thumb(v[4]), pdq=tuple(tuple(int(w) for w in words) for words in v[5]),
                                        pdq_quality=v[6]) for v in values["views"]))


def _thumb_hex(thumb) -> str | None:
    return None if thumb is None else thumb.tobytes().hex()


def _thumb(text):
    import numpy as np

    from bunjang_lab.fraud.images.verify import SIDE

    return None if text is None else np.frombuffer(bytes.fromhex(text), dtype=np.uint8).reshape(SIDE, SIDE, 3)


def _as_list(images) -> list:
    if images is None:
        return []
    try:
        return [i for i in list(images) if i]
    except TypeError:
        return []


def _clip(text: str) -> str:
    return text if len(text) <= MAX_EVIDENCE else text[: MAX_EVIDENCE - 1] + "…"
