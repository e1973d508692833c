"""Fraud feedback: the simulator's reports and moderator decisions."""

from __future__ import annotations

import csv
import gzip
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from bunjang_lab.events import to_epoch_ms, validate
from bunjang_lab.simulate import simulate
from bunjang_lab.simulate.market import TEXT_FRAUD, Config, FeedbackConfig

SRC = Path(__file__).resolve().parents[1] / "src"


# more reports than the default world, so a small world has enough decisions to learn from
FEEDBACK = FeedbackConfig(report_fraud_message=0.5, report_honest_message=0.02, report_fraud_listing=0.5)


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("feedback")
    simulate(users=400, days=5, seed=11, out=out, progress=False, config=Config(feedback=FEEDBACK))
    return out


@pytest.fixture(scope="module")
def lake(world, tmp_path_factory) -> str:
    from bunjang_lab.ingest import ingest_files

    lake = str(tmp_path_factory.mktemp("lake"))
    ingest_files(sorted(str(p) for p in world.glob("*.jsonl.gz")), lake, now="2027-01-01T00:00:00Z")
    return lake


def _events(out: Path, *types: str) -> list[dict]:
    return [json.loads(line) for path in sorted(out.glob("*.jsonl.gz")) for line in gzip.open(path)
            if json.loads(line)["type"] in types]


def test_simulated_reports_and_decisions_are_noisy_and_late(world):
    feedback = _events(world, "report", "moderation")
    for record in feedback:
        validate(record, now_ms=to_epoch_ms("2030-01-01T00:00:00Z"))
    messages = {r["event_id"]: r["fraud_types"] for r in csv.DictReader(open(world / "labels" / "messages.csv"))}
    scams = {e for e, types in messages.items() if any(c in types for c in TEXT_FRAUD)}
    reported = {r["target_id"] for r in feedback if r["type"] == "report" and r["target_kind"] == "chat"}
    assert 0 < len(reported & scams) < 0.7 * len(scams)  # many scams are never reported
    assert reported - scams  # and some honest messages are
    first_report = {}
    for r in feedback:
        if r["type"] == "report":
            first_report.setdefault(r["target_id"], to_epoch_ms(r["ts"]))
    decisions = [r for r in feedback if r["type"] == "moderation"]
    assert decisions and all(to_epoch_ms(d["ts"]) > first_report[d["target_id"]] for d in decisions)
    chat_decisions = [d for d in decisions if d["target_kind"] == "chat"]
    right = sum((d["decision"] == "confirmed") == (d["target_id"] in scams) for d in chat_decisions)
    assert 0.75 <= right / len(chat_decisions) < 1.0 or len(chat_decisions) < 30
    assert all(d["fraud_categories"] for d in decisions if d["decision"] == "confirmed")


# -- the blocklist of confirmed identifiers -------------------------------------------------

SCAM = "이 번호로 문자 주세요 010-5555-1234"


def decision(target: str, verdict: str, text: str | None = SCAM, ts: str = "2026-11-26T10:00:00Z") -> dict:
    event = {"type": "moderation", "user_id": "mod01", "ts": ts, "target_kind": "chat", "target_id": target,
             "decision": verdict, "target_text": text}
    return {**event, "fraud_categories": ["external_channel"]} if verdict == "confirmed" else event


@pytest.fixture(params=["sqlite", "redis"])
def cache(request, tmp_path):
    from bunjang_lab.serving.backends import open_cache
    from bunjang_lab.serving.publish import publish_run
    from bunjang_lab.testing import write_run

    from .conftest import SERVING_REDIS_DB

    url = (f"sqlite:///{tmp_path / 'cache.sqlite'}" if request.param == "sqlite"
           else f"{SERVING_REDIS_DB}?prefix=test-{uuid.uuid4().hex}:")
    publish_run(write_run(tmp_path / "run"), url)
    with open_cache(url) as opened:
        yield opened
        if request.param == "redis":
            opened.clear()


