"""Daily retraining on moderators' decisions, promoted through a gate.

The labels are what moderators decided (``moderation`` events: the latest decision of each
target wins, so an appeal relabels), not the simulator's truth. Confirmed texts are the
positives; cleared ones, and a sample of texts nobody reported (mostly honest, some scams
nobody noticed: the noise a real team lives with), the negatives. The most recent decisions
are held back: the candidate trains on the older ones, and the candidate and the production
scorer (the latest version, or the rules alone before any) are judged on the held-back ones,
text by text (1 when its flag agrees with the label). The candidate is promoted unless the
paired bootstrap interval of the difference lies wholly below ``-tolerance`` × production's
agreement: the ranker's gate (:func:`bunjang_lab.intervals.not_worse`); a promoted candidate
is refit on every decision of the window before it is saved (as ``fraud train`` refits after
validating), so the newest decisions, which a new wave shows up in first, teach it too. Every candidate is
kept as a version with its gate decision in ``meta.json``; a refused one is not served, and
:func:`bunjang_lab.fraud.store.rollback` puts the previous served version back. The seller
anomaly model passes the same gate on the sellers of the held-back decisions
(:func:`seller_gate`, ``meta.json["seller_gate"]``); a version keeps production's seller model
when its candidate is refused (the candidate beside it).
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
from sklearn.base import clone

from bunjang_lab import progress as bars
from bunjang_lab.fraud import risk, shadow, store
from bunjang_lab.fraud.anomaly import FEATURES, SellerAnomalyDetector, seller_features
from bunjang_lab.fraud.classifier import TextFraudClassifier
from bunjang_lab.fraud.confirmed import CONFIRMED
from bunjang_lab.fraud.rules import reasons
from bunjang_lab.fraud.scan import listing_text
from bunjang_lab.fraud.text_scorer import TextScorer
from bunjang_lab.intervals import NOT_WORSE_TOLERANCE, not_worse, paired_bootstrap
from bunjang_lab.marketplace import state

EVENT_TYPES = ["listing", "chat", "signup", "click", "report", "moderation"]
HOLDOUT_SHARE = 0.25     # the most recent decisions, held back for the gate
MIN_DECISIONS = 20       # fewer decided texts in the window: no retraining
UNREPORTED_PER_DECISION = 1  # texts nobody reported, sampled as negatives per decided text: most scams
# are never reported, so each unreported text is a noisy negative; 1 caught the benchmark's wave a day
# sooner than 3 with no more false flags (docs/benchmarks.md, "Fraud learning")


def decided_texts(events: pd.DataFrame) -> pd.DataFrame:
    """Each moderated listing or message with its latest decision and text: columns
    ``target_kind``, ``target_id``, ``ts`` (of the decision), ``label`` (1 confirmed, 0
    cleared), ``text`` (the decision's ``target_text``, else the lake's)."""
    moderation = events[events["type"] == "moderation"].sort_values("ts", kind="stable")
    latest = moderation.drop_duplicates(["target_kind", "target_id"], keep="last")
    latest = latest[latest["target_kind"].isin(["chat", "listing"])]
    texts = target_texts(events)
    lake_text = [texts.get((k, i)) for k, i in zip(latest["target_kind"], latest["target_id"])]
    text = [t if isinstance(t, str) and t else found for t, found in zip(latest.get("target_text", [None] * len(latest)),
                                                                          lake_text)]
    out = pd.DataFrame({"target_kind": latest["target_kind"].to_numpy(), "target_id": latest["target_id"].to_numpy(),
                        "ts": latest["ts"].to_numpy(), "label": (latest["decision"] == CONFIRMED).astype(int).to_numpy(),
                        "text": text})
    return out[out["text"].notna()].reset_index(drop=True)


def target_texts(events: pd.DataFrame) -> dict[tuple[str, str], str]:
    """The text of every chat message and listing of ``events``, by (target kind, target id)."""
    chats = events[events["type"] == "chat"]
    found = {("chat", str(e)): str(t) for e, t in zip(chats["event_id"], chats["text"].fillna(""))}
    listings = state.latest_listings(events[events["type"] == "listing"])
    found.update({("listing", str(i)): listing_text(t, d)
                  for i, t, d in zip(listings["item_id"], listings["title"], listings["description"])})
    return found


def unreported_texts(events: pd.DataFrame, n: int, seed: int = 0) -> pd.DataFrame:
    """``n`` chat messages nobody reported nor a moderator decided on, as negatives (label 0)."""
    touched = set(events.loc[events["type"].isin(["report", "moderation"]), "target_id"].astype(str))
    chats = events[(events["type"] == "chat") & ~events["event_id"].astype(str).isin(touched)]
    chats = chats.sample(min(n, len(chats)), random_state=seed) if len(chats) else chats
    return pd.DataFrame({"target_kind": "chat", "target_id": chats["event_id"].astype(str).to_numpy(),
                         "ts": chats["ts"].to_numpy(), "label": 0, "text": chats["text"].fillna("").to_numpy()})


def retrain(events: pd.DataFrame, models_dir=None, tolerance: float = NOT_WORSE_TOLERANCE, seed: int = 0,
            window: dict | None = None, progress=None) -> dict:
    """Train a candidate on the window's decisions, gate it against production, save it
    (served only if promoted); returns the gate's decision (also in the version's ``meta.json``).
    ``progress`` is told as each step ends (decisions, candidate, text gate, seller gate, saved)."""
    progress = progress or (lambda line: None)
    started = time.perf_counter()
    decided = decided_texts(events).sort_values("ts", kind="stable").reset_index(drop=True)
    trials = track_shadow_rules(decided, models_dir)
    if len(decided) < MIN_DECISIONS or decided["label"].nunique() < 2:
        return {"promoted": False, "reason": f"too few decided texts in the window ({len(decided)}; "
                                             f"{MIN_DECISIONS} of both labels needed)", "decisions": len(decided),
                "shadow_rules": trials}
    progress(f"{len(decided):,} decided texts")
    cut = int(len(decided) * (1 - HOLDOUT_SHARE))
    since = decided["ts"].iloc[cut]  # the first held-back decision: texts from then on are the gate's
    negatives = unreported_texts(events, UNREPORTED_PER_DECISION * len(decided), seed)
    train = pd.concat([decided.iloc[:cut], negatives[negatives["ts"] < since]], ignore_index=True)
    held = pd.concat([decided.iloc[cut:], negatives[negatives["ts"] >= since]], ignore_index=True)
    texts = train["text"].tolist()
    candidate = TextFraudClassifier().fit(texts, train["label"].to_numpy(), [reasons(t) for t in texts])
    progress(f"candidate fitted on {len(train):,} texts")
    served = store.latest(models_dir)  # before any: the rules alone
    production = TextScorer(store.load_text_model(served), served.name) if served is not None else TextScorer()
    labels = held["label"].to_numpy().astype(bool)
    agree = {name: np.array([a["flagged"] for a in scorer.score_many(held["text"].tolist())]) == labels
             for name, scorer in (("candidate", TextScorer(candidate, "candidate")), ("production", production))}
    interval = paired_bootstrap(agree["candidate"], agree["production"], seed=seed)
    current = float(agree["production"].mean())
    promoted = not_worse(interval, current, tolerance)
    progress(f"text gate: {len(held):,} held-back texts compared")
    sellers = seller_features(events)
    anomaly = SellerAnomalyDetector().fit(sellers[list(FEATURES)]) if len(sellers) else None
    production_anomaly = store.load_anomaly(served) if served is not None else None
    seller = seller_gate(sellers, decided_sellers(events), since, anomaly, production_anomaly,
                         served.name if production_anomaly is not None else "none", tolerance, seed)
    progress(f"seller gate: {len(sellers):,} sellers")
    gate = {"promoted": bool(promoted), "metric": "agreement with the held-back decisions", "tolerance": tolerance,
            "candidate_score": round(float(agree["candidate"].mean()), 4), "production_score": round(current, 4),
            "production": production.model, "difference": {k: round(v, 4) for k, v in interval.items()},
            "held_back": {"texts": len(held), "decisions": len(decided) - cut, "confirmed": int(labels.sum()),
                          "since": str(pd.Timestamp(since))},
            "reason": "not worse beyond the noise" if promoted else "worse than production beyond the noise"}
    meta = {"trained_on": "moderation decisions", "window": window or {}, "texts": len(train),
            "fraud_texts": int(train["label"].sum()), "decisions": len(decided), "sellers": len(sellers),
            "classifier": candidate.get_params(), "anomaly": anomaly.get_params() if anomaly is not None else None,
            "gate": gate, "seller_gate": seller}
    if promoted:  # judged on what it never saw; served refit on every decision, the newest most of all (as fraud train)
        everything = pd.concat([train, held], ignore_index=True)
        texts = everything["text"].tolist()
        candidate = clone(candidate).fit(texts, everything["label"].to_numpy(), [reasons(t) for t in texts])
        meta["texts"], meta["fraud_texts"] = len(everything), int(everything["label"].sum())
    # the version serves the seller model its gate chose; a refused candidate is kept beside it
    served_anomaly, kept = (anomaly, None) if seller["promoted"] else (production_anomaly, anomaly)
    meta["seconds"] = round(time.perf_counter() - started, 2)
    folder = store.save({"classifier": candidate, "anomaly": served_anomaly, "candidate_anomaly": kept}, meta, models_dir,
                        make_latest=promoted)
    progress("saved")
    return {**gate, "version": folder.name, "seconds": meta["seconds"], "seller_gate": seller, "shadow_rules": trials}


def decided_sellers(events: pd.DataFrame) -> pd.DataFrame:
    """Each seller a latest decision was about (a listing of theirs, a message they sent, or
    the user), indexed by ``user_id``: ``label`` 1 when any of those is confirmed, ``ts`` of the
    latest of them."""
    moderation = events[events["type"] == "moderation"].sort_values("ts", kind="stable")
    latest = moderation.drop_duplicates(["target_kind", "target_id"], keep="last")
    chats, listings = events[events["type"] == "chat"], events[events["type"] == "listing"]
    owner = {("chat", str(e)): str(u) for e, u in zip(chats["event_id"], chats["user_id"])}
    owner.update({("listing", str(i)): str(u) for i, u in zip(listings["item_id"], listings["user_id"])})
    users = [str(t) if k == "user" else owner.get((k, str(t))) for k, t in zip(latest["target_kind"], latest["target_id"])]
    frame = pd.DataFrame({"user_id": users, "ts": latest["ts"].to_numpy(),
                          "label": (latest["decision"] == CONFIRMED).astype(int).to_numpy()}).dropna(subset=["user_id"])
    return frame.groupby("user_id").agg(label=("label", "max"), ts=("ts", "max"))


def behaviour_flags(detector, features: pd.DataFrame) -> np.ndarray:
    """Whether each seller's behaviour alone flags them (none without a model)."""
    if detector is None or not len(features):
        return np.zeros(len(features), dtype=bool)
    return np.array([risk.flagged(risk.behaviour_risk(score)) for score in detector.anomaly_score(features[list(FEATURES)])],
                    dtype=bool)


