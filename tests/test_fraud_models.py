"""Learned models, the batch scan and the ``fraud`` command on a small simulated marketplace."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd
import pytest
from sklearn.base import clone

from bunjang_lab.cli import UserError
from bunjang_lab.fraud import store
from bunjang_lab.fraud.anomaly import FEATURES, SellerAnomalyDetector
from bunjang_lab.fraud.classifier import TextFraudClassifier
from bunjang_lab.fraud.cli import run as fraud_command
from bunjang_lab.fraud.evaluate import labelled_texts, seller_report, text_report
from bunjang_lab.fraud.scan import scan_fraud
from bunjang_lab.fraud.text_scorer import TextScorer
from bunjang_lab.fraud.train import train_models

os.environ.setdefault("USER", "bunjang")
SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "datasets"


@pytest.fixture(scope="module")
def market(tmp_path_factory):
    from bunjang_lab.ingest import ingest_files
    from bunjang_lab.simulate import simulate

    root = tmp_path_factory.mktemp("fraud_market")
    simulate(300, 5, 11, root / "sim", compress=False, progress=False)
    ingest_files([root / "sim"], str(root / "lake"))
    return root


@pytest.fixture(scope="module")
def trained(market):
    meta = train_models(str(market / "lake"), market / "sim" / "labels", market / "models")
    return meta


def test_scan_writes_the_run_contract_and_finds_the_scammers(market, tmp_path):
    summary = scan_fraud(str(market / "lake"), tmp_path / "run", models_dir=tmp_path / "no_models")
    folder = tmp_path / "run" / "fraud"
    listings = pd.read_parquet(folder / "listings.parquet")
    messages = pd.read_parquet(folder / "messages.parquet")
    sellers = pd.read_parquet(folder / "sellers.parquet")
    assert list(listings.columns) == ["item_id", "seller_id", "risk", "flagged", "reasons", "shadow"]
    assert list(messages.columns) == ["event_id", "item_id", "user_id", "risk", "flagged", "reasons", "shadow"]
    assert list(sellers.columns) == ["user_id", "risk", "flagged", "anomaly_score", "reasons"]
    assert summary["models"]["text"] == "rules" and summary["models"]["anomaly"] == "fitted on this window"
    assert summary["messages"] == len(messages) > 0
    for frame in (listings, messages, sellers):
        assert frame["risk"].between(0, 1).all()
        assert (frame["flagged"] == (frame["risk"] >= 0.5)).all()
        for reasons in frame["reasons"]:
            for reason in json.loads(reasons):
                assert {"code", "category", "evidence", "source"} <= set(reason)
    report = seller_report(sellers, market / "sim" / "labels" / "fraud_users.csv")
    assert report["roc_auc_risk"] > 0.9
    assert report["flagged"]["precision"] >= 0.9


def test_rules_reach_the_simulator_targets(market):
    frame = labelled_texts(str(market / "lake"), market / "sim" / "labels")
    report = text_report(frame, TextScorer().score_many(frame["text"].tolist()))
    for category, scores in report["categories"].items():
        assert scores["recall"] >= 0.95 and scores["precision"] >= 0.95, (category, scores)
    assert report["hard_negatives"]["count"] > 0 and report["hard_negatives"]["flagged"] == 0


def test_training_stores_a_version_that_scoring_then_uses(market, trained, tmp_path):
    assert store.latest(market / "models").name == trained["version"]
    assert trained["metrics"]["validation"]["flagged"]["recall"] >= 0.95
    scorer = TextScorer.from_models(market / "models")
    assert scorer.model == f"rules+classifier:{trained['version']}"
    answer = scorer.score("카.톡 ab1234 으로 연락 주세요")
    assert answer["flagged"] and 0 <= answer["probability"] <= 1
    assert not scorer.score("네 내일 강남역에서 직거래 가능해요")["flagged"]
    summary = scan_fraud(str(market / "lake"), tmp_path / "run", models_dir=market / "models")
    assert summary["models"] == {"version": trained["version"], "text": scorer.model, "anomaly": "trained"}


def test_the_exported_model_gives_the_trained_probabilities(market):
    from bunjang_lab.fraud.text_model import TextModel

    frame = labelled_texts(str(market / "lake"), market / "sim" / "labels")
    texts, y = frame["text"].tolist(), [int(bool(t)) for t in frame["truth"]]
    model = TextFraudClassifier().fit(texts, y)
    probe = texts[:400] + ["카🍫톡 ☞ kim77", "계좌이체 가능해요? 아니면 번개페이로 할게요", "", "a  b\t\tc", "가" * 30_000]
    exported = TextModel(model.export()).fraud_probability(probe)
    assert max(abs(a - b) for a, b in zip(exported, model.predict_proba(probe)[:, 1])) < 1e-6


def test_latest_moves_only_to_complete_versions(tmp_path):
    first = store.save({"classifier": None, "anomaly": None}, {"n": 1}, tmp_path)
    second = store.save({"classifier": None, "anomaly": None}, {"n": 2}, tmp_path)
    assert store.latest(tmp_path) == second.resolve() != first.resolve()
    assert store.meta(store.latest(tmp_path))["n"] == 2
    assert store.latest(tmp_path / "empty") is None


def test_estimators_follow_the_sklearn_contract():
    texts = ["카톡 ab1234 주세요", "직거래 가능해요", "선입금 부탁 국민 123456-78-901234", "택배비 포함"] * 5
    y = [1, 0, 1, 0] * 5
    model = TextFraudClassifier(cv=2)
    assert clone(model).get_params() == model.get_params()
    assert not hasattr(model, "model_")
    fitted = model.fit(texts, y)
    assert fitted is model and list(model.predict(["카톡 zz9999 주세요", "직거래 가능해요"])) == [1, 0]
    with pytest.raises(ValueError):
        TextFraudClassifier().fit(["a", "b"], [1, 1])
    detector = SellerAnomalyDetector(n_estimators=20)
    assert clone(detector).get_params() == detector.get_params()
    X = pd.DataFrame([[float(i % 7)] * len(FEATURES) for i in range(40)], columns=list(FEATURES))
    scores = detector.fit(X).anomaly_score(X)
    assert ((scores > 0) & (scores <= 1)).all()


def test_fraud_command_scans_trains_and_explains_mistakes(market, tmp_path, capsys):
    assert fraud_command(["--lake", str(market / "lake"), "--out", str(tmp_path / "run"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["out"] == str(tmp_path / "run" / "fraud")
    assert fraud_command(["--lake", str(market / "lake"), "--out", str(tmp_path / "run")]) == 0
    table = capsys.readouterr().out.splitlines()  # for people: a table, and what was not checked
    assert table[1].split() == ["scored", "count", "flagged"] and table[2].split()[0] == "listings"
    assert table[-1].startswith("no photo checked: give --image-index")
    with pytest.raises(UserError, match="no lake"):
        fraud_command(["--lake", str(tmp_path / "nowhere"), "--out", str(tmp_path / "run")])
    with pytest.raises(UserError, match="missing messages.csv"):
        fraud_command(["train", "--lake", str(market / "lake"), "--labels", str(tmp_path)])
    with pytest.raises(UserError, match="--labels"):
        fraud_command(["evaluate"])
    assert fraud_command(["evaluate", "--spam", str(SHARED / "sms_spam_collection.tsv"), "--rules-only", "--json"]) == 0
    spam = json.loads(capsys.readouterr().out)["spam_collection"]
    assert spam["ham"]["flagged"] < 0.02 and spam["spam"]["flagged"] > 0.8
    assert fraud_command(["evaluate", "--spam", str(SHARED / "sms_spam_collection.tsv"), "--rules-only"]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0] == "model rules" and table[3].split() == ["label", "messages", "flagged", "phone", "link"]
    assert len(table) == 6 and table[5].split()[:2] == ["spam", str(spam["spam"]["messages"])]


def test_evaluate_prints_per_rule_and_per_category_figures(market, tmp_path, capsys):
    sms = tmp_path / "sms.csv"
    sms.write_text("label,TEXT,URL,EMAIL,PHONE\n"
                   "smishing,Call 08718738001 now to claim,No,No,yes\n"
                   "spam,Visit www.Ldew.com today,yes,No,No\n"
                   "ham,See you at 5 tomorrow,No,No,No\n", encoding="utf-8")
    assert fraud_command(["evaluate", "--lake", str(market / "lake"), "--labels", str(market / "sim"),
                          "--smishing", str(sms), "--rules-only", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["model"] == "rules"
    assert report["messages"]["categories"]["account_transfer"]["recall"] >= 0.95
    assert report["messages"]["rules"]["bank_account"]["precision"] == 1.0
    assert [row["threshold"] for row in report["listings"]["threshold_sweep"]][:2] == [0.3, 0.4]
    assert report["smishing"]["phone"] == {"recall": 1.0, "fires_on_no_rows": 0.0, "yes_rows": 1, "no_rows": 2}
    assert report["smishing"]["link"]["recall"] == 1.0
    assert fraud_command(["evaluate", "--lake", str(market / "lake"), "--labels", str(market / "sim"),
                          "--smishing", str(sms), "--rules-only"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) < 120 and not any(line.lstrip().startswith(("{", "[", '"')) for line in lines)  # tables, not JSON
    header = next(n for n, line in enumerate(lines) if line.startswith("messages: "))
    assert lines[header + 1].split() == ["category", "precision", "recall", "tp", "fp", "fn"]
    assert any(line.split()[:1] == ["bank_account"] and line.split()[3] == "1.0000" for line in lines)


def test_image_results_reach_listings_and_sellers(market, tmp_path):
    from bunjang_lab.fraud.scan import scan_fraud_folder
    from bunjang_lab.lake import read_events

    listing = read_events(str(market / "lake"), types="listing").iloc[0]
    reuse = {"code": "image_reuse", "category": "stolen_image", "weight": 0.7, "evidence": "photo of i9 (u9)",
             "source": "image"}
    folder = tmp_path / "staging"
    folder.mkdir()
    pd.DataFrame([{"image": "a.jpg", "item_id": listing["item_id"], "seller_id": listing["user_id"],
                   "matches": json.dumps([{"image": "b.jpg", "listing": "i9", "seller": "u9", "distance": 2}]),
                   "ocr_text": "", "reasons": json.dumps([reuse]), "risk": 0.7, "flagged": True, "error": None}]
                 ).to_parquet(folder / "images.parquet")
    summary = scan_fraud_folder(str(market / "lake"), folder, models_dir=tmp_path / "none")
    assert summary["images"] == 1
    listings = pd.read_parquet(folder / "listings.parquet").set_index("item_id")
    row = listings.loc[listing["item_id"]]
    assert row["risk"] >= 0.7 and row["flagged"]
    assert "image_reuse" in {r["code"] for r in json.loads(row["reasons"])}
    sellers = pd.read_parquet(folder / "sellers.parquet").set_index("user_id")
    assert sellers.loc[listing["user_id"], "risk"] >= 0.7


def test_training_and_the_scan_count_their_steps_on_a_terminal(market, tmp_path, monkeypatch):
    import io
    import sys

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    train_models(str(market / "lake"), market / "sim" / "labels", tmp_path / "models")
    scan_fraud(str(market / "lake"), tmp_path / "run", models_dir=tmp_path / "models")
    drawn = terminal.getvalue()
    assert "fraud train:" in drawn and "6/6 [" in drawn and "seller model fitted" in drawn
    assert "fraud scan:" in drawn and "5/5 [" in drawn and "chat messages scored" in drawn
