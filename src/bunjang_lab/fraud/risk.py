"""One explained risk in [0, 1] per text, listing and seller, and the ``flagged`` threshold.

How the pieces combine (standard library only):

* **Rules**: a noisy-OR of the weights of the rules that fired, so independent pieces of
  evidence add up (two weak signals 0.25 and 0.2 give 0.4; one strong 0.9 gives 0.9).
* **Text**: the larger of the rules' risk and the classifier's calibrated probability
  (when a trained classifier is used). A rule hit always counts at its weight; the
  classifier can raise the risk of paraphrases no rule knows.
* **Seller**: a noisy-OR of the behaviour risk (isolation-forest anomaly score mapped
  onto [0, 1], see :func:`behaviour_risk`) and the riskiest of the seller's listings,
  messages and images.

``flagged`` is ``risk >= THRESHOLD``. :data:`THRESHOLD` was chosen on validation data
(a simulated marketplace with another seed than the evaluation one): it is the value
that keeps precision at or above 0.95 with the highest recall; see docs/fraud.md.

>>> rules_risk([{"weight": 0.25}, {"weight": 0.2}])
0.4
>>> text_risk([{"weight": 0.9}], probability=0.3), text_risk([], probability=0.97)
(0.9, 0.97)
>>> behaviour_risk(0.45), behaviour_risk(0.7)
(0.0, 0.8)
"""

from __future__ import annotations

from typing import Iterable

THRESHOLD = 0.5
"""``flagged`` when the risk reaches this (the same scale for texts, images, listings, sellers)."""

ANOMALY_NORMAL = 0.5
"""Isolation-forest score of an ordinary seller (the score is ~0.5 for inliers, -> 1 for outliers)."""
ANOMALY_CERTAIN = 0.75
"""Anomaly score from which behaviour alone is full risk."""


def noisy_or(risks: Iterable[float]) -> float:
    clean = 1.0
    for risk in risks:
        clean *= 1.0 - min(1.0, max(0.0, float(risk)))
    return round(1.0 - clean, 4)


def rules_risk(reasons: Iterable[dict]) -> float:
    """Noisy-OR of the reasons' weights."""
    return noisy_or(reason["weight"] for reason in reasons)


def text_risk(reasons: Iterable[dict], probability: float | None = None) -> float:
    """The rules' risk, raised to the classifier's probability when one is given."""
    risk = rules_risk(reasons)
    return risk if probability is None else round(max(risk, float(probability)), 4)


def behaviour_risk(anomaly_score: float) -> float:
    """Map an isolation-forest score (0.5 ordinary .. 1 isolated) linearly onto [0, 1]."""
    span = ANOMALY_CERTAIN - ANOMALY_NORMAL
    return round(min(1.0, max(0.0, (float(anomaly_score) - ANOMALY_NORMAL) / span)), 4)


def seller_risk(anomaly_score: float | None, content_risks: Iterable[float]) -> float:
    """Noisy-OR of behaviour and the riskiest piece of the seller's content."""
    content = max(content_risks, default=0.0)
    behaviour = 0.0 if anomaly_score is None else behaviour_risk(anomaly_score)
    return noisy_or([behaviour, content])


def flagged(risk: float, threshold: float = THRESHOLD) -> bool:
    return risk >= threshold


QUOTING_SOURCES = frozenset({"text", "image"})
"""Sources whose evidence quotes the scored content itself (its text, the text in its photos)."""


def attributed(reasons: Iterable[dict], source: str) -> list[dict]:
    """Reasons found in other content (the seller's other listings and messages, a verdict
    published earlier), marked with ``source`` so none reads as a quote of what is scored
    now; the content they quote keeps its kind under ``origin``.

    >>> attributed([{"code": "kakao_id", "evidence": "카톡 ab**34", "source": "text"},
    ...             {"code": "seller_anomaly", "evidence": "...", "source": "behaviour"}], "seller")
    [{'code': 'kakao_id', 'evidence': '카톡 ab**34', 'source': 'seller', 'origin': 'text'}, {'code': 'seller_anomaly', 'evidence': '...', 'source': 'behaviour'}]
    """
    return [{**reason, "source": source, "origin": reason["source"]} if reason.get("source") in QUOTING_SOURCES
            else reason for reason in reasons]
