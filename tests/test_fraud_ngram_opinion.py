"""The n-gram second opinion: its export scores as the fitted model, the shipped file, its evidence."""

from __future__ import annotations

import random

import pytest

from bunjang_lab.errors import ModelError
from bunjang_lab.fraud import ngram_train
from bunjang_lab.fraud.mask import mask
from bunjang_lab.fraud.ngram_opinion import BUCKETS, CLASSES, CODE, NgramOpinion, buckets
from bunjang_lab.fraud.normalise import normalise
from bunjang_lab.fraud.text_scorer import TextScorer

_TOY = {
    "honest": ("네고 가능할까요?", "직거래 가능해요 강남역", "번개페이로 결제할게요", "사진 더 볼 수 있을까요?"),
    "external_channel": ("카톡 아이디 minsu88 로 연락주세요", "텔레그램 @deal_king 로 와주세요", "라인 아이디 sora22 추가요"),
    "phishing_link": ("결제 링크 bunjang-pay.shop/pay 에서 해주세요", "안전결제 창 safe-bunjang.xyz 로 들어가세요"),
    "account_transfer": ("국민은행 123-45-678901 로 입금해주세요", "선입금 해주시면 바로 보내드려요", "계좌로 먼저 보내주세요"),
}


@pytest.fixture(scope="module")
def toy():
    rng = random.Random(3)
    texts, labels = [], []
    for label, pool in _TOY.items():
        for text in pool:
            for _ in range(5):  # a few variants so that every class has weight
                texts.append(text + rng.choice(("", " ㅎㅎ", " !!", " 부탁해요")))
                labels.append(label)
    return texts, labels, ngram_train.fit(texts, labels, c=1.0)


def test_the_export_gives_the_fitted_models_probabilities(toy):
    texts, _, model = toy
    opinion = ngram_train.export(model, threshold=0.5)
    unseen = ["카. 톡 kim77 로 연락", "입금 먼저요", "내일 봬요", "", "🔥🔥🔥", "a" * 500]
    fitted = model.predict_proba(ngram_train.features(texts + unseen))
    for text, row in zip(texts + unseen, fitted):
        exported = opinion.probabilities(normalise(text).text)
        # the weights are stored as signed bytes: the probabilities agree to about 1e-3
        assert [exported[c] for c in CLASSES] == pytest.approx(list(row), abs=5e-3), text


def test_the_saved_file_reads_back_the_same(toy, tmp_path):
    opinion = ngram_train.export(toy[2], threshold=0.7)
    ngram_train.save(opinion, tmp_path / "m.bin")
    again = NgramOpinion.load(tmp_path / "m.bin")
    assert again.threshold == 0.7 and again.classes == list(CLASSES)
    assert again.probabilities("카톡 아이디 abc12") == opinion.probabilities("카톡 아이디 abc12")


def test_a_missing_file_is_none_and_a_broken_one_an_error(tmp_path):
    assert NgramOpinion.load(tmp_path / "absent.bin") is None
    (tmp_path / "broken.bin").write_bytes(b'{"format": 1, "classes": ["honest"], "bias": [0], "scale": [1], '
                                          b'"threshold": 0.5}\n' + bytes(10))
    with pytest.raises(ModelError, match="broken.bin"):
        NgramOpinion.load(tmp_path / "broken.bin")


def test_buckets_are_stable_across_processes():
    # crc32 of the UTF-32 bytes, not Python's salted hash: a model trained in one process
    # scores the same in another
    assert sorted(buckets("카톡"))[:4] == sorted(buckets("카톡"))[:4]
    assert all(0 <= b < BUCKETS for b in buckets("카톡 아이디 minsu88"))
    assert len(buckets("ab")) == 9  # " ab ": 4 + 3 + 2 + 1 n-grams, the space twice


SHIPPED = NgramOpinion.load()


def test_the_shipped_opinion_quotes_the_scored_text():
    assert SHIPPED is not None, "src/bunjang_lab/resources/fraud_ngrams.bin is shipped with the code"
    text = "번개페이 수수료 아까우니까 계좌로 먼저 보내주세요 확인되면 바로 발송해요"
    found = SHIPPED.reasons(text)
    assert [r["code"] for r in found] == [CODE] and found[0]["category"] == "account_transfer"
    assert found[0]["evidence"] and found[0]["evidence"] in mask(text) and found[0]["source"] == "text"


def test_the_shipped_opinion_evidence_maps_back_through_obfuscation():
    text = "카🍫톡 아이디 s.o.l_0412 로 연락 주세요"
    found = SHIPPED.reasons(text)
    assert found and found[0]["evidence"] in mask(text)


@pytest.mark.parametrize("text", ["계좌이체 가능해요? 아니면 번개페이로 할게요", "카톡 안 해요 여기서 얘기해요",
                                  "계좌번호 먼저 달라는 분들 사기니까 조심하세요", "네 내일 직거래 가능해요"])
def test_the_shipped_opinion_stays_quiet_on_questions_refusals_and_warnings(text):
    assert SHIPPED.reasons(text) == []


def test_the_opinion_names_no_transfer_when_the_writer_asks_for_the_safe_payment():
    sure_of_transfers = NgramOpinion({"classes": ["honest", "account_transfer"], "bias": [0.0, 5.0], "scale": [1.0, 1.0],
                                      "threshold": 0.9}, bytes(2 * BUCKETS))
    assert sure_of_transfers.reasons("통장 얘기는 그만하시고 번개 페이로 결제해 주세요") == []
    assert sure_of_transfers.reasons("계좌 알려달라 하셔도 안 드려요 안전거래만 가능") == []
    # an account to pay into, or no safe payment asked for: the opinion speaks
    assert sure_of_transfers.reasons("안전결제로 해주세요 농협 351 2233 4455 66")[0]["category"] == "account_transfer"
    assert sure_of_transfers.reasons("통장으로 보내주시면 챙겨드릴게요")[0]["category"] == "account_transfer"


