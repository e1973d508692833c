"""Fit the n-gram second opinion and export it as the arrays :mod:`~bunjang_lab.fraud.ngram_opinion` scores.

Training only (scikit-learn, numpy, scipy); serving reads the exported file with the standard
library. The texts and their obfuscated copies are assembled by ``benchmarks/fraud_ngram.py``.
"""

from __future__ import annotations

import json
from typing import Sequence

import numpy as np
from scipy.sparse import csr_matrix
from sklearn.linear_model import LogisticRegression

from bunjang_lab.fraud.ngram_opinion import BUCKETS, CLASSES, FORMAT, NgramOpinion, buckets
from bunjang_lab.fraud.normalise import normalise


def features(texts: Sequence[str]) -> csr_matrix:
    """One row per text: its n-gram buckets present, the row scaled to unit length (as scored)."""
    indices, indptr, values = [], [0], []
    for text in texts:
        found = buckets(normalise(text).text)
        indices += found
        values += [1.0 / len(found) ** 0.5] * len(found)
        indptr.append(len(indices))
    return csr_matrix((np.asarray(values, dtype=float), np.asarray(indices, dtype=np.int64), np.asarray(indptr)),
                      shape=(len(texts), BUCKETS))


def fit(texts: Sequence[str], labels: Sequence[str], weights: Sequence[float] | None = None,
        c: float = 4.0) -> LogisticRegression:
    """A multinomial logistic regression over :data:`CLASSES`, classes balanced, each text
    also weighted by ``weights`` (its origin: hand-written texts may count more)."""
    y = np.asarray([CLASSES.index(label) for label in labels])
    counts = np.bincount(y, minlength=len(CLASSES)).astype(float)
    sample_weight = (np.ones(len(y)) if weights is None else np.asarray(weights, dtype=float)) \
        * (len(y) / (len(CLASSES) * np.maximum(counts[y], 1.0)))
    model = LogisticRegression(C=c, max_iter=2000, tol=1e-5)
    return model.fit(features(texts), y, sample_weight=sample_weight)


def export(model: LogisticRegression, threshold: float) -> NgramOpinion:
    """The fitted model as signed bytes (one scale per class) with its biases and threshold."""
    if list(model.classes_) != list(range(len(CLASSES))):
        raise ValueError(f"the model must be fitted on every class of {CLASSES}")
    weights = model.coef_
    scales = np.maximum(np.abs(weights).max(axis=1), 1e-12) / 127.0
    quantised = np.rint(weights / scales[:, None]).astype(np.int8)
    header = {"classes": list(CLASSES), "bias": [float(b) for b in model.intercept_],
              "scale": [float(s) for s in scales], "threshold": float(threshold)}
    return NgramOpinion(header, quantised.tobytes())


def save(opinion: NgramOpinion, path) -> None:
    """Write ``opinion`` as :meth:`NgramOpinion.load` reads it: a JSON header line, then the bytes."""
    header = {"format": FORMAT, "classes": opinion.classes, "bias": opinion.bias, "scale": opinion.scale,
              "threshold": opinion.threshold}
    with open(path, "wb") as f:
        f.write(json.dumps(header).encode() + b"\n")
        for row in opinion.rows:
            f.write(row.tobytes())
