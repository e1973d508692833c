"""Fraud feedback: the simulator's reports and moderator decisions."""

from __future__ import annotations

import csv
import gzip
import json
from pathlib import Path

import pytest

from bunjang_lab.events import to_epoch_ms, validate
from bunjang_lab.simulate import simulate
from bunjang_lab.simulate.market import TEXT_FRAUD


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("feedback")
    simulate(users=400, days=5, seed=11, out=out, progress=False)
    return out


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
    assert 0 < len(reported & scams) < 0.6 * len(scams)  # many scams are never reported
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