def test_the_scorer_adds_the_opinion_where_the_rules_are_silent_and_rules_only_leaves_it_out(tmp_path):
    lure = "택배비만 먼저 보내주시면 발송해요"  # no rule reads a shipping fee asked for first
    served = TextScorer.from_models(tmp_path).score(lure)
    assert [r["code"] for r in served["reasons"]] == [CODE] and served["flagged"]
    assert TextScorer.from_models(tmp_path, use_classifier=False).score(lure)["reasons"] == []
    # where a rule of the same category fired, the opinion does not repeat it
    ruled = TextScorer.from_models(tmp_path).score("번개페이 수수료 아까우니까 계좌로 먼저 보내주세요")
    assert ruled["reasons"] and CODE not in [r["code"] for r in ruled["reasons"]]


def test_the_scorer_normalises_once_and_answers_as_each_part_would_alone():
    """The rules, the exported classifier, the second opinion and the shadow rules read one
    normalisation of each text: the answers are those of each part normalising it itself."""
    from bunjang_lab.fraud import shadow
    from bunjang_lab.fraud.rules import MAX_CHARS, reasons
    from bunjang_lab.fraud.text_model import TextModel

    model = TextModel({"format": 1, "ngram_range": [2, 3], "ngrams": ["카톡", "계좌", " 입금", "번개"],
                       "idf": [1.5, 1.2, 1.8, 1.1], "ngram_weights": [2.0, 1.5, 1.0, -1.0],
                       "rule_weights": {"kakao_id": 1.0}, "intercept": -1.0, "sigmoid": [-2.0, 0.5]})
    book = shadow.ShadowBook([shadow.ShadowRule("s_kakao", "external_channel", 0.5, "카톡", shadow.LIVE)])
    opinion = NgramOpinion.load()
    scorer = TextScorer(model, "toy", opinion=opinion, shadow_rules=book)
    texts = ["카.톡 ab1234 으로 연락 주세요", "계좌로 입금 먼저 부탁드려요", "번개페이로 할게요", "", "카🍫톡 ☞ kim77",
             "가" * (MAX_CHARS + 10)]
    answers = scorer.score_many(texts)
    for text, answer in zip(texts, answers):
        rules = reasons(text)
        alone = rules + opinion.reasons(text[:MAX_CHARS], besides=rules)
        live, _ = book.hits(text)
        assert answer["reasons"] == live + alone
        assert answer["probability"] == round(model.fraud_probability([text], [rules])[0], 4)



def test_no_channel_elsewhere_when_the_writer_points_to_a_search_here():
    # an opinion that names an outside channel for every text, asked about a shop's name to look up
    # on the platform itself: no contact elsewhere, however handle-like the name
    always = NgramOpinion({"classes": list(CLASSES), "bias": [0.0, 5.0, 0.0, 0.0], "scale": [1.0] * len(CLASSES),
                           "threshold": 0.6}, bytes(len(CLASSES) * BUCKETS))
    assert always.reasons("ㅇㅇ 상점명 mina_closet 그대로 번장에서 검색하시면 다른 옷도 나와요") == []
    assert [r["category"] for r in always.reasons("상점명 mina_closet 그대로 인스타에서 검색하시면 나와요")] == ["external_channel"]


def test_identifier_rules_are_rules():
    from bunjang_lab.fraud.rules import IDENTIFIER_RULES, rule_table

    assert IDENTIFIER_RULES <= {rule.code for rule in rule_table()}


def test_a_sure_honest_opinion_discounts_requests_not_identifiers():
    sure = NgramOpinion({"classes": list(CLASSES), "bias": [6.0, 0.0, 0.0, 0.0], "scale": [1.0] * len(CLASSES),
                         "threshold": 0.9}, bytes(len(CLASSES) * BUCKETS))
    found = [{"code": "kakao_contact", "category": "external_channel", "weight": 0.8},
             {"code": "bank_account", "category": "account_transfer", "weight": 0.95}]
    judged = sure.judged(found, "카톡 주세요 국민 123-45-678901")
    assert judged[0]["weight"] < 0.01 and judged[0]["discounted_by"] == CODE and judged[0]["honest"] > 0.99
    assert judged[1] == found[1]
    unsure = NgramOpinion({"classes": list(CLASSES), "bias": [0.0] * len(CLASSES), "scale": [1.0] * len(CLASSES),
                           "threshold": 0.9}, bytes(len(CLASSES) * BUCKETS))
    assert unsure.judged(found, "카톡 주세요") == found


def test_no_opinion_on_a_report_of_a_scam():
    # n-grams cannot tell a scam reported from one committed: an opinion sure of fraud stays silent on a report
    sure = NgramOpinion({"classes": list(CLASSES), "bias": [0.0, 0.0, 6.0, 0.0], "scale": [1.0] * len(CLASSES),
                         "threshold": 0.6}, bytes(len(CLASSES) * BUCKETS))
    assert sure.reasons("이상한 주소 받아서 신고했어요 여러분도 조심하세요") == []
    assert [r["category"] for r in sure.reasons("이 주소에서 결제해 주세요")] == ["phishing_link"]
