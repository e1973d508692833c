"""The batch fraud scan: every listing, chat message and seller of a lake window.

:func:`scan_fraud` writes ``RUN_DIR/fraud/{listings,messages,sellers}.parquet`` (formats in
docs/architecture.md, "Runs") and, when an image index is given, runs the image checks
first (``fraud/images.parquet``) so listings carry their image reasons and sellers their
photo-reuse count.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import numpy as np
import pandas as pd

from bunjang_lab import files, progress
from bunjang_lab.fraud import categories, risk, shadow, store
from bunjang_lab.fraud.anomaly import FEATURES, SellerAnomalyDetector, seller_features
from bunjang_lab.fraud.ngram_opinion import NgramOpinion
from bunjang_lab.fraud.text_scorer import TextScorer
from bunjang_lab.marketplace import state

EVENT_TYPES = ["listing", "chat", "signup", "click"]
MIN_SELLERS_TO_FIT = 20  # below this an isolation forest fitted on the window means nothing
MAX_SELLER_REASONS = 5
SELLER_SOURCE = "seller"  # a seller's reasons quote their listings and messages, not one text
IMAGE_SHARD = 500


def _write_parquet(frame: pd.DataFrame, path: Path) -> None:
    """Write next to ``path`` and rename, so a reader never sees half a file."""
    with files.atomic_path(path) as tmp:
        frame.to_parquet(tmp, index=False)


def listing_text(title, description) -> str:
    return "\n".join(str(x) for x in (title, description) if isinstance(x, str) and x)


def _scan_images(lake, folder: Path, start, end, image_index) -> Path | None:
    """Run the image checks of the window into ``folder/images.parquet`` (unless the
    Airflow shards already wrote it)."""
    target = folder / "images.parquet"
    if target.exists() or image_index is None:
        return target if target.exists() else None
    from bunjang_lab.fraud.images.scan import merge_shards, plan_shards, scan_shard

    shards = plan_shards(lake, start, end, shard_size=IMAGE_SHARD)
    if not shards:
        return None
    parts_dir = folder / "_image_parts"
    parts = [scan_shard(shard, image_index, parts_dir / f"shard-{n:05d}.parquet")
             for n, shard in progress.bar(enumerate(shards), "images (shards)", total=len(shards), unit="shard")]
    merge_shards(parts, image_index, folder)
    shutil.rmtree(parts_dir, ignore_errors=True)
    return target


def _image_reasons(images: pd.DataFrame | None) -> dict[str, tuple[float, list[dict]]]:
    """item_id -> (riskiest image's risk, the listing's image reasons)."""
    out: dict[str, tuple[float, list[dict]]] = {}
    if images is None or images.empty:
        return out
    for item, image_risk, found in zip(images["item_id"].astype(str), images["risk"], images["reasons"]):
        found = json.loads(found) if isinstance(found, str) and found else []
        best, reasons = out.get(item, (0.0, []))
        value = float(image_risk) if image_risk is not None and not pd.isna(image_risk) else 0.0
        out[item] = (max(best, value), reasons + [r for r in found if r not in reasons])
    return out


def _error_counts(images: pd.DataFrame | None) -> dict[str, int]:
    """Pictures that could not be used, by ``error_code`` (refused references, bad files...)."""
    if images is None or "error_code" not in images:
        return {}
    return {str(code): int(n) for code, n in images["error_code"].dropna().value_counts().sort_index().items()}


def _behaviour_reason(row: pd.Series, typical: pd.Series, anomaly_score: float) -> dict | None:
    weight = risk.behaviour_risk(anomaly_score)
    if weight <= 0:
        return None
    notes = []
    if row["account_age_days"] < min(7.0, typical["account_age_days"]):
        notes.append(f"account {row['account_age_days']:.1f} days old at first listing")
    if row["listings_per_day"] > 2 * typical["listings_per_day"]:
        notes.append(f"{row['listings_per_day']:.1f} listings/day")
    if row["price_ratio"] < 0.7:
        notes.append(f"prices {row['price_ratio']:.2f}x the category median")
    if row["hot_category_share"] > max(0.8, typical["hot_category_share"]):
        notes.append(f"{row['hot_category_share']:.0%} of listings in hot categories")
    if row["chat_buyers"] > 2 * max(1.0, typical["chat_buyers"]):
        notes.append(f"wrote to {int(row['chat_buyers'])} buyers")
    if row["image_reuse"] > 0:
        notes.append(f"{int(row['image_reuse'])} reused photos")
    evidence = f"anomaly score {anomaly_score:.2f}" + (": " + ", ".join(notes) if notes else "")
    return {"code": "seller_anomaly", "category": categories.ANOMALOUS_BEHAVIOUR, "weight": weight,
            "evidence": evidence, "source": "behaviour"}


def score_sellers(events: pd.DataFrame, listing_risks: pd.DataFrame, message_risks: pd.DataFrame,
                  images: pd.DataFrame | None, detector: SellerAnomalyDetector | None) -> tuple[pd.DataFrame, str]:
    """``sellers.parquet`` rows and where the anomaly model came from."""
    features = seller_features(events, images)
    source = "trained"
    if detector is None:
        if len(features) >= MIN_SELLERS_TO_FIT:
            detector, source = SellerAnomalyDetector().fit(features[list(FEATURES)]), "fitted on this window"
        else:
            source = "none (too few sellers to fit)"
    scores = detector.anomaly_score(features[list(FEATURES)]) if detector is not None and len(features) else \
        np.full(len(features), np.nan)
    typical = features.median() if len(features) else pd.Series(0.0, index=list(FEATURES))

    content: dict[str, list[tuple[float, list]]] = {}
    for frame, who in ((listing_risks, "seller_id"), (message_risks, "user_id")):
        for user, value, found in zip(frame[who].astype(str), frame["risk"], frame["reasons"]):
            content.setdefault(user, []).append((float(value), json.loads(found)))
    users = sorted(set(features.index) | {u for u, items in content.items() if any(v >= risk.THRESHOLD for v, _ in items)})
    rows = []
    for user in users:
        anomaly = float(scores[features.index.get_loc(user)]) if user in features.index else None
        if anomaly is not None and np.isnan(anomaly):
            anomaly = None
        pieces = content.get(user, [])
        reasons = []
        if anomaly is not None:
            behaviour = _behaviour_reason(features.loc[user], typical, anomaly)
            if behaviour:
                reasons.append(behaviour)
        for _, found in sorted(pieces, key=lambda p: -p[0]):
            for reason in risk.attributed(found, SELLER_SOURCE):
                if reason["code"] not in {r["code"] for r in reasons}:
                    reasons.append(reason)
        reasons.sort(key=lambda r: -r["weight"])
        value = risk.seller_risk(anomaly, [v for v, _ in pieces])
        rows.append({"user_id": user, "risk": value, "flagged": risk.flagged(value),
                     "anomaly_score": anomaly, "reasons": json.dumps(reasons[:MAX_SELLER_REASONS], ensure_ascii=False)})
    frame = pd.DataFrame(rows, columns=["user_id", "risk", "flagged", "anomaly_score", "reasons"])
    return frame.astype({"risk": float, "flagged": bool, "anomaly_score": float}), source


def _answers_frame(ids: dict, answers: list[dict]) -> pd.DataFrame:
    frame = pd.DataFrame(ids)
    frame["risk"] = [a["risk"] for a in answers]
    frame["flagged"] = [a["flagged"] for a in answers]
    frame["reasons"] = [json.dumps(a["reasons"], ensure_ascii=False) for a in answers]
    frame["shadow"] = [json.dumps(a.get("shadow", [])) for a in answers]  # rules on trial that fired (fraud/shadow.py)
    return frame.astype({"risk": float, "flagged": bool})


def scan_fraud(lake, out, start=None, end=None, image_index=None, models_dir=None) -> dict:
    """Score every listing, chat message and seller of ``[start, end)`` in ``lake``.

    Writes ``out/fraud/{listings,messages,sellers}.parquet`` (and ``images.parquet`` when
    ``image_index`` is given); uses the latest trained models under ``models_dir``
    (rules only and an isolation forest fitted on the window when none are trained).
    Returns a summary (counts, flagged counts, models, timings).
    """
    return scan_fraud_folder(lake, Path(out) / "fraud", start, end, image_index, models_dir)


def scan_fraud_folder(lake, folder, start=None, end=None, image_index=None, models_dir=None) -> dict:
    """:func:`scan_fraud` writing straight into ``folder`` (the run's ``fraud/`` folder, or
    a staging folder that will replace it); an ``images.parquet`` already there is used.
    At a terminal a bar counts its steps (window read, images, listings, chats, sellers)."""
    with progress.Steps("fraud scan", total=5) as done:
        return _scan_into(lake, Path(folder), start, end, image_index, models_dir, done)


def _scan_into(lake, folder: Path, start, end, image_index, models_dir, done) -> dict:
    from bunjang_lab.lake import read_events

    timings: dict[str, float] = {}
    clock = time.perf_counter()
    folder.mkdir(parents=True, exist_ok=True)
    events = read_events(lake, types=EVENT_TYPES, start=start, end=end)
    timings["read"] = time.perf_counter() - clock
    done(f"window read: {len(events):,} events")

    clock = time.perf_counter()
    images_path = _scan_images(lake, folder, start, end, image_index)
    images = pd.read_parquet(images_path) if images_path is not None else None
    timings["images"] = time.perf_counter() - clock
    done(f"{0 if images is None else len(images):,} images checked")

    clock = time.perf_counter()
    version = store.latest(models_dir)
    classifier = store.load_text_model(version) if version is not None else None
    trial = shadow.load(models_dir)
    scorer = TextScorer(classifier, version.name if classifier is not None else None,
                        shadow_rules=shadow.ShadowBook(trial) if trial else None, opinion=NgramOpinion.load())
    listings = state.latest_listings(events)
    answers = scorer.score_many([listing_text(t, d) for t, d in zip(listings["title"], listings["description"])])
    done(f"{len(listings):,} listings scored")
    by_image = _image_reasons(images)
    for item, answer in zip(listings["item_id"].astype(str), answers):
        if item in by_image:
            image_risk, image_found = by_image[item]
            answer["risk"] = risk.noisy_or([answer["risk"], image_risk])
            answer["flagged"] = risk.flagged(answer["risk"])
            answer["reasons"] = sorted(answer["reasons"] + image_found, key=lambda r: -r["weight"])
    listing_frame = _answers_frame({"item_id": listings["item_id"].astype(str).to_numpy(),
                                    "seller_id": listings["user_id"].astype(str).to_numpy()}, answers)
    chats = events[events["type"] == "chat"]
    message_frame = _answers_frame({"event_id": chats["event_id"].astype(str).to_numpy(),
                                    "item_id": chats["item_id"].astype(str).to_numpy(),
                                    "user_id": chats["user_id"].astype(str).to_numpy()},
                                   scorer.score_many(chats["text"].fillna("").tolist()))
    timings["text"] = time.perf_counter() - clock
    done(f"{len(message_frame):,} chat messages scored")

    clock = time.perf_counter()
    detector = store.load_anomaly(version) if version is not None else None
    seller_frame, anomaly_source = score_sellers(events, listing_frame, message_frame, images, detector)
    timings["sellers"] = time.perf_counter() - clock
    done(f"{len(seller_frame):,} sellers scored")

    for name, frame in (("listings", listing_frame), ("messages", message_frame), ("sellers", seller_frame)):
        _write_parquet(frame, folder / f"{name}.parquet")
    summary = {
        "window": {"start": None if start is None else str(start), "end": None if end is None else str(end)},
        "models": {"version": version.name if version is not None else None, "text": scorer.model,
                   "anomaly": anomaly_source},
        "threshold": risk.THRESHOLD,
        "listings": len(listing_frame), "flagged_listings": int(listing_frame["flagged"].sum()),
        "messages": len(message_frame), "flagged_messages": int(message_frame["flagged"].sum()),
        "sellers": len(seller_frame), "flagged_sellers": int(seller_frame["flagged"].sum()),
        "images": 0 if images is None else len(images),
        "image_errors": _error_counts(images),
        "timings_s": {k: round(v, 3) for k, v in timings.items()},
    }
    files.write_text(folder / "summary.json", json.dumps(summary, ensure_ascii=False, indent=2))
    return summary
