"""A second opinion on fraud text: hashed character n-grams of the normalised text, one linear model.

The rules know the wordings they were written for; lures are paraphrased and obfuscated
faster than rules are added. This model reads character 1-4-grams of the normalised text
(:func:`~bunjang_lab.fraud.normalise.normalise` first, so what it learns is what survives
normalisation), each hashed into one of :data:`BUCKETS` columns, present or not, scaled to
unit length, into a multinomial logistic regression over :data:`CLASSES`. It is trained
offline (``benchmarks/fraud_ngram.py --train``) on lures with random obfuscations, honest
chat and hard negatives (payment questions, refusals, warnings), and shipped as plain
arrays: ``resources/fraud_ngrams.bin`` is one JSON header line (classes, biases, the
scale of each class's weights, the threshold) followed by one signed byte per class and
bucket. Scoring needs the standard library only; nothing is unpickled.

Its reason (code ``ngram_opinion``, the category it names, the probability as weight)
quotes the stretch of the scored text that pushed it most, masked like every evidence.

>>> opinion = NgramOpinion({"classes": ["honest", "account_transfer"], "bias": [0.0, -1.0],
...                         "scale": [1.0, 0.05], "threshold": 0.6}, bytes(2 * BUCKETS))
>>> opinion.probabilities("입금 먼저")
{'honest': 0.7311, 'account_transfer': 0.2689}
>>> opinion.reasons("입금 먼저")
[]
"""

from __future__ import annotations

import json
import math
import os
import re
from array import array
from pathlib import Path
from zlib import crc32

from bunjang_lab.errors import ModelError
from bunjang_lab.fraud.categories import ACCOUNT_TRANSFER, EXTERNAL_CHANNEL
from bunjang_lab.fraud.context import asks_for_safe_payment, reports_a_scam, stays_on_platform
from bunjang_lab.fraud.mask import mask
from bunjang_lab.fraud.normalise import Normalised, normalise
from bunjang_lab.fraud.rules import IDENTIFIER_RULES

BUCKETS = 1 << 17
NGRAM_SIZES = (1, 2, 3, 4)
CLASSES = ("honest", "external_channel", "phishing_link", "account_transfer")
CODE = "ngram_opinion"
DEFAULT_PATH = Path(__file__).resolve().parents[1] / "resources" / "fraud_ngrams.bin"
FORMAT = 1
# Sure enough that a text is honest to discount the rules that quote no identifier (see judged): chosen on
# rounds 23-27 as first scored, each with a model trained on the rounds before it only (docs/fraud.md).
HONEST_ENOUGH = 0.9
MAX_EVIDENCE_CHARS = 40  # the stretch found is at most this long in the normalised text,
WORD_WIDENING = 6  # then widened by up to this many characters each side to whole words
_SPACES = re.compile(r"\s+")


def _padded(text: str) -> str:
    """The normalised text as the n-grams read it: white space folded to one space, padded."""
    return f" {_SPACES.sub(' ', text).strip()} "


def gram_positions(text: str) -> dict[int, list[tuple[int, int]]]:
    """Bucket -> ``(start, size)`` of each n-gram hashed to it, over :func:`_padded` ``text``
    (starts are positions in the padded string; an n-gram is identified by its bytes in
    UTF-32, so the hash is the same in every process and on every machine).

    >>> sum(len(v) for v in gram_positions("ab").values())  # " ab " has 4 + 3 + 2 + 1 grams
    10
    """
    padded = _padded(text)
    encoded = padded.encode("utf-32-le")
    length = len(padded)
    out: dict[int, list[tuple[int, int]]] = {}
    mask_bits = BUCKETS - 1
    for size in NGRAM_SIZES:
        width = 4 * size
        for start in range(length - size + 1):
            bucket = crc32(encoded[4 * start:4 * start + width]) & mask_bits
            out.setdefault(bucket, []).append((start, size))
    return out