def score(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    return subprocess.run([sys.executable, "-m", "bunjang_lab.score", *args], input=stdin, capture_output=True,
                          text=True, env=env, timeout=60)


def codes(answer: dict) -> list[str]:
    return [reason["code"] for reason in answer["reasons"]]


def test_a_confirmed_phone_is_flagged_by_the_next_score_text_and_a_cleared_one_no_longer(cache, tmp_path):
    later = "네고 되나요? 010 5555 1234 로 연락 주세요"  # the same number, written another way
    before = json.loads(score("text", later, "--cache", cache.url, "--rules-only").stdout)
    assert "confirmed_phone" not in codes(before)
    for verdict, expected in (("confirmed", True), ("cleared", False)):
        applied = score("event", "--json", "-", "--cache", cache.url, stdin=json.dumps(decision("e1", verdict)))
        assert applied.returncode == 0, applied.stderr
        proc = score("text", later, "--cache", cache.url, "--rules-only")
        assert proc.returncode == 0, proc.stderr
        answer = json.loads(proc.stdout)
        assert ("confirmed_phone" in codes(answer)) is expected
        if expected:
            assert answer["flagged"] and answer["risk"] == 1.0
            assert answer["reasons"][0]["evidence"] == "phone:01*******34"  # masked like every quote
        else:
            assert answer["risk"] == before["risk"]


def test_a_cleared_target_takes_back_only_what_no_other_confirmation_holds(cache):
    from bunjang_lab.serving.blocklist import CachedBlocklist
    from bunjang_lab.serving.events import apply_event

    blocklist = CachedBlocklist(cache)
    other = "텔레 @quick_deal 로 연락, 010-5555-1234"
    assert apply_event(cache, decision("e1", "confirmed"))["added"] == 1
    assert apply_event(cache, decision("e2", "confirmed", other))["added"] == 1  # the phone is e1's already
    assert set(blocklist.lookup(["phone:01055512340", "phone:01055551234", "messenger:quick_deal"])) == {
        "phone:01055551234", "messenger:quick_deal"}
    assert apply_event(cache, decision("e1", "cleared", ts="2026-11-26T11:00:00Z"))["removed"] == 0  # e2 holds it
    assert apply_event(cache, decision("e2", "confirmed", ts="2026-11-26T09:00:00Z"))["effect"] == "stale"
    cleared = apply_event(cache, decision("e2", "cleared", text=None, ts="2026-11-26T12:00:00Z"))
    assert cleared["removed"] == 2 and blocklist.lookup(["phone:01055551234", "messenger:quick_deal"]) == {}
    assert blocklist.state()["entries"] == 0 and blocklist.state()["version"] == cleared["blocklist_version"] == 4
    assert apply_event(cache, {"type": "report", "user_id": "u1", "target_kind": "chat", "target_id": "e3",
                               "reason": "scam"})["effect"] == "ignored"


@pytest.mark.parametrize("change, message", [
    ({"decision": "maybe"}, "decision 'maybe'"),
    ({"target_kind": "item"}, "target_kind 'item'"),
    ({"target_id": None}, "lacks target_id"),
    ({"fraud_categories": "external_channel"}, "fraud_categories must be a list"),
])
def test_bad_decisions_are_one_line_errors(cache, change, message):
    from bunjang_lab.errors import InvalidInput
    from bunjang_lab.serving.events import apply_event

    with pytest.raises(InvalidInput, match=message):
        apply_event(cache, {**decision("e1", "confirmed"), **change})


def test_the_service_consults_the_blocklist_right_after_a_decision(tmp_path):
    from bunjang_lab.serving.publish import publish_run
    from bunjang_lab.testing import write_run

    from .test_serving_http import Server

    url = f"sqlite:///{tmp_path / 'cache.sqlite'}"
    publish_run(write_run(tmp_path / "run"), url)
    server = Server(url, tmp_path)
    try:
        assert "confirmed_phone" not in codes(server.post("/api/v1/text", {"text": SCAM})[1])
        status, applied = server.post("/api/v1/events", decision("e1", "confirmed"))
        assert status == 200, applied
        assert "confirmed_phone" in codes(server.post("/api/v1/text", {"text": SCAM})[1])
    finally:
        server.stop()


# -- retraining on the decisions ---------------------------------------------------------------

def test_retraining_is_gated_against_production_and_every_version_is_kept(lake, tmp_path):
    from bunjang_lab.fraud import store
    from bunjang_lab.fraud.cli import run
    from bunjang_lab.fraud.retrain import retrain_window

    models = tmp_path / "models"
    first = retrain_window(lake, "2026-10-01", "2026-10-06", models)
    assert first["promoted"] and first["production"] == "rules"  # nothing served yet: the rules alone
    assert first["held_back"]["decisions"] >= 5 and first["difference"]["low"] <= first["difference"]["high"]
    assert store.latest(models).name == first["version"]
    gate = store.meta(store.latest(models))["gate"]  # the decision and its interval beside the model
    assert gate["difference"] == first["difference"] and gate["promoted"] is True
    # a tolerance no candidate can meet: refused, kept as a version, not served
    refused = retrain_window(lake, "2026-10-01", "2026-10-06", models, tolerance=-1.0)
    assert not refused["promoted"] and refused["production"] == f"rules+classifier:{first['version']}"
    assert store.latest(models).name == first["version"] and (store.root(models) / refused["version"]).is_dir()
    third = retrain_window(lake, "2026-10-01", "2026-10-06", models)
    assert third["promoted"] and store.latest(models).name == third["version"]
    assert run(["rollback", "--models", str(models)]) == 0
    assert store.latest(models).name == first["version"]  # the refused candidate was never served: skipped


def test_the_seller_model_passes_the_same_gate_and_a_refused_one_is_kept_beside_productions(lake, tmp_path):
    import numpy as np

    from bunjang_lab.fraud import store
    from bunjang_lab.fraud.anomaly import FEATURES, seller_features
    from bunjang_lab.fraud.retrain import EVENT_TYPES, retrain_window
    from bunjang_lab.lake import read_events

    models = tmp_path / "models"
    first = retrain_window(lake, "2026-10-01", "2026-10-06", models)
    gate = store.meta(store.latest(models))["seller_gate"]  # its decision and interval beside the model
    assert gate == first["seller_gate"] and gate["promoted"] and gate["production"] == "none"
    assert gate["held_back"]["sellers"] >= 5 and gate["difference"]["low"] <= gate["difference"]["high"]
    refused = retrain_window(lake, "2026-10-01", "2026-10-06", models, tolerance=-1.0)["seller_gate"]
    assert not refused["promoted"] and refused["production"] == first["version"]
    folder = store.root(models) / store.versions(models)[-1].name
    features = seller_features(read_events(lake, types=EVENT_TYPES))[list(FEATURES)]
    served, production = store.load_anomaly(folder), store.load_anomaly(store.latest(models))
    assert np.array_equal(served.anomaly_score(features), production.anomaly_score(features))  # production's kept
    assert (folder / store.CANDIDATE_ANOMALY_FILE).exists()


def test_too_few_decisions_train_nothing(lake, tmp_path):
    from bunjang_lab.fraud.retrain import retrain_window

    decision = retrain_window(lake, "2026-10-01", "2026-10-02", tmp_path / "models")
    assert decision["promoted"] is False and "too few decided texts" in decision["reason"]
    assert not (tmp_path / "models").exists()


def test_a_fraud_wave_starts_on_its_day_in_a_wording_no_rule_knows(tmp_path, world):
    from bunjang_lab.fraud.text_scorer import TextScorer

    simulate(users=400, days=3, seed=5, out=tmp_path, progress=False, config=Config(wave_day=1))
    wave = {r["event_id"]: r["ts"] for r in csv.DictReader(open(tmp_path / "labels" / "wave_messages.csv"))}
    chats = {e["event_id"]: e for e in _events(tmp_path, "chat")}
    assert len(wave) >= 10 and all(ts >= "2026-10-02" for ts in wave.values())
    assert not any(answer["flagged"] for answer in TextScorer().score_many([chats[e]["text"] for e in wave]))
    labels = {r["event_id"]: r["fraud_types"] for r in csv.DictReader(open(tmp_path / "labels" / "messages.csv"))}
    assert all(labels[e] == "account_transfer" for e in wave)
    assert not (world / "labels" / "wave_messages.csv").exists()  # no wave unless asked for


# -- shadow rules -------------------------------------------------------------------------------

def test_a_shadow_rule_is_recorded_without_flagging_until_later_decisions_earn_it(tmp_path):
    import random

    import pandas as pd

    from bunjang_lab.fraud import shadow
    from bunjang_lab.fraud.cli import run
    from bunjang_lab.fraud.retrain import track_shadow_rules
    from bunjang_lab.fraud.text_scorer import TextScorer
    from bunjang_lab.simulate import texts

    models = tmp_path / "models"
    (models / "fraud").mkdir(parents=True)
    for code, pattern in (("insurance_fee", "보험료? ?[0-9,]+원"), ("any_price", "[0-9,]+원")):
        assert run(["shadow", "add", code, "--category", "account_transfer", "--pattern", pattern,
                    "--since", "2026-10-05", "--models", str(models)]) == 0
    lure = "안심배송 보험료 9,900원 결제 먼저 해주시면 송장 바로 드립니다"
    answer = TextScorer.from_models(models).score(lure)
    assert not answer["flagged"] and answer["shadow"] == ["insurance_fee", "any_price"]

    rng = random.Random(3)
    lures = [texts.wave(rng) for _ in range(30)]
    honest = [f"네 {n},000원에 드릴게요 직거래 가능해요" for n in range(10, 40)]
    decided = pd.DataFrame({"text": lures + honest, "label": [1] * 29 + [0] + [0] * 30,
                            "ts": pd.to_datetime(["2026-10-04"] * 5 + ["2026-10-06"] * 55, utc=True)})
    trials = track_shadow_rules(decided, models)
    fee = trials["insurance_fee"]
    assert fee["decisions"] == 55  # only decisions since the 5th count
    assert fee["status"] == "live" and fee["fired"] >= shadow.MIN_FIRED and fee["precision"] >= shadow.MIN_PRECISION
    assert trials["any_price"]["status"] == "shadow" and trials["any_price"]["precision"] < 0.5
    answer = TextScorer.from_models(models).score(lure)
    assert answer["flagged"] and answer["reasons"][0]["code"] == "insurance_fee" and answer["shadow"] == ["any_price"]
    assert [rule.status for rule in shadow.load(models)] == ["live", "shadow"]


# -- the report's section -----------------------------------------------------------------------

def test_the_report_section_counts_reports_decisions_blocklist_and_rule_precision(lake, tmp_path):
    from bunjang_lab.report.fraud_feedback import fraud_feedback
    from bunjang_lab.report.model import Chart, Table

    section = fraud_feedback(lake, tmp_path / "2026-10-05", tmp_path / "models")
    events = _events_in_lake(lake)
    assert section.summary["reports"] == (events["type"] == "report").sum() > 0
    assert section.summary["decisions"] == (events["type"] == "moderation").sum() > 0
    assert 0 < section.summary["hours_to_decision_median"] < 48 and section.summary["blocklist_identifiers"] > 0
    charts = {item.name for item in section.items if isinstance(item, Chart)}
    assert {"reports_and_decisions", "blocklist_growth", "recall_on_confirmed"} <= charts
    rules = next(item.frame for item in section.items if isinstance(item, Table))
    assert len(rules) and rules["precision"].between(0, 1).all() and (rules["confirmed"] <= rules["fired"]).all()


def _events_in_lake(lake: str):
    from bunjang_lab.lake import read_events

    return read_events(lake, types=["report", "moderation"])


# -- publish rebuilds the blocklist ------------------------------------------------------------

@pytest.mark.parametrize("backend", ["sqlite", "redis"])
def test_publish_rebuilds_the_blocklist_from_the_lakes_decisions(lake, tmp_path, backend):
    from bunjang_lab.fraud.confirmed import taught
    from bunjang_lab.serving.backends import open_cache
    from bunjang_lab.serving.blocklist import CachedBlocklist
    from bunjang_lab.serving.publish import publish_run
    from bunjang_lab.testing import write_run

    from .conftest import SERVING_REDIS_DB

    def url() -> str:
        return (f"sqlite:///{tmp_path / uuid.uuid4().hex}.sqlite" if backend == "sqlite"
                else f"{SERVING_REDIS_DB}?prefix=test-{uuid.uuid4().hex}:")

    moderation = _events_in_lake(lake).query("type == 'moderation'")
    latest = moderation.drop_duplicates(["target_kind", "target_id"], keep="last")  # the lake is in time order
    learned = sorted({i for decision, text in zip(latest["decision"], latest["target_text"])
                      for i in taught(decision, text if isinstance(text, str) else None)})
    run = write_run(tmp_path / "run")
    first_url, fresh_url = url(), url()  # a new SQLite file, a Redis prefix nobody wrote: a fresh cache
    first = publish_run(run, first_url, lake=lake)["blocklist"]
    fresh = publish_run(run, fresh_url, lake=lake)["blocklist"]
    with open_cache(first_url) as cache, open_cache(fresh_url) as other:
        try:
            held = CachedBlocklist(cache).lookup(learned)
            assert first["decisions"] == len(moderation) >= 20 and learned and sorted(held) == learned
            again = publish_run(run, first_url, lake=lake)["blocklist"]  # idempotent: nothing changes
            assert again["changed"] == 0 and (again["version"], again["entries"]) == (first["version"], first["entries"])
            assert CachedBlocklist(other).lookup(learned) == held and fresh["entries"] == first["entries"]
        finally:
            if backend == "redis":
                cache.clear()
                other.clear()
