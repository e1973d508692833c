"""The rules on hand-written honest messages and on obfuscated lures (tests/data).

The honest set (tests/data/fraud_honest_ko.tsv) was written by hand, apart from the
simulator: buyers asking about payment, people refusing outside messengers or warning
others, banks as meeting places, numbers, links and brand names. The lures
(tests/data/fraud_lures_ko.tsv, ``benchmarks/fraud_text.py --write-lures``) use
phrasings and obfuscations of their own. Figures: docs/fraud.md.
"""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import pytest

from bunjang_lab.fraud.risk import flagged, rules_risk
from bunjang_lab.fraud.rules import reasons

DATA = Path(__file__).resolve().parent / "data"


def rows(name: str) -> list[dict]:
    with open(DATA / name, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))


HONEST = rows("fraud_honest_ko.tsv")
LURES = rows("fraud_lures_ko.tsv")


def test_the_honest_set_is_large_and_varied():
    assert len(HONEST) >= 500 and len({r["text"] for r in HONEST}) == len(HONEST)
    kinds = Counter(r["kind"] for r in HONEST)
    assert len(kinds) >= 10 and min(kinds.values()) >= 10


def test_at_most_two_percent_of_honest_messages_are_flagged():
    flags = [r["text"] for r in HONEST if flagged(rules_risk(reasons(r["text"])))]
    assert len(flags) <= 0.02 * len(HONEST), flags


@pytest.mark.parametrize("text", [
    "계좌이체 가능해요? 아니면 번개페이로 할게요", "혹시 계좌이체도 되나요? 안되면 안전결제 할게요",
    "I rarely use WhatsApp, let's chat here on Bunjang", "카톡 안 해요", "계좌번호 먼저 달라는 분들 사기니까 조심하세요",
])
def test_the_issue_examples_are_not_flagged(text):
    assert reasons(text) == []


def test_lures_are_caught_in_every_category():
    caught = Counter()
    for row in LURES:
        found = reasons(row["text"])
        caught[row["category"]] += flagged(rules_risk(found)) and row["category"] in {r["category"] for r in found}
    totals = Counter(row["category"] for row in LURES)
    assert sum(caught.values()) >= 0.95 * len(LURES)
    for category, total in totals.items():
        assert caught[category] >= 0.9 * total, category


@pytest.mark.parametrize("text,code", [
    ("카🍫톡 ☞ kim77", "kakao_id"), ("ㅋㅏㅋㅏㅇㅗㅌㅗㄱ : minsu88", "kakao_id"), ("O1O-l234-5678 문자주세요", "phone_number"),
    ("⓪①⓪ ❶❷❸❹ ⑤⑥⑦⑧", "phone_number"), ("bunjang-pay 닷컴/order 에서 결제", "lookalike_domain"),
    ("카카.오톡 주세요", "kakao_contact"), ("선💰입금 해주시면 발송", "prepayment_request"),
    ("신🌸한 110·234·567890", "bank_account"), ("텔☆레☆그☆램 @dealer", "telegram_id"),
])
def test_obfuscations_of_every_kind_are_undone(text, code):
    assert code in {r["code"] for r in reasons(text)}


def test_evidence_quotes_only_the_scored_text():
    for row in LURES[:60]:
        for reason in reasons(row["text"]):
            plain = reason["evidence"].replace("*", "")
            assert all(ch in row["text"] for ch in plain if ch not in " …"), (row["text"], reason)
