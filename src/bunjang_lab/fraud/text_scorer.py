"""Score texts: rules, the n-gram second opinion and the trained classifier when there is one
(``score text``, scans).

Standard library only: the trained classifier is read from its exported arrays
(:class:`~bunjang_lab.fraud.text_model.TextModel`), and so is the n-gram second opinion
(:class:`~bunjang_lab.fraud.ngram_opinion.NgramOpinion`, shipped with the code), so neither
scikit-learn nor pickle is on the serving path.

>>> scorer = TextScorer()
>>> answer = scorer.score("카.톡 ab1234 으로 연락 주세요")
>>> answer["risk"], answer["flagged"], answer["model"], answer["reasons"][0]["evidence"]
(0.9, True, 'rules', '카.톡 ab**34')
>>> TextScorer().score("네 내일 직거래 가능해요")["flagged"]
False
"""

from __future__ import annotations

import os
from typing import Sequence

from bunjang_lab.errors import MissingInput
from bunjang_lab.fraud import confirmed, risk, shadow, store
from bunjang_lab.fraud.ngram_opinion import NgramOpinion
from bunjang_lab.fraud.normalise import normalise
from bunjang_lab.fraud.rules import MAX_CHARS, normalised_reasons


class TextScorer:
    """Risk, ``flagged`` and reasons for texts; ``classifier`` is anything with
    ``fraud_probability(texts, rule_hits)`` (a :class:`~bunjang_lab.fraud.text_model.TextModel`,
    or a fitted :class:`~bunjang_lab.fraud.classifier.TextFraudClassifier` while training),
    or None (rules only). ``blocklist`` holds the identifiers of confirmed scams
    (:mod:`~bunjang_lab.fraud.confirmed`); a text repeating one gets a ``confirmed_<kind>`` reason.
    ``shadow`` holds rules on trial (:mod:`~bunjang_lab.fraud.shadow`): live ones add reasons,
    shadow ones are named in the answer's ``"shadow"`` and change nothing else. ``opinion``
    (the n-gram second opinion) adds an ``ngram_opinion`` reason where it is confident, and
    discounts the rules that quote no identifier where it is sure the text is honest."""

    def __init__(self, classifier=None, version: str | None = None, source: str = "text",
                 blocklist: confirmed.Blocklist | None = None, shadow_rules: shadow.ShadowBook | None = None,
                 opinion: NgramOpinion | None = None):
        self.classifier = classifier
        self.version = version
        self.source = source
        self.blocklist = blocklist
        self.shadow_rules = shadow_rules
        self.opinion = opinion

    @classmethod
    def from_models(cls, models_dir: str | os.PathLike | None = None, use_classifier: bool = True,
                    blocklist: confirmed.Blocklist | None = None) -> "TextScorer":
        """The latest trained classifier if there is one, else rules only, with the shadow rules
        of ``models_dir`` and the shipped n-gram opinion (``use_classifier=False``: the rules
        alone); a ``models_dir`` named but absent is an error (a typo would otherwise fall
        back to rules unseen)."""
        if models_dir is not None and not os.path.isdir(models_dir):
            raise MissingInput(f"no models folder at {models_dir} (train one with python -m bunjang_lab fraud train)")
        folder = store.latest(models_dir) if use_classifier else None
        classifier = store.load_text_model(folder) if folder is not None else None
        trial = shadow.load(models_dir)
        return cls(classifier, folder.name if classifier is not None else None, blocklist=blocklist,
                   shadow_rules=shadow.ShadowBook(trial) if trial else None,
                   opinion=NgramOpinion.load() if use_classifier else None)

    @property
    def model(self) -> str:
        return "rules" if self.classifier is None else f"rules+classifier:{self.version}"

    def score(self, text: str) -> dict:
        return self.score_many([text])[0]

    def score_many(self, texts: Sequence[str]) -> list[dict]:
        """One answer per text: ``{"risk", "flagged", "reasons", "model"}`` and
        ``"truncated": true`` for texts cut at :data:`~bunjang_lab.fraud.rules.MAX_CHARS`."""
        texts = ["" if t is None else str(t) for t in texts]
        # normalised once for the rules, the classifier, the second opinion and the shadow rules
        normalised = [normalise(t[:MAX_CHARS]) for t in texts]
        found = [normalised_reasons(n, self.source) if t else [] for t, n in zip(texts, normalised)]
        probabilities = [None] * len(texts)
        if self.classifier is not None and texts:
            from bunjang_lab.fraud.text_model import TextModel  # (loaded with the classifier when it is one)

            cut = [t[:MAX_CHARS] for t in texts]
            probabilities = (self.classifier.fraud_probability(cut, found, plain=[n.text for n in normalised])
                             if isinstance(self.classifier, TextModel) else self.classifier.fraud_probability(cut, found))
        if self.opinion is not None:  # after the classifier, whose features are the rules' codes
            found = [self.opinion.judged(hits, t[:MAX_CHARS], normalised=n, source=self.source)
                     for t, n, hits in zip(texts, normalised, found)]
        if self.blocklist is not None:  # after the classifier, whose features are the rules' codes
            found = [learned + hits for learned, hits in zip(confirmed.reasons_for(texts, self.blocklist, self.source),
                                                             found)]
        on_trial = [[] for _ in texts]
        if self.shadow_rules is not None:
            trials = [self.shadow_rules.hits(t, n.text) for t, n in zip(texts, normalised)]
            found = [live + hits for (live, _), hits in zip(trials, found)]
            on_trial = [codes for _, codes in trials]
        out = []
        for text, hits, probability, trial in zip(texts, found, probabilities, on_trial):
            score = risk.text_risk(hits, probability)
            answer = {"risk": score, "flagged": risk.flagged(score), "reasons": hits, "model": self.model}
            if probability is not None:
                answer["probability"] = round(float(probability), 4)
            if trial:
                answer["shadow"] = trial
            if len(text) > MAX_CHARS:
                answer["truncated"] = True
                answer["scored_chars"] = MAX_CHARS
            out.append(answer)
        return out
