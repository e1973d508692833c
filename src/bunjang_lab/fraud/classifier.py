"""A learned text classifier: character n-grams of the normalised text plus the rule hits.

A scikit-learn classifier that takes raw texts, like a vectorizer-and-classifier pipeline
(``fit(texts, y)``; ``y`` of any two labels, the pipeline uses 1 for fraud text and 0 for
honest), whose :meth:`~TextFraudClassifier.predict_proba` is calibrated (one sigmoid fitted on
cross-validated decision values), so a probability of 0.9 means about nine in ten.

Serving never loads it: :meth:`~TextFraudClassifier.export` writes its vocabulary and
weights as plain arrays, which :class:`bunjang_lab.fraud.text_model.TextModel` scores with
the standard library (the same probabilities, tested).

>>> texts = ["카톡 ab1234 주세요", "선입금 부탁해요 국민 123456-78-901234", "네 내일 직거래 가능해요",
...          "사진 더 보내드릴게요", "텔레그램 @deal99 연락", "택배비 포함이에요"] * 4
>>> y = [1, 1, 0, 0, 1, 0] * 4
>>> model = TextFraudClassifier(cv=2).fit(texts, y)
>>> proba = model.predict_proba(["카톡 zz9999 주세요", "직거래 가능해요"])[:, 1]
>>> bool(proba[0] > 0.5 > proba[1])
True
>>> labelled = TextFraudClassifier(cv=2).fit(texts, ["scam" if label else "ok" for label in y])
>>> labelled.classes_.tolist(), labelled.predict(["카톡 zz9999 주세요"]).tolist()
(['ok', 'scam'], ['scam'])
>>> from bunjang_lab.fraud.text_model import TextModel
>>> exported = TextModel(model.export())
>>> bool(abs(exported.fraud_probability(["카톡 zz9999 주세요"])[0] - proba[0]) < 1e-6)
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
from sklearn.utils.validation import check_consistent_length, check_is_fitted, column_or_1d

from bunjang_lab.estimators import binary_target
from bunjang_lab.errors import InvalidInput
from bunjang_lab.fraud.normalise import normalise
from bunjang_lab.fraud.rules import MAX_CHARS, reasons, rule_table
from bunjang_lab.fraud.text_model import TEXT_MODEL_FORMAT


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


def _texts(X) -> list[str]:
    """The documents of ``X`` (an iterable of texts, as scikit-learn's vectorizers take) cut at MAX_CHARS."""
    if isinstance(X, (str, bytes)):  # a lone string would be read as one text per character
        raise InvalidInput("expected an iterable of texts; got a single string")
    if getattr(X, "ndim", 1) != 1:
        raise InvalidInput(f"expected a one-dimensional sequence of texts; got {X.ndim} dimensions")
    return [str(text)[:MAX_CHARS] for text in X]


def _short(values) -> list[float]:
    """Floats with 10 significant digits: far below the float32 tf-idf's own precision, and
    a third of the JSON to parse when ``score text`` loads the model."""
    return [float(f"{value:.10g}") for value in np.asarray(values, dtype=float)]


class TextFraudClassifier(ClassifierMixin, BaseEstimator):
    """Calibrated logistic regression over char n-grams of normalised text and rule hits.

    Parameters: ``ngram_range`` and ``min_df``/``max_features`` of the character
    TF-IDF (``char_wb`` analyser), the regularisation ``C``, and ``cv`` folds for the
    sigmoid calibration. ``X`` is an iterable of texts (so, like scikit-learn's text
    vectorizers, it has no ``n_features_in_``); ``classes_[1]`` is the class whose
    probability is ``predict_proba(X)[:, 1]`` (fraud for 0/1 labels). ``rule_hits`` may
    pass :func:`bunjang_lab.fraud.rules.reasons` of each text when already computed.
    """

    def __init__(self, ngram_range=(2, 4), min_df=2, max_features=50_000, C=4.0, cv=3, random_state=0):
        self.ngram_range = ngram_range
        self.min_df = min_df
        self.max_features = max_features
        self.C = C
        self.cv = cv
        self.random_state = random_state

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.one_d_array = True
        tags.input_tags.two_d_array = False
        tags.input_tags.string = True
        tags.classifier_tags.multi_class = False
        return tags

    def _features(self, texts: list[str], rule_hits, fit=False):
        if rule_hits is None:
            rule_hits = [reasons(t) for t in texts]
        elif len(rule_hits) != len(texts):
            raise InvalidInput(f"{len(texts)} texts but {len(rule_hits)} lists of rule hits")
        normalised = [normalise(t).text for t in texts]
        grams = self.vectorizer_.fit_transform(normalised) if fit else self.vectorizer_.transform(normalised)
        return sparse.hstack([grams, rule_features(rule_hits)]).tocsr()

    def fit(self, X, y, rule_hits=None):
        """Fit on texts ``X`` and their labels ``y``."""
        texts, y = _texts(X), column_or_1d(y, warn=True)
        check_consistent_length(texts, y)
        self.classes_, y_codes = binary_target(y)
        self.vectorizer_ = TfidfVectorizer(analyzer="char_wb", ngram_range=tuple(self.ngram_range),
                                           min_df=self.min_df, max_features=self.max_features,
                                           sublinear_tf=True, dtype=np.float32)
        features = self._features(texts, rule_hits, fit=True)
        base = LogisticRegression(C=self.C, max_iter=2000, class_weight="balanced", random_state=self.random_state)
        self.model_ = CalibratedClassifierCV(base, method="sigmoid", cv=self.cv, ensemble=False).fit(features, y_codes)
        return self

    def predict_proba(self, X, rule_hits=None):
        """Calibrated probabilities, one column per class of ``classes_``."""
        check_is_fitted(self)
        return self.model_.predict_proba(self._features(_texts(X), rule_hits))

    def predict(self, X, rule_hits=None):
        is_second = self.predict_proba(X, rule_hits)[:, 1] >= 0.5
        return self.classes_[is_second.astype(int)]

    def fraud_probability(self, X, rule_hits=None) -> list[float]:
        """``predict_proba(X)[:, 1]`` as a list (what :class:`~bunjang_lab.fraud.text_scorer.TextScorer` reads)."""
        return self.predict_proba(X, rule_hits)[:, 1].tolist()

    def export(self) -> dict:
        """Vocabulary and weights as plain lists (JSON-ready) for
        :class:`~bunjang_lab.fraud.text_model.TextModel`: the n-grams with their idf and
        weight, one weight per rule, the intercept and the calibrating sigmoid."""
        check_is_fitted(self)
        calibrated = self.model_.calibrated_classifiers_[0]
        linear, sigmoid = calibrated.estimator, calibrated.calibrators[0]
        grams = self.vectorizer_.get_feature_names_out().tolist()
        weights = linear.coef_[0]
        return {
            "format": TEXT_MODEL_FORMAT, "analyzer": "char_wb", "ngram_range": list(self.vectorizer_.ngram_range),
            "sublinear_tf": True, "classes": [str(c) for c in self.classes_],
            "ngrams": grams, "idf": _short(self.vectorizer_.idf_), "ngram_weights": _short(weights[:len(grams)]),
            "rule_weights": dict(zip([rule.code for rule in rule_table()], _short(weights[len(grams):]))),
            "intercept": float(linear.intercept_[0]), "sigmoid": [float(sigmoid.a_), float(sigmoid.b_)],
        }
