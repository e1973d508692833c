"""``score text`` and ``score listing`` as whole processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable


def score(*args, stdin: str | None = None, env_extra: dict | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "USER": os.environ.get("USER", "bunjang"), **(env_extra or {})}
    return subprocess.run([PYTHON, "-m", "bunjang_lab.score", *args], input=stdin, capture_output=True,
                          text=True, env=env, cwd=REPO_ROOT, timeout=120)


def test_one_text_prints_one_object_with_masked_evidence():
    done = score("text", "카.톡 ab1234 으로 연락 주세요")
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert answer["flagged"] is True and answer["model"] == "rules"
    assert answer["reasons"] == [{"code": "kakao_id", "category": "external_channel", "weight": 0.9,
                                  "evidence": "카.톡 ab**34", "source": "text"}]


def test_batch_answers_in_order_and_reports_bad_lines(tmp_path):
    batch = tmp_path / "in.jsonl"
    lines = [{"id": 1, "text": "공일공 일이삼사 오육칠팔 로 문자"}, {"id": "b", "text": "네 직거래 가능해요"},
             {"id": 3}, {"id": 4, "text": "국민 123456-78-901234 선입금"}]
    batch.write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in lines) + "\n\n", encoding="utf-8")
    done = score("text", "--jsonl", str(batch))
    answers = [json.loads(line) for line in done.stdout.splitlines()]
    assert done.returncode == 1
    assert [a.get("id") for a in answers] == [1, "b", 3, 4]
    assert answers[0]["reasons"][0]["evidence"] == "공일* **** **칠팔"
    assert answers[1]["flagged"] is False
    assert answers[2] == {"line": 3, "id": 3, "error": "each line needs a string field 'text'"}
    assert {r["code"] for r in answers[3]["reasons"]} == {"bank_account", "prepayment_request"}


def test_long_text_is_scored_on_its_start_and_says_so():
    done = score("text", "-", stdin="카톡 ab1234 주세요 " + "가" * 30_000)
    answer = json.loads(done.stdout)
    assert answer["truncated"] is True and answer["scored_chars"] == 20_000 and answer["flagged"]


def test_mistakes_are_one_line_errors(tmp_path):
    assert score("text").returncode == 2
    bad = tmp_path / "bad.jsonl"
    bad.write_text("{not json\n", encoding="utf-8")
    done = score("text", "--jsonl", str(bad))
    assert done.returncode == 1 and done.stderr == "" and "invalid JSON" in json.loads(done.stdout)["error"]
    done = score("text", "--jsonl", str(tmp_path / "missing.jsonl"))
    assert done.returncode == 2 and "Traceback" not in done.stderr


def test_rules_only_scoring_imports_no_heavy_library():
    code = ("import sys\n"
            "from bunjang_lab.score import COMMANDS; from bunjang_lab.cli import main\n"
            "main('score', '', COMMANDS, ['text', '카톡 ab1234 주세요'])\n"
            "heavy = [m for m in ('pandas', 'numpy', 'sklearn', 'scipy', 'xlearn', 'airflow') if m in sys.modules]\n"
            "print(','.join(heavy) or 'none', file=sys.stderr)")
    done = subprocess.run([PYTHON, "-c", code], capture_output=True, text=True, cwd=REPO_ROOT, timeout=60,
                          env={**os.environ, "USER": "bunjang"})
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip().splitlines()[-1] == "none"


def test_scoring_with_a_trained_model_imports_no_heavy_library_and_unpickles_nothing(tmp_path):
    from bunjang_lab.fraud import store
    from bunjang_lab.fraud.classifier import TextFraudClassifier

    texts = ["카톡 ab1234 주세요", "직거래 가능해요", "선입금 부탁 국민 123456-78-901234", "택배비 포함"] * 5
    store.save({"classifier": TextFraudClassifier(cv=2).fit(texts, [1, 0, 1, 0] * 5)}, {}, tmp_path / "models")
    code = ("import sys\n"
            "from bunjang_lab.score import COMMANDS; from bunjang_lab.cli import main\n"
            f"main('score', '', COMMANDS, ['text', '카톡 ab1234 주세요', '--models', {str(tmp_path / 'models')!r}])\n"
            "heavy = [m for m in ('pandas', 'numpy', 'sklearn', 'scipy', 'pyarrow', 'pickle', 'airflow') if m in sys.modules]\n"
            "print(','.join(heavy) or 'none', file=sys.stderr)")
    done = subprocess.run([PYTHON, "-c", code], capture_output=True, text=True, cwd=REPO_ROOT, timeout=60,
                          env={**os.environ, "USER": "bunjang"})
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["model"].startswith("rules+classifier:")
    assert done.stderr.strip().splitlines()[-1] == "none"


def test_listing_combines_text_and_reports_image_errors(tmp_path):
    listing = tmp_path / "listing.json"
    listing.write_text(json.dumps({"item_id": "i1", "title": "아이폰 15 급처", "description": "카톡 ab1234 주세요, 선입금만",
                                   "images": [str(tmp_path / "missing.jpg")]}, ensure_ascii=False), encoding="utf-8")
    done = score("listing", "--json", str(listing), "--no-ocr")
    answer = json.loads(done.stdout)
    assert done.returncode == 1  # one picture could not be read; the listing is still scored
    assert answer["item_id"] == "i1" and answer["flagged"]
    assert {"kakao_id", "prepayment_request", "urgency"} <= {r["code"] for r in answer["reasons"]}
    assert answer["parts"]["images"]["errors"][0]["image"].endswith("missing.jpg")
    assert answer["parts"]["cache"]["flagged"] is False


def test_listing_batch_from_stdin_and_bad_input():
    lines = "\n".join(json.dumps(x, ensure_ascii=False) for x in (
        {"item_id": "a", "title": "가방", "description": "직거래 가능"}, {"item_id": "b", "price": 3}))
    done = score("listing", "--json", "-", stdin=lines)
    answers = [json.loads(line) for line in done.stdout.splitlines()]
    assert answers[0]["flagged"] is False and answers[1]["error"] == "a listing needs a title or a description"
    assert done.returncode == 1
    done = score("listing", "--json", "-", stdin="[1, 2]")
    assert done.returncode == 1 and "expected a JSON object" in json.loads(done.stdout)["error"]


def test_a_corrupt_model_is_a_one_line_error(tmp_path):
    from bunjang_lab.fraud import store

    folder = store.save({"classifier": None, "anomaly": None}, {}, tmp_path / "models")
    (folder / store.TEXT_MODEL_FILE).write_text("{not json", encoding="utf-8")
    done = score("text", "안녕하세요", "--models", str(tmp_path / "models"))
    assert done.returncode == 2 and "cannot read the fraud model" in done.stderr and "Traceback" not in done.stderr
    assert score("text", "안녕하세요", "--models", str(tmp_path / "models"), "--rules-only").returncode == 0


def test_listing_uses_the_published_verdict_of_its_seller(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    from bunjang_lab.serving.publish import publish_run
    from bunjang_lab.testing import write_run

    run = write_run(tmp_path / "run")
    reasons = json.dumps([{"code": "seller_anomaly", "category": "anomalous_behaviour", "weight": 0.6,
                           "evidence": "12 listings in 1 hour", "source": "behaviour"},
                          {"code": "kakao_id", "category": "external_channel", "weight": 0.9,
                           "evidence": "카톡 ab**34", "source": "text"}], ensure_ascii=False)
    pq.write_table(pa.table({"user_id": ["burst", "calm"], "risk": [0.91, 0.2], "flagged": [True, False],
                             "anomaly_score": [0.71, 0.38], "reasons": [reasons, "[]"]}), run / "fraud" / "sellers.parquet")
    cache = f"sqlite:///{tmp_path / 'cache.sqlite'}"
    assert publish_run(run, cache)["counts"]["sellers"] == 2
    lines = "\n".join(json.dumps({"title": "운동화", "description": "직거래 가능해요", "seller_id": seller}, ensure_ascii=False)
                      for seller in ("burst", "calm", "unknown"))
    done = score("listing", "--json", "-", "--cache", cache, stdin=lines)
    burst, calm, unknown = (json.loads(line) for line in done.stdout.splitlines())
    assert done.returncode == 0, done.stderr
    assert burst["flagged"] and burst["risk"] >= 0.91 and burst["parts"]["seller"]["anomaly_score"] == 0.71
    assert "seller_anomaly" in {r["code"] for r in burst["reasons"]}
    # the seller's reasons quote other listings: they say so, and no "text" reason quotes outside this one
    assert {(r["code"], r["source"]) for r in burst["reasons"]} == {("seller_anomaly", "behaviour"), ("kakao_id", "seller")}
    assert all(r["evidence"] in "운동화\n직거래 가능해요" for r in burst["reasons"] if r["source"] == "text")
    assert not calm["flagged"] and calm["parts"]["seller"] == {"risk": 0.2, "flagged": False, "anomaly_score": 0.38}
    assert "skipped" in unknown["parts"]["seller"]