def buckets(text: str) -> list[int]:
    """The distinct buckets of the n-grams of (normalised) ``text``: the model's features
    (the keys of :func:`gram_positions`, without collecting where each n-gram is)."""
    padded = _padded(text)
    encoded = padded.encode("utf-32-le")
    mask_bits = BUCKETS - 1
    return list({crc32(encoded[offset:offset + 4 * size]) & mask_bits
                 for size in NGRAM_SIZES for offset in range(0, 4 * (len(padded) - size + 1), 4)})


class NgramOpinion:
    """The exported model: ``header`` (classes, bias, scale, threshold) and ``weights``
    (``len(classes) * BUCKETS`` signed bytes, class after class)."""

    def __init__(self, header: dict, weights: bytes):
        self.classes: list[str] = list(header["classes"])
        self.bias: list[float] = [float(b) for b in header["bias"]]
        self.scale: list[float] = [float(s) for s in header["scale"]]
        self.threshold = float(header["threshold"])
        table = array("b")
        table.frombytes(weights)
        if len(table) != len(self.classes) * BUCKETS:
            raise ValueError(f"{len(table)} weights for {len(self.classes)} classes of {BUCKETS} buckets")
        self.rows = [table[i * BUCKETS:(i + 1) * BUCKETS] for i in range(len(self.classes))]

    @classmethod
    def load(cls, path: str | os.PathLike = DEFAULT_PATH) -> "NgramOpinion | None":
        """The model at ``path``; None when there is none (the rules then answer alone); an
        unreadable one is a :class:`ModelError`."""
        try:
            with open(path, "rb") as f:
                header = json.loads(f.readline())
                if header.get("format") != FORMAT:
                    raise ValueError(f"format {header.get('format')!r}, expected {FORMAT}")
                return cls(header, f.read())
        except FileNotFoundError:
            return None
        except (ValueError, KeyError, TypeError) as exc:
            raise ModelError(f"cannot read the n-gram model {path} ({type(exc).__name__}: {exc}); "
                             "rebuild it with benchmarks/fraud_ngram.py --train") from None

    def _probabilities(self, features: list[int]) -> list[float]:
        """Softmax of the linear scores of one text's buckets, in the order of ``classes``."""
        norm = 1.0 / math.sqrt(len(features)) if features else 0.0
        logits = [bias + scale * norm * sum(map(row.__getitem__, features))
                  for row, bias, scale in zip(self.rows, self.bias, self.scale)]
        top = max(logits)
        exps = [math.exp(z - top) for z in logits]
        total = sum(exps)
        return [e / total for e in exps]

    def probabilities(self, normalised_text: str) -> dict[str, float]:
        """Probability of each class for an already normalised text."""
        return {name: round(p, 4) for name, p in zip(self.classes, self._probabilities(buckets(normalised_text)))}

    def judged(self, found: list[dict], text: str, normalised: Normalised | None = None,
               source: str = "text") -> list[dict]:
        """The rules' reasons ``found``, reviewed, then this opinion's own (:meth:`reasons`).

        Where the model is sure the text is honest (its probability of ``honest`` at least
        :data:`HONEST_ENOUGH`), a rule that quotes no identifier of its own (a request, a word,
        the wording around a link: not in :data:`~bunjang_lab.fraud.rules.IDENTIFIER_RULES`) counts
        for less: its weight times one minus that probability, the reason kept with
        ``"discounted_by"`` and ``"honest"`` so the answer still says what was found and why it
        weighs little. A phone number, an account or a suspicious host is never discounted.

        >>> sure = NgramOpinion({"classes": ["honest", "external_channel"], "bias": [5.0, 0.0],
        ...                      "scale": [1.0, 1.0], "threshold": 0.9}, bytes(2 * BUCKETS))
        >>> [(r["code"], r["weight"]) for r in sure.judged(
        ...     [{"code": "kakao_contact", "weight": 0.8}, {"code": "phone_number", "weight": 0.85}], "…")]
        [('kakao_contact', 0.0054), ('phone_number', 0.85)]
        """
        if not text:
            return list(found)
        normalised = normalised or normalise(text)
        probabilities = self._probabilities(buckets(normalised.text))
        honest = probabilities[0]  # class 0 is honest
        if honest >= HONEST_ENOUGH:
            found = [reason if reason["code"] in IDENTIFIER_RULES else
                     {**reason, "weight": round(reason["weight"] * (1.0 - honest), 4), "discounted_by": CODE,
                      "honest": round(honest, 4)} for reason in found]
        return list(found) + self._reasons(probabilities, normalised, source, found)

    def reasons(self, text: str, normalised: Normalised | None = None, source: str = "text",
                besides: list[dict] = ()) -> list[dict]:
        """One ``ngram_opinion`` reason when a fraud class reaches the threshold and no reason
        in ``besides`` (the rules') already names that category, else none: a second opinion
        speaks where the rules are silent, and does not repeat them. It does not name a
        transfer when the writer asks for the safe payment and gives no account number
        (:func:`~bunjang_lab.fraud.context.asks_for_safe_payment`): n-grams cannot tell who
        refuses the account, and such a text pays on the platform; nor a channel elsewhere when
        the writer keeps the deal here (:func:`~bunjang_lab.fraud.context.stays_on_platform`), nor
        anything in a report of a scam (:func:`~bunjang_lab.fraud.context.reports_a_scam`)."""
        if not text:
            return []
        normalised = normalised or normalise(text)
        return self._reasons(self._probabilities(buckets(normalised.text)), normalised, source, besides)

    def _reasons(self, probabilities: list[float], normalised: Normalised, source: str, besides) -> list[dict]:
        best = max(range(1, len(self.classes)), key=probabilities.__getitem__)  # class 0 is honest
        probability = probabilities[best]
        if probability < self.threshold or any(r["category"] == self.classes[best] for r in besides):
            return []
        if self.classes[best] == ACCOUNT_TRANSFER and asks_for_safe_payment(normalised.text):
            return []
        if self.classes[best] == EXTERNAL_CHANNEL and stays_on_platform(normalised.text):
            return []  # (a shop's name to search for here is no contact elsewhere)
        if reports_a_scam(normalised.text):
            return []  # (n-grams cannot tell a scam reported from one committed: the rules' context can)
        return [{"code": CODE, "category": self.classes[best], "weight": round(probability, 4),
                 "evidence": self._evidence(normalised, gram_positions(normalised.text), best), "source": source}]

    def _evidence(self, normalised: Normalised, positions: dict[int, list[tuple[int, int]]], category: int) -> str:
        """The masked original behind the stretch of the normalised text whose n-grams push
        most towards ``category`` against honest (a maximum-sum window, Kadane's scan)."""
        padded = _padded(normalised.text)
        push = [0.0] * len(padded)
        towards, against = self.rows[category], self.rows[0]
        scale_towards, scale_against = self.scale[category], self.scale[0]
        for bucket, starts in positions.items():
            value = scale_towards * towards[bucket] - scale_against * against[bucket]
            for start, size in starts:  # spread over the n-gram's characters
                for i in range(start, start + size):
                    push[i] += value / size
        best_sum, best = float("-inf"), (0, 1)
        running, begin = 0.0, 0
        for end, value in enumerate(push):
            if running <= 0 or end - begin >= MAX_EVIDENCE_CHARS:
                running, begin = 0.0, end
            running += value
            if running > best_sum:
                best_sum, best = running, (begin, end + 1)
        begin, end = best
        for _ in range(WORD_WIDENING):  # whole words: widen to the spaces around, a few characters at most
            if begin > 0 and padded[begin - 1] != " ":
                begin -= 1
            if end < len(padded) and padded[end] != " ":
                end += 1
        # the padded text is the normalised one with its white space folded: find the stretch there
        stretch = padded[begin:end].strip()
        start = _folded_find(normalised.text, stretch)
        if not stretch or start is None:
            return mask(normalised.original[:MAX_EVIDENCE_CHARS])
        a, b = normalised.span(start[0], start[1])
        return mask(normalised.original[a:b])


def _folded_find(text: str, stretch: str) -> tuple[int, int] | None:
    """The span of ``text`` that reads ``stretch`` once its white space is folded."""
    pattern = r"\s+".join(re.escape(part) for part in stretch.split(" ") if part)
    match = re.search(pattern, text) if pattern else None
    return (match.start(), match.end()) if match else None
