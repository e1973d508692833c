"""Identifiers of confirmed scams: what a moderator's decision teaches, and the reasons
they give a text that repeats them.

A confirmed target's text gives its identifiers (:func:`~bunjang_lab.fraud.identifiers.identifiers`)
to a blocklist, and a confirmed listing its pictures (:func:`picture_identifier`: the full
frame's pHash and dHash, as the image index stores them); a cleared one (an appeal, or a
decision put right) takes back what that target gave, and the latest decision of a target
wins. Where the blocklist lives is the adapter's business: anything with ``lookup(identifiers) -> {identifier: entry}`` serves
(the serving cache's :class:`~bunjang_lab.serving.blocklist.CachedBlocklist`, or a dict).

>>> learned = {"phone:01012345678": {"targets": ["chat:e1"]}}
>>> reasons_for(["문자 주세요 010 1234 5678", "네 가능해요"], DictBlocklist(learned))
[[{'code': 'confirmed_phone', 'category': 'external_channel', 'weight': 1.0, 'evidence': 'phone:01*******78', 'source': 'text'}], []]
"""

from __future__ import annotations

from typing import Mapping, Protocol, Sequence

from bunjang_lab.fraud import categories as cat
from bunjang_lab.fraud.identifiers import identifiers, kind_of, shown

CONFIRMED = "confirmed"
CLEARED = "cleared"
WEIGHT = 1.0  # a moderator confirmed this very identifier in a scam: as sure as a rule gets
PICTURE = "image"
CATEGORY_OF_KIND = {"phone": cat.EXTERNAL_CHANNEL, "messenger": cat.EXTERNAL_CHANNEL, "email": cat.EXTERNAL_CHANNEL,
                    "account": cat.ACCOUNT_TRANSFER, "domain": cat.PHISHING_LINK, PICTURE: cat.STOLEN_IMAGE}
CODES = tuple(f"confirmed_{kind}" for kind in CATEGORY_OF_KIND)


class Blocklist(Protocol):
    def lookup(self, identifiers: Sequence[str]) -> Mapping[str, dict]:
        """The entries of those ``identifiers`` the blocklist holds."""


class DictBlocklist:
    """A blocklist held in a mapping (tests, batch evaluation)."""

    def __init__(self, entries: Mapping[str, dict]):
        self.entries = entries

    def lookup(self, identifiers: Sequence[str]) -> dict[str, dict]:
        return {i: self.entries[i] for i in identifiers if i in self.entries}


def picture_identifier(phash: int, dhash: int) -> str:
    """A picture on the blocklist: its full frame's two 64-bit hashes (a copy is found by the
    image matcher, which names the stored picture it copies).

    >>> picture_identifier(5, 255)
    'image:000000000000000500000000000000ff'
    """
    return f"{PICTURE}:{phash:016x}{dhash:016x}"


def taught(decision: str, target_text: str | None, pictures: Sequence[str] = ()) -> list[str]:
    """The identifiers a decision puts on the blocklist: a confirmation's target's (its text's,
    and ``pictures``, the :func:`picture_identifier` of a listing's photos), else none.

    >>> taught("confirmed", "텔레 @quick_deal 로 연락"), taught("cleared", "텔레 @quick_deal 로 연락", ["image:0f"])
    (['messenger:quick_deal'], [])
    """
    return sorted({*identifiers(target_text or ""), *pictures}) if decision == CONFIRMED else []


def held_reasons(found: Sequence[Sequence[str]], blocklist: Blocklist, source: str) -> list[list[dict]]:
    """For each list of identifiers, one reason per identifier the blocklist holds (the rules' shape)."""
    held = blocklist.lookup(sorted({i for ids in found for i in ids})) if any(found) else {}
    return [[{"code": f"confirmed_{kind_of(i)}", "category": CATEGORY_OF_KIND[kind_of(i)], "weight": WEIGHT,
              "evidence": shown(i), "source": source} for i in dict.fromkeys(ids) if i in held] for ids in found]


def reasons_for(texts: Sequence[str], blocklist: Blocklist, source: str = "text") -> list[list[dict]]:
    """For each text, one reason per identifier in it that the blocklist holds."""
    return held_reasons([identifiers(text) for text in texts], blocklist, source)
