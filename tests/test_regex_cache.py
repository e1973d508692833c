"""The compiled-expression cache: what it builds matches as re.compile does, a damaged or
missing file only costs compiling, and `score text` answers alike cold, warm and without it."""

from __future__ import annotations

import json
import marshal
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from bunjang_lab.text import regex_cache

EXPRESSIONS = [
    r"카톡[ :]?(?P<id>[a-z0-9_]{3,20})(?![a-z])",
    r"(?<![0-9])01[016789](?:[ \-.ㅡ]{0,3}[0-9]){7,8}",
    r"[가-힣ㄱ-ㅎ]+|[^\x00-\x7f가-힣]{2,}",
    r"(?:https?://)?(?P<host>[0-9a-z\-]+\.(?:com|kr|top))(?P<path>/[^\s]*)?",
    r"(?i)bunjang|번개 ?장터",
]
TEXTS = ["카톡 kim_77 추가해주세요", "010-1234-5678 로 문자", "번개장터 https://pay-bunjang.top/o/1 🍫🍫",
         "BUNJANG 공식", "ㅋㅋ 네 감사합니다"]


@pytest.fixture
def fresh(tmp_path, monkeypatch):
    """The module as a new process finds it, its cache in ``tmp_path``."""
    monkeypatch.setenv("BUNJANG_LAB_CACHE", str(tmp_path))
    monkeypatch.setattr(regex_cache, "_entries", None)
    monkeypatch.setattr(regex_cache, "_new", {})
    monkeypatch.setattr(regex_cache, "_on", None)
    return tmp_path


def _answers(pattern: re.Pattern) -> list:
    return [(m.span(), m.groups(), m.groupdict()) for text in TEXTS for m in pattern.finditer(text)]


@pytest.mark.parametrize("source", EXPRESSIONS)
def test_a_cached_expression_matches_as_re_compile_does(fresh, monkeypatch, source):
    cold = regex_cache.compile(source)
    regex_cache.save()
    monkeypatch.setattr(regex_cache, "_entries", None)  # a later process: read from the file
    assert source in regex_cache._cached()
    warm = regex_cache.compile(source)
    expected = re.compile(source)
    for pattern in (cold, warm):
        assert (pattern.pattern, pattern.flags, pattern.groups, pattern.groupindex) == (
            expected.pattern, expected.flags, expected.groups, expected.groupindex)
        assert _answers(pattern) == _answers(expected)
    assert not regex_cache._new  # nothing compiled again


def test_a_damaged_file_is_compiled_around(fresh):
    path = regex_cache.cache_path()
    path.write_bytes(b"\x00not marshal at all")
    assert _answers(regex_cache.compile(EXPRESSIONS[0])) == _answers(re.compile(EXPRESSIONS[0]))
    regex_cache.save()  # and replaced by a good one
    assert EXPRESSIONS[0] in regex_cache._read(path)


def test_an_empty_setting_turns_the_cache_off(fresh, monkeypatch):
    monkeypatch.setenv("BUNJANG_LAB_CACHE", "")
    regex_cache.compile(EXPRESSIONS[1])
    regex_cache.save()
    assert regex_cache.cache_path() is None and not any(fresh.iterdir())


def test_a_folder_others_may_write_to_is_not_read(fresh):
    fresh.chmod(0o777)  # (what the file holds decides what the rules match)
    assert regex_cache.cache_path() is None
    fresh.chmod(0o700)
    assert regex_cache.cache_path() is not None


def test_no_home_to_expand_turns_the_cache_off(fresh, monkeypatch):
    monkeypatch.setenv("BUNJANG_LAB_CACHE", "~/cache")

    def no_home(self):
        raise RuntimeError("Could not determine home directory.")

    monkeypatch.setattr(Path, "expanduser", no_home)
    assert regex_cache.cache_path() is None
    assert _answers(regex_cache.compile(EXPRESSIONS[2])) == _answers(re.compile(EXPRESSIONS[2]))


def test_a_damaged_entry_is_compiled_again(fresh, monkeypatch):
    monkeypatch.setattr(regex_cache, "_entries", {EXPRESSIONS[0]: marshal.dumps((0, [2**40], 0, {}, (None,)))})
    assert _answers(regex_cache.compile(EXPRESSIONS[0])) == _answers(re.compile(EXPRESSIONS[0]))


def test_score_text_answers_alike_cold_warm_and_without_the_cache(tmp_path):
    texts = ["카🍫톡 ☞ kim77", "네 내일 강남역에서 직거래 가능해요", "국민 123-45-678901 로 입금해주시면 오늘 발송해드려요",
             "https://bunjang-safe.top/pay 에서 결제하세요"]
    root = Path(__file__).resolve().parents[1]

    def run(cache: str) -> list[dict]:
        env = {**os.environ, "PYTHONPATH": str(root / "src"), "BUNJANG_LAB_CACHE": cache,
               "BUNJANG_CACHE_URL": f"sqlite:///{tmp_path / 'no-serving-cache.sqlite'}"}
        out = []
        for text in texts:
            done = subprocess.run([sys.executable, "-m", "bunjang_lab.score", "text", text, "--rules-only"],
                                  capture_output=True, text=True, env=env, check=True)
            out.append(json.loads(done.stdout))
        return out

    without = run("")
    cold = run(str(tmp_path / "regex"))
    assert any((tmp_path / "regex").iterdir())
    assert run(str(tmp_path / "regex")) == cold == without
