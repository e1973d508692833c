"""Train the text classifier and the seller anomaly model on labelled lake data.

:func:`train_models` fits on the earlier part of the window, measures on the later part
(a time split, as in production), refits on everything and stores the version under
``models/fraud/`` (``latest`` moves only after a complete save).
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from bunjang_lab import progress
from bunjang_lab.fraud import store
from bunjang_lab.fraud.anomaly import FEATURES, SellerAnomalyDetector, seller_features
from bunjang_lab.fraud.classifier import TextFraudClassifier
from bunjang_lab.fraud.evaluate import labelled_texts, seller_report, text_report, threshold_sweep
from bunjang_lab.fraud.rules import reasons
from bunjang_lab.fraud.text_scorer import TextScorer

VALIDATION_SHARE = 0.25


def train_models(lake, labels_dir, models_dir=None, start=None, end=None,
                 validation_share: float = VALIDATION_SHARE) -> dict:
    """Fit, validate, refit and save; returns the stored ``meta.json`` content. At a terminal
    a bar counts the steps (texts read, fitted, validated, refitted, seller model, saved)."""
    with progress.Steps("fraud train", total=6) as done:
        return _train(lake, labels_dir, models_dir, start, end, validation_share, done)


def _train(lake, labels_dir, models_dir, start, end, validation_share: float, done) -> dict:
    from pathlib import Path

    from bunjang_lab.lake import read_events

    started = time.perf_counter()
    frame = labelled_texts(lake, labels_dir, start, end).sort_values("ts", kind="stable").reset_index(drop=True)
    if frame.empty:
        raise ValueError("no labelled messages or listings in the lake window (do the labels match the lake?)")
    done(f"{len(frame):,} labelled texts read")
    y = np.array([int(bool(t)) for t in frame["truth"]])
    found = [reasons(t) for t in frame["text"]]
    cut = int(len(frame) * (1 - validation_share))
    if len(set(y[:cut])) < 2:
        raise ValueError("the training part needs both fraud and honest texts")
    held_out = TextFraudClassifier().fit(frame["text"][:cut].tolist(), y[:cut], found[:cut])
    done(f"classifier fitted on the first {cut:,} texts")
    validation = frame.iloc[cut:]
    answers = TextScorer(held_out, "validation").score_many(validation["text"].tolist())
    metrics = {"validation": text_report(validation, answers),
               "threshold_sweep": threshold_sweep(validation, answers),
               "rules_only_validation": text_report(validation, TextScorer().score_many(validation["text"].tolist()))}
    done(f"validated on the last {len(validation):,}")
    classifier = TextFraudClassifier().fit(frame["text"].tolist(), y, found)
    done("classifier refitted on every text")

    events = read_events(lake, types=["listing", "chat", "signup", "click"], start=start, end=end)
    features = seller_features(events)
    anomaly = SellerAnomalyDetector().fit(features[list(FEATURES)]) if len(features) else None
    done(f"seller model fitted on {len(features):,} sellers")
    fraud_users = Path(labels_dir) / "fraud_users.csv"
    if anomaly is not None and fraud_users.exists():
        scored = pd.DataFrame({"user_id": features.index, "anomaly_score": anomaly.anomaly_score(features[list(FEATURES)])})
        scored["risk"] = scored["anomaly_score"]
        scored["flagged"] = False
        metrics["sellers_anomaly_only"] = {k: v for k, v in seller_report(scored, fraud_users).items() if k != "flagged"}
    meta = {
        "lake": str(lake), "labels": str(labels_dir), "window": {"start": start and str(start), "end": end and str(end)},
        "texts": len(frame), "fraud_texts": int(y.sum()), "sellers": len(features), "validation_share": validation_share,
        "classifier": classifier.get_params(), "anomaly": anomaly.get_params() if anomaly is not None else None,
        "metrics": metrics, "seconds": round(time.perf_counter() - started, 2),
    }
    folder = store.save({"classifier": classifier, "anomaly": anomaly}, meta, models_dir)
    done("saved")
    return store.meta(folder)