def seller_gate(sellers: pd.DataFrame, decided: pd.DataFrame, since, candidate, production, production_name: str,
                tolerance: float, seed: int = 0) -> dict:
    """The text model's gate for the seller model: on the sellers whose latest decision is held
    back (from ``since``), 1 when behaviour alone flags a seller the decisions confirmed or
    spares one they cleared; the candidate is promoted unless the paired interval lies wholly
    below ``-tolerance`` × production's agreement (production: the served model, or none,
    which flags nobody). The forest is unsupervised: it was fitted on the window's sellers
    without their labels."""
    held = decided[(decided["ts"] >= since) & decided.index.isin(sellers.index)]
    if candidate is None or not len(held):
        return {"promoted": production is None and candidate is not None, "production": production_name,
                "held_back": {"sellers": len(held)}, "reason": "no decided seller held back to judge it on"}
    features, labels = sellers.loc[held.index], held["label"].to_numpy().astype(bool)
    agree = {"candidate": behaviour_flags(candidate, features) == labels,
             "production": behaviour_flags(production, features) == labels}
    interval = paired_bootstrap(agree["candidate"], agree["production"], seed=seed)
    current = float(agree["production"].mean())
    promoted = not_worse(interval, current, tolerance)
    return {"promoted": bool(promoted), "metric": "agreement of behaviour flags with the held-back decisions",
            "tolerance": tolerance, "candidate_score": round(float(agree["candidate"].mean()), 4),
            "production_score": round(current, 4), "production": production_name,
            "difference": {k: round(v, 4) for k, v in interval.items()},
            "held_back": {"sellers": len(held), "confirmed": int(labels.sum())},
            "reason": "not worse beyond the noise" if promoted else "worse than production beyond the noise"}


def track_shadow_rules(decided: pd.DataFrame, models_dir=None) -> dict:
    """Count each shadow rule against the window's decided texts, let those that earned it go
    live, save them back; ``{code: {"status", "decisions", "fired", "confirmed", "precision", "recall"}}``."""
    rules = shadow.load(models_dir)
    if not rules:
        return {}
    rules = shadow.track(rules, decided["text"].tolist(), (decided["label"] == 1).tolist(), decided["ts"].tolist())
    shadow.save(rules, models_dir)
    return {rule.code: {"status": rule.status, **(rule.tracked or {})} for rule in rules}


def retrain_window(lake, start, end, models_dir=None, tolerance: float = NOT_WORSE_TOLERANCE) -> dict:
    """:func:`retrain` on the lake's events in ``[start, end)`` (the DAG's and the CLI's entry);
    at a terminal a bar counts its steps."""
    from bunjang_lab.lake import read_events

    with bars.Steps("fraud retrain", total=6) as done:
        events = read_events(lake, types=EVENT_TYPES, start=start, end=end)
        done(f"window read: {len(events):,} events")
        return retrain(events, models_dir, tolerance, window={"start": str(start), "end": str(end)}, progress=done)
