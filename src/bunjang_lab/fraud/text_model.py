"""The trained text classifier as plain arrays, scored with the standard library.

:meth:`bunjang_lab.fraud.classifier.TextFraudClassifier.export` writes the vocabulary
(character n-grams of the normalised text, ``char_wb`` as scikit-learn cuts them), their
idf and weights, one weight per rule, the intercept and the calibrating sigmoid; a
``text_model.json`` file holds that and nothing that runs code. :class:`TextModel`
computes the same probability: sublinear tf-idf of the n-grams, L2-normalised, plus the
rule features (each rule's weight when it fired), through the linear model and the sigmoid.

>>> model = TextModel({"format": 1, "ngram_range": [2, 2], "ngrams": [" 카", "카톡", "톡 "],
...                    "idf": [1.0, 2.0, 1.0], "ngram_weights": [0.0, 3.0, 0.0], "rule_weights": {"kakao_id": 2.0},
...                    "intercept": -1.0, "sigmoid": [-1.0, 0.0]})
>>> p = model.fraud_probability(["카톡", "네"], [[{"code": "kakao_id", "weight": 0.9}], []])
>>> [round(x, 3) for x in p]
[0.963, 0.269]
"""

from __future__ import annotations

import json
import math
import os
import re
from collections import Counter
from typing import Sequence

from bunjang_lab.errors import ModelError

TEXT_MODEL_FORMAT = 1
_WHITE_SPACES = re.compile(r"\s\s+")  # what scikit-learn's char_wb analyser folds first


def char_wb_ngrams(text: str, low: int, high: int) -> list[str]:
    """Character n-grams inside word boundaries, padded with a space, exactly as
    scikit-learn's ``analyzer="char_wb"`` (lower-cased) cuts them.

    >>> char_wb_ngrams("ab c", 2, 3)
    [' a', 'ab', 'b ', ' ab', 'ab ', ' c', 'c ', ' c ']
    """
    grams: list[str] = []
    for word in _WHITE_SPACES.sub(" ", text.lower()).split():
        padded = f" {word} "
        length = len(padded)
        for n in range(low, high + 1):
            offset = 0
            grams.append(padded[offset:offset + n])
            while offset + n < length:
                offset += 1
                grams.append(padded[offset:offset + n])
            if offset == 0:  # a word shorter than n counts once
                break
    return grams


class TextModel:
    """Fraud probability of texts from an exported classifier (``export()`` or its JSON)."""

    def __init__(self, exported: dict):
        if exported.get("format") != TEXT_MODEL_FORMAT:
            raise ModelError(f"text model format {exported.get('format')!r}, expected {TEXT_MODEL_FORMAT}; "
                             "retrain it with `python -m bunjang_lab fraud train`")
        self.low, self.high = exported["ngram_range"]
        self.columns = dict(zip(exported["ngrams"], zip(exported["idf"], exported["ngram_weights"])))
        self.rule_weights: dict[str, float] = exported["rule_weights"]
        self.intercept: float = exported["intercept"]
        self.slope, self.offset = exported["sigmoid"]

    @classmethod
    def load(cls, path: str | os.PathLike) -> "TextModel":
        """Read a ``text_model.json``; an unreadable one is a :class:`ModelError`."""
        try:
            with open(path, encoding="utf-8") as f:
                return cls(json.load(f))
        except (ValueError, KeyError, TypeError) as exc:
            raise ModelError(f"cannot read the fraud model {path} ({type(exc).__name__}: {exc}); "
                             "retrain it with `python -m bunjang_lab fraud train`") from None

    def _decision(self, plain: str, hits: list[dict]) -> float:
        counts = Counter(char_wb_ngrams(plain, self.low, self.high))
        norm = dot = 0.0
        for gram, count in counts.items():
            column = self.columns.get(gram)
            if column is not None:
                value = (1.0 + math.log(count)) * column[0]
                norm += value * value
                dot += value * column[1]
        score = dot / math.sqrt(norm) if norm else 0.0
        return score + sum(self.rule_weights.get(hit["code"], 0.0) * hit["weight"] for hit in hits) + self.intercept

    def fraud_probability(self, texts: Sequence[str], rule_hits: Sequence[list[dict]] | None = None,
                          plain: Sequence[str] | None = None) -> list[float]:
        """The calibrated probability that each text is fraud; ``rule_hits`` are the
        :func:`~bunjang_lab.fraud.rules.reasons` of each text (computed when not given),
        ``plain`` the normalised text of each one's first ``MAX_CHARS`` characters (normalised
        here when not given)."""
        from bunjang_lab.fraud.normalise import normalise
        from bunjang_lab.fraud.rules import MAX_CHARS, reasons

        texts = [str(text)[:MAX_CHARS] for text in texts]
        if rule_hits is None:
            rule_hits = [reasons(text) for text in texts]
        if plain is None:
            plain = [normalise(text).text for text in texts]
        out = []
        for text, hits in zip(plain, rule_hits):
            exponent = self.slope * self._decision(text, hits) + self.offset
            # expit(-exponent), written so that neither branch overflows
            out.append(1.0 / (1.0 + math.exp(exponent)) if exponent < 0 else
                       math.exp(-exponent) / (1.0 + math.exp(-exponent)))
        return out
