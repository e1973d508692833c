"""A learned text classifier: character n-grams of the normalised text plus the rule hits.

A scikit-learn estimator (``fit(texts, y)`` with ``y`` 1 for fraud text, 0 for honest)
whose :meth:`~TextFraudClassifier.predict_proba` is calibrated (sigmoid calibration
over cross-validation folds), so a probability of 0.9 means about nine in ten.

>>> texts = ["카톡 ab1234 주세요", "선입금 부탁해요 국민 123456-78-901234", "네 내일 직거래 가능해요",
...          "사진 더 보내드릴게요", "텔레그램 @deal99 연락", "택배비 포함이에요"] * 4
>>> y = [1, 1, 0, 0, 1, 0] * 4
>>> model = TextFraudClassifier(cv=2).fit(texts, y)
>>> proba = model.predict_proba(["카톡 zz9999 주세요", "직거래 가능해요"])[:, 1]
>>> bool(proba[0] > 0.5 > proba[1])
True
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
from scipy import sparse
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.calibration import CalibratedClassifierCV
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from bunjang_lab.fraud.normalise import normalise
from bunjang_lab.fraud.rules import MAX_CHARS, reasons, rule_table


def rule_features(all_reasons: Sequence[list[dict]]) -> sparse.csr_matrix:
    """One column per rule: its weight when it fired on the text, else 0."""
    column = {rule.code: i for i, rule in enumerate(rule_table())}
    rows, cols, values = [], [], []
    for row, found in enumerate(all_reasons):
        for reason in found:
            rows.append(row)
            cols.append(column[reason["code"]])
            values.append(reason["weight"])
    return sparse.csr_matrix((values, (rows, cols)), shape=(len(all_reasons), len(column)))


class TextFraudClassifier(ClassifierMixin, BaseEstimator):
    """Calibrated logistic regression over char n-grams of normalised text and rule hits.

    Parameters: ``ngram_range`` and ``min_df``/``max_features`` of the character
    TF-IDF (``char_wb`` analyser), the regularisation ``C``, and ``cv`` folds for the
    sigmoid calibration.
    """

    def __init__(self, ngram_range=(2, 4), min_df=2, max_features=100_000, C=4.0, cv=3, random_state=0):
        self.ngram_range = ngram_range
        self.min_df = min_df
        self.max_features = max_features
        self.C = C
        self.cv = cv
        self.random_state = random_state

    def _features(self, texts, all_reasons=None, fit=False):
        texts = [str(t)[:MAX_CHARS] for t in texts]
        if all_reasons is None:
            all_reasons = [reasons(t) for t in texts]
        normalised = [normalise(t).text for t in texts]
        grams = self.vectorizer_.fit_transform(normalised) if fit else self.vectorizer_.transform(normalised)
        return sparse.hstack([grams, rule_features(all_reasons)]).tocsr()

    def fit(self, X, y, reasons_=None):
        """Fit on texts ``X`` and labels ``y``; ``reasons_`` may pass precomputed rule hits."""
        y = np.asarray(y, dtype=int)
        self.classes_ = np.unique(y)
        if len(self.classes_) != 2:
            raise ValueError("the classifier needs both fraud (1) and honest (0) examples")
        self.vectorizer_ = TfidfVectorizer(analyzer="char_wb", ngram_range=tuple(self.ngram_range),
                                           min_df=self.min_df, max_features=self.max_features,
                                           sublinear_tf=True, dtype=np.float32)
        features = self._features(X, reasons_, fit=True)
        base = LogisticRegression(C=self.C, max_iter=2000, class_weight="balanced", random_state=self.random_state)
        self.model_ = CalibratedClassifierCV(base, method="sigmoid", cv=self.cv).fit(features, y)
        self.n_features_in_ = 1  # one raw input: the text
        return self

    def predict_proba(self, X, reasons_=None):
        return self.model_.predict_proba(self._features(X, reasons_))

    def predict(self, X, reasons_=None):
        return self.classes_[(self.predict_proba(X, reasons_)[:, 1] >= 0.5).astype(int)]
