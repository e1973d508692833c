"""Suggestion matching as the serving CLI runs it: Korean input states, chosung, folding."""

import subprocess
import sys

import pytest

from bunjang_lab.products.suggest_match import bucket, buckets, entry, fold, match

ENTRIES = [
    entry("나이키", 10.0, {"신발>스니커즈": 1.0}),
    entry("나이키 덩크 로우", 5.0, {"신발>스니커즈": 1.0}),
    entry("노트북", 8.0, {"디지털>노트북": 1.0}),
    entry("남자 패딩", 6.0, {"남성의류>아우터": 1.0}),
    entry("닌텐도 스위치", 7.0, {"디지털>게임": 1.0}),
    entry("Nike Air Force", 2.0, {"신발>스니커즈": 1.0}),
]


def queries(prefix, entries=ENTRIES, **kw):
    return [s["query"] for s in match(prefix, entries, **kw)]


@pytest.mark.parametrize("typed", ["ㄴ", "나", "낭", "나이", "나잌", "나이키"])
def test_every_input_method_state_of_nike_matches_it(typed):
    assert "나이키" in queries(typed)


def test_a_single_jamo_matches_the_whole_bucket_by_popularity():
    assert queries("ㄴ") == ["나이키", "노트북", "닌텐도 스위치", "남자 패딩", "나이키 덩크 로우"]


def test_partial_final_consonant_does_not_leak_to_other_words():
    # 낭 is 나 + the ㅇ of 이: it must not match 남자 (ㅁ final) nor 노트북
    assert queries("낭") == ["나이키", "나이키 덩크 로우"]


def test_chosung_abbreviation():
    assert queries("ㄴㅇㅋ") == ["나이키", "나이키 덩크 로우"]
    assert [s["match"] for s in match("ㄴㅇㅋ", ENTRIES)] == ["chosung", "chosung"]
    assert queries("ㄴㅌㄷ") == ["닌텐도 스위치"]


def test_latin_case_spacing_and_full_width_are_folded():
    assert queries("NIKE a") == queries("nikeair") == queries("ｎｉｋｅ") == ["Nike Air Force"]
    assert fold("  Nike   Air ") == "nikeair"


def test_user_categories_boost_matching_queries():
    assert queries("ㄴ", k=1) == ["나이키"]
    assert queries("ㄴ", k=1, user_categories={"디지털>노트북": 3.0}) == ["노트북"]


def test_categories_may_come_as_stored_json_text():
    stored = [{**e, "categories": '{"디지털>노트북": 1.0}' if e["query"] == "노트북" else "{}"} for e in ENTRIES]
    assert queries("ㄴ", stored, k=1, user_categories={"디지털>노트북": 1.0}) == ["노트북"]


def test_bucket_is_the_first_keystroke_for_every_form_of_a_prefix():
    assert {bucket(p) for p in ["ㄴ", "나", "낭", "ㄴㅇㅋ", "나이키"]} == {"ㄴ"}
    assert bucket("  ") == "" and match("  ", ENTRIES) == []


def test_no_match_and_k():
    assert queries("ㅋ") == []
    assert len(match("ㄴ", ENTRIES, k=2)) == 2


def test_module_imports_only_the_standard_library():
    code = (
        "import sys, bunjang_lab.products.suggest_match, bunjang_lab.marketplace.segments;"
        "heavy = {'numpy', 'pandas', 'sklearn', 'xlearn', 'pyarrow', 'airflow'} & set(sys.modules);"
        "print(sorted(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_a_finished_syllable_prefers_queries_that_start_with_it_as_written():
    entries = [entry("남자 패딩", 15.0), entry("나이키", 10.0)]
    assert [(s["query"], s["match"]) for s in match("나", entries)] == [("나이키", "prefix"), ("남자 패딩", "keystrokes")]
    assert queries("남", entries) == ["남자 패딩"]


def test_a_trailing_space_means_the_next_word_is_coming():
    entries = [entry("캐논", 20.0), entry("캐논 필름카메라", 5.0), entry("캐논렌즈", 4.0)]
    assert queries("캐논", entries) == ["캐논", "캐논 필름카메라", "캐논렌즈"]
    assert queries("캐논 ", entries) == ["캐논 필름카메라", "캐논렌즈"]


def test_one_keystroke_off_still_finds_the_query_after_every_exact_match():
    entries = [entry("아이폰", 10.0), entry("아이패드", 8.0), entry("아이언세트", 1.0), entry("나이키", 30.0)]
    assert [(s["query"], s["match"]) for s in match("아이펀", entries)][0] == ("아이폰", "typo")
    assert queries("아이폰", entries) == ["아이폰"]  # exact: no typo neighbours
    assert queries("아이", entries) == ["아이폰", "아이패드", "아이언세트"]  # too short to guess a typo
    assert queries("아이ㅍ", [entry("아이언세트", 100.0), entry("아이폰", 1.0)]) == ["아이폰", "아이언세트"]  # typo after exact


def test_the_wrong_input_mode_of_a_korean_keyboard_is_read_both_ways():
    entries = [entry("아이폰", 10.0), entry("Nike Dunk", 4.0), entry("나이키", 9.0)]
    by_bucket = {}
    for e in entries:
        by_bucket.setdefault(e["bucket"], []).append(e)
    for typed, wanted in (("dkdlvhs", "아이폰"), ("dkdl", "아이폰"), ("ㅜㅑㅏㄷ", "Nike Dunk"), ("ㅜㅑㅏㄷ ㅇ", "Nike Dunk"), ("NIKE", "Nike Dunk")):
        found = match(typed, [e for b in buckets(typed) for e in by_bucket.get(b, [])])
        assert found and found[0]["query"] == wanted, typed
    assert buckets("ㄴㅇㅋ") == ["ㄴ"]  # consonants only: an abbreviation, not English
