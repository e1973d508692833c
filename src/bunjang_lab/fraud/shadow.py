"""Shadow rules: a new rule is scored and recorded, but changes no ``flagged``, until its
precision on later moderator decisions earns it a place among the live reasons.

A rule is a regular expression over the normalised text (lower case, obfuscations undone:
:func:`~bunjang_lab.fraud.normalise.normalise`) with a code, a category and a weight, kept
with its status in ``models/fraud/shadow_rules.json`` (``fraud shadow add``). The daily
retraining (:mod:`bunjang_lab.fraud.retrain`) counts, over the decisions taken since the rule
was added, the decided texts it fires on and how many of them were confirmed; a rule whose
precision reaches :data:`MIN_PRECISION` over at least :data:`MIN_FIRED` of them goes live.
Keep patterns simple: Python's ``re`` backtracks.

>>> rule = ShadowRule("insurance_fee", "account_transfer", 0.8, "보험료? ?[0-9,]+원", since="2026-10-05")
>>> ShadowBook([rule]).hits("배송 보험료 9,900원 먼저요")
([], ['insurance_fee'])
>>> live = ShadowBook([rule.with_status("live")]).hits("배송 보험료 9,900원 먼저요")[0]
>>> [(r["code"], r["weight"], r["evidence"]) for r in live]
[('insurance_fee', 0.8, '보험료 9,900원')]
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import NamedTuple, Sequence

from bunjang_lab.errors import InvalidInput
from bunjang_lab.fraud import categories, store
from bunjang_lab.fraud.mask import mask
from bunjang_lab.fraud.normalise import normalise
from bunjang_lab.fraud.rules import MAX_CHARS, MAX_EVIDENCE, RULES

FILE = "shadow_rules.json"
SHADOW, LIVE = "shadow", "live"
MIN_PRECISION = 0.9  # share of the decided texts it fires on that moderators confirmed
MIN_FIRED = 20       # decided texts it must have fired on before its precision counts


class _Terms(NamedTuple):  # not a dataclass: importing dataclasses cost every `score text` 7 ms
    code: str
    category: str
    weight: float
    pattern: str
    status: str = SHADOW
    since: str | None = None  # decisions from this time on judge it (ISO date or time)
    tracked: dict | None = None  # the last count: decisions, fired, confirmed, precision, recall


class ShadowRule(_Terms):
    __slots__ = ()

    def __new__(cls, *args, **kwargs):
        self = super().__new__(cls, *args, **kwargs)
        if self.code in RULES:
            raise InvalidInput(f"{self.code!r} is already a rule's code")
        if self.category not in categories.TEXT_CATEGORIES:
            raise InvalidInput(f"category must be one of {', '.join(categories.TEXT_CATEGORIES)}, got {self.category!r}")
        if not 0 < self.weight <= 1:
            raise InvalidInput(f"weight must lie in (0, 1], got {self.weight}")
        if self.status not in (SHADOW, LIVE):
            raise InvalidInput(f"status must be {SHADOW} or {LIVE}, got {self.status!r}")
        try:
            re.compile(self.pattern)
        except re.error as exc:
            raise InvalidInput(f"pattern of {self.code!r} is not a regular expression: {exc}") from None
        return self

    def _replace(self, **changes) -> "ShadowRule":  # namedtuple's own would skip the checks above
        return type(self)(**{**self._asdict(), **changes})

    @property
    def compiled(self) -> re.Pattern:
        return re.compile(self.pattern)  # re keeps the compiled expression

    def with_status(self, status: str, tracked: dict | None = None) -> "ShadowRule":
        return self._replace(status=status, tracked=tracked if tracked is not None else self.tracked)


class ShadowBook:
    """The rules of one file: live ones give reasons, shadow ones are only named."""

    def __init__(self, rules: Sequence[ShadowRule]):
        self.rules = list(rules)

    def hits(self, text: str, plain: str | None = None) -> tuple[list[dict], list[str]]:
        """(reasons of the live rules that fire, codes of the shadow rules that fire);
        ``plain`` is the normalised text of its first ``MAX_CHARS`` characters when known."""
        if not self.rules or not text:
            return [], []
        if plain is None:
            plain = normalise(text[:MAX_CHARS]).text
        live, shadow = [], []
        for rule in self.rules:
            match = rule.compiled.search(plain)
            if match is None:
                continue
            if rule.status == LIVE:
                live.append({"code": rule.code, "category": rule.category, "weight": rule.weight,
                             "evidence": mask(match.group())[:MAX_EVIDENCE], "source": "text"})
            else:
                shadow.append(rule.code)
        return live, shadow


def load(models_dir: str | os.PathLike | None = None) -> list[ShadowRule]:
    """The rules of ``models/fraud/shadow_rules.json`` (none when the file is absent)."""
    path = store.root(models_dir) / FILE
    if not path.exists():
        return []
    return [ShadowRule(**entry) for entry in json.loads(path.read_text(encoding="utf-8"))]


def save(rules: Sequence[ShadowRule], models_dir: str | os.PathLike | None = None) -> Path:
    from bunjang_lab import files

    path = store.root(models_dir) / FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    files.write_json(path, [rule._asdict() for rule in rules])
    return path


def track(rules: Sequence[ShadowRule], texts: Sequence[str], confirmed: Sequence[bool], times: Sequence) -> list[ShadowRule]:
    """Each rule with its count over the decided texts (``confirmed``: the decisions) taken
    since it was added; a shadow rule that clears :data:`MIN_PRECISION` over
    :data:`MIN_FIRED` decided texts goes live (a live one stays live)."""
    import pandas as pd

    plain = [normalise(t[:MAX_CHARS]).text for t in texts]
    times = pd.to_datetime(pd.Series(list(times)), utc=True)
    out = []
    for rule in rules:
        later = times >= pd.Timestamp(rule.since, tz="UTC") if rule.since else pd.Series(True, index=times.index)
        fired = confirmed_fired = decisions = positives = 0
        for text, is_fraud, counts in zip(plain, confirmed, later):
            if not counts:
                continue
            decisions += 1
            positives += bool(is_fraud)
            if rule.compiled.search(text):
                fired += 1
                confirmed_fired += bool(is_fraud)
        precision = confirmed_fired / fired if fired else None
        tracked = {"decisions": decisions, "fired": fired, "confirmed": confirmed_fired,
                   "precision": None if precision is None else round(precision, 4),
                   "recall": round(confirmed_fired / positives, 4) if positives else None}
        earned = fired >= MIN_FIRED and precision is not None and precision >= MIN_PRECISION
        out.append(rule.with_status(LIVE if rule.status == LIVE or earned else SHADOW, tracked))
    return out
