"""Measure the fraud detectors: per-rule and per-category precision and recall, seller
ROC-AUC, and contact-number / link detection on real SMS (``fraud evaluate``).

Ground truth comes from the simulator's labels (``labels/messages.csv``,
``labels/listings.csv``, ``labels/fraud_users.csv``) joined to the texts in the lake,
or from the smishing data set's ``PHONE``/``URL``/``EMAIL`` columns.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd

from bunjang_lab.fraud import categories, risk
from bunjang_lab.fraud.rules import RULES
from bunjang_lab.fraud.scan import listing_text
from bunjang_lab.marketplace import state

FRAUD_TEXT_CATEGORIES = (categories.EXTERNAL_CHANNEL, categories.PHISHING_LINK, categories.ACCOUNT_TRANSFER)

# Rules that detect a contact number / a link / an e-mail (for the smishing columns).
PHONE_CODES = frozenset({"phone_number", "sms_short_code", "whatsapp", "blocklisted_phone"})
LINK_CODES = frozenset({"external_link", "lookalike_domain", "punycode_domain", "ip_link", "url_shortener",
                        "payment_link", "telegram_link", "kakao_openchat"})
EMAIL_CODES = frozenset({"email_address"})


def _types(value) -> set[str]:
    return {t for t in str(value or "").split(";") if t} if isinstance(value, str) else set()


def labelled_texts(lake, labels_dir, start=None, end=None) -> pd.DataFrame:
    """Messages and listings of the lake window with their labels: columns ``kind``
    (message/listing), ``id``, ``text``, ``user_id``, ``ts``, ``truth`` (set of text fraud
    categories), ``hard_negative``."""
    from bunjang_lab.lake import read_events

    labels = Path(labels_dir)
    events = read_events(lake, types=["listing", "chat"], start=start, end=end)
    frames = []
    chats = events[events["type"] == "chat"]
    message_labels = pd.read_csv(labels / "messages.csv", dtype=str, keep_default_na=False).set_index("event_id")
    chats = chats[chats["event_id"].isin(message_labels.index)]
    frames.append(pd.DataFrame({
        "kind": "message", "id": chats["event_id"].astype(str).to_numpy(), "text": chats["text"].fillna("").to_numpy(),
        "user_id": chats["user_id"].astype(str).to_numpy(), "ts": chats["ts"].to_numpy(),
        "types": message_labels.loc[chats["event_id"], "fraud_types"].to_numpy(),
        "hard_negative": message_labels.loc[chats["event_id"], "hard_negative"].to_numpy(),
    }))
    listings = state.latest_listings(events)
    listing_labels = pd.read_csv(labels / "listings.csv", dtype=str, keep_default_na=False).set_index("item_id")
    listings = listings[listings["item_id"].isin(listing_labels.index)]
    frames.append(pd.DataFrame({
        "kind": "listing", "id": listings["item_id"].astype(str).to_numpy(),
        "text": [listing_text(t, d) for t, d in zip(listings["title"], listings["description"])],
        "user_id": listings["user_id"].astype(str).to_numpy(), "ts": listings["ts"].to_numpy(),
        "types": listing_labels.loc[listings["item_id"], "fraud_types"].to_numpy(),
        "hard_negative": listing_labels.loc[listings["item_id"], "hard_negative"].to_numpy(),
    }))
    frame = pd.concat(frames, ignore_index=True)
    frame["truth"] = [_types(t) & set(FRAUD_TEXT_CATEGORIES) for t in frame["types"]]
    frame["hard_negative"] = frame["hard_negative"].astype(str) == "1"
    return frame.drop(columns="types")


def _pr(tp: int, fp: int, fn: int) -> dict:
    return {"precision": round(tp / (tp + fp), 4) if tp + fp else None,
            "recall": round(tp / (tp + fn), 4) if tp + fn else None, "tp": tp, "fp": fp, "fn": fn}


def text_report(frame: pd.DataFrame, answers: list[dict]) -> dict:
    """Per-category and per-rule precision/recall of ``answers`` (one per row of ``frame``).

    A category is predicted when a rule of that category fired (text categories), and a
    message is predicted fraud when it is ``flagged``. A rule's precision counts its hits
    on texts labelled with the rule's category (any fraud, for the weak
    ``suspicious_context`` signals); its recall is over those texts, so a rule that
    covers one kind of scam in a broad category has a low recall on its own.
    """
    out: dict = {"texts": len(frame), "categories": {}, "rules": {}}
    truths = list(frame["truth"])
    predicted = [{r["category"] for r in a["reasons"]} for a in answers]
    for category in FRAUD_TEXT_CATEGORIES:
        tp = sum(category in t and category in p for t, p in zip(truths, predicted))
        fp = sum(category not in t and category in p for t, p in zip(truths, predicted))
        fn = sum(category in t and category not in p for t, p in zip(truths, predicted))
        out["categories"][category] = _pr(tp, fp, fn)
    fraud = [bool(t) for t in truths]
    flagged = [a["flagged"] for a in answers]
    out["flagged"] = _pr(sum(f and y for f, y in zip(flagged, fraud)), sum(f and not y for f, y in zip(flagged, fraud)),
                         sum(y and not f for f, y in zip(flagged, fraud)))
    hard = list(frame["hard_negative"])
    out["hard_negatives"] = {"count": int(sum(hard)),
                             "flagged": int(sum(f for f, h, y in zip(flagged, hard, fraud) if h and not y))}
    fired = [{r["code"] for r in a["reasons"]} for a in answers]
    for code, rule in RULES.items():
        hits = [code in f for f in fired]
        if not any(hits):
            continue
        # weak signals have no label of their own: they count against "any fraud"
        relevant = [bool(t) if rule.category == categories.SUSPICIOUS_CONTEXT else rule.category in t for t in truths]
        tp = sum(h and r for h, r in zip(hits, relevant))
        fn = sum(not h and r for h, r in zip(hits, relevant))
        out["rules"][code] = {"category": rule.category, "fires": int(sum(hits)), **_pr(tp, sum(hits) - tp, fn)}
    return out


def threshold_sweep(frame: pd.DataFrame, answers: list[dict], thresholds=(0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)) -> list[dict]:
    """Precision/recall of ``flagged`` at each candidate threshold (to choose :data:`risk.THRESHOLD`)."""
    fraud = np.array([bool(t) for t in frame["truth"]])
    scores = np.array([a["risk"] for a in answers])
    rows = []
    for t in thresholds:
        hit = scores >= t
        rows.append({"threshold": t, **_pr(int((hit & fraud).sum()), int((hit & ~fraud).sum()), int((~hit & fraud).sum()))})
    return rows


def seller_report(sellers: pd.DataFrame, fraud_users_csv) -> dict:
    """ROC-AUC of the anomaly score and of the combined seller risk against the simulator's
    fraud sellers, and precision/recall of ``flagged``."""
    from sklearn.metrics import roc_auc_score

    fraud_users = pd.read_csv(fraud_users_csv, dtype=str, keep_default_na=False)
    truth = sellers["user_id"].astype(str).isin(set(fraud_users["user_id"])).to_numpy()
    out = {"sellers": len(sellers), "fraud_sellers": int(truth.sum())}
    if 0 < truth.sum() < len(truth):
        anomaly = sellers["anomaly_score"].fillna(risk.ANOMALY_NORMAL).to_numpy()
        out["roc_auc_anomaly"] = round(float(roc_auc_score(truth, anomaly)), 4)
        out["roc_auc_risk"] = round(float(roc_auc_score(truth, sellers["risk"].to_numpy())), 4)
    flagged = sellers["flagged"].to_numpy(dtype=bool)
    out["flagged"] = _pr(int((flagged & truth).sum()), int((flagged & ~truth).sum()), int((~flagged & truth).sum()))
    return out


def read_smishing(path) -> pd.DataFrame:
    """The smishing CSV (a few undecodable bytes are replaced), columns folded and stripped."""
    text = Path(path).read_bytes().decode("utf-8", errors="replace")
    frame = pd.DataFrame(list(csv.DictReader(io.StringIO(text))))
    for column in ("label", "URL", "EMAIL", "PHONE"):
        frame[column] = frame[column].astype(str).str.strip().str.lower()
    return frame


def smishing_report(path, scorer) -> dict:
    """Recall of contact-number, link and e-mail detection against the data set's columns,
    and how often each fires on messages whose column says no."""
    frame = read_smishing(path)
    fired = [{r["code"] for r in a["reasons"]} for a in scorer.score_many(frame["TEXT"].tolist())]
    out = {"messages": len(frame)}
    for name, column, codes in (("phone", "PHONE", PHONE_CODES), ("link", "URL", LINK_CODES), ("email", "EMAIL", EMAIL_CODES)):
        truth = (frame[column] == "yes").to_numpy()
        hit = np.array([bool(f & codes) for f in fired])
        out[name] = {"recall": round(float((hit & truth).sum() / max(1, truth.sum())), 4),
                     "fires_on_no_rows": round(float((hit & ~truth).sum() / max(1, (~truth).sum())), 4),
                     "yes_rows": int(truth.sum()), "no_rows": int((~truth).sum())}
    counts = Counter(code for f in fired for code in f)
    out["rules_fired"] = dict(counts.most_common())
    return out


def spam_collection_report(path, scorer) -> dict:
    """On the SMS Spam Collection (ham/spam, no contact columns): per label, the share of
    messages flagged and the share with a contact number or a link found, so the false
    alarms on ordinary personal messages (ham) can be read beside the hits on spam."""
    frame = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False, quoting=csv.QUOTE_NONE)
    answers = scorer.score_many(frame["SMS"].tolist())
    out = {"messages": len(frame)}
    for label in ("ham", "spam"):
        rows = [a for a, lab in zip(answers, frame["Label"].str.strip().str.lower()) if lab == label]
        fired = [{r["code"] for r in a["reasons"]} for a in rows]
        out[label] = {"messages": len(rows),
                      "flagged": round(sum(a["flagged"] for a in rows) / max(1, len(rows)), 4),
                      "phone": round(sum(bool(f & PHONE_CODES) for f in fired) / max(1, len(rows)), 4),
                      "link": round(sum(bool(f & LINK_CODES) for f in fired) / max(1, len(rows)), 4)}
    return out
