"""Adding the simulator's reports and decisions to a world written without them
(``tools/sample.py``, how data/sample got its feedback)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

from bunjang_lab.simulate import Config, simulate
from bunjang_lab.simulate.extend import FEEDBACK_TYPES, add_feedback
from bunjang_lab.simulate.market import FeedbackConfig

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample"
LOUD = FeedbackConfig(report_fraud_message=0.9, report_honest_message=0.1, report_fraud_listing=0.9,
                      report_honest_listing=0.2)  # a small world with enough reports to compare


def _events(folder: Path) -> list[dict]:
    return [json.loads(line) for path in sorted(folder.glob("*.jsonl.gz")) for line in gzip.open(path, "rt")]


def _without_id(events: list[dict]) -> list[dict]:
    return [{k: v for k, v in e.items() if k != "event_id"} for e in events]


def test_replayed_feedback_is_what_the_simulator_draws_and_the_rest_stays(tmp_path):
    simulate(users=60, days=3, seed=4, out=tmp_path, config=Config(feedback=LOUD), progress=False, workers=0)
    simulated = _events(tmp_path)
    for path in tmp_path.glob("*.jsonl.gz"):  # the world as it would have been written before feedback existed
        kept = [line for line in gzip.open(path, "rt") if json.loads(line)["type"] not in FEEDBACK_TYPES]
        with gzip.open(path, "wt") as f:
            f.writelines(kept)
    counts = add_feedback(tmp_path, seed=4, config=LOUD)
    replayed = _events(tmp_path)
    feedback = [e for e in simulated if e["type"] in FEEDBACK_TYPES]
    assert counts["report"] > 10 and counts["moderation"] > 10
    assert _without_id([e for e in replayed if e["type"] in FEEDBACK_TYPES]) == _without_id(feedback)
    assert [e for e in replayed if e["type"] not in FEEDBACK_TYPES] == \
        [e for e in simulated if e["type"] not in FEEDBACK_TYPES]
    assert len({e["event_id"] for e in replayed}) == len(replayed)
    before = {p.name: p.read_bytes() for p in tmp_path.glob("*.jsonl.gz")}
    assert add_feedback(tmp_path, seed=4, config=LOUD) == counts  # again: the same bytes
    assert {p.name: p.read_bytes() for p in tmp_path.glob("*.jsonl.gz")} == before


def test_the_committed_sample_carries_reports_and_decisions():
    types = [json.loads(line)["type"] for line in gzip.open(SAMPLE / "2026-10-08.jsonl.gz", "rt")]
    assert types.count("report") > 5 and types.count("moderation") > 5


def test_added_ads_bill_exactly_leave_the_rest_and_run_again_to_the_same_bytes(tmp_path):
    import pandas as pd

    from bunjang_lab.ads.ledger import bill
    from bunjang_lab.simulate.extend import AD_TYPES, add_ads

    simulate(users=80, days=3, seed=4, out=tmp_path, config=Config(ad_campaign_share=0), progress=False, workers=0)
    before = _events(tmp_path)
    counts = add_ads(tmp_path, seed=4, share=0.5)
    after = _events(tmp_path)
    assert counts["ad_campaign"] > 3 and counts["ad_impression"] > 50
    assert [e for e in after if e["type"] not in AD_TYPES] == before
    assert len({e["event_id"] for e in after}) == len(after)
    listed = {e["item_id"]: e["user_id"] for e in before if e["type"] == "listing"}
    assert all(listed[e["item_id"]] != e["user_id"] for e in after if e["type"] == "ad_impression")
    frame = pd.DataFrame(after)
    frame["ts"] = pd.to_datetime(frame["ts"], utc=True, format="ISO8601")
    _, _, checks = bill(frame)
    assert set(checks.values()) == {0}
    written = {p.name: p.read_bytes() for p in tmp_path.glob("*.jsonl.gz")}
    assert add_ads(tmp_path, seed=4, share=0.5) == counts
    assert {p.name: p.read_bytes() for p in tmp_path.glob("*.jsonl.gz")} == written


def test_the_committed_sample_carries_ads():
    types = [json.loads(line)["type"] for line in gzip.open(SAMPLE / "2026-10-14.jsonl.gz", "rt")]
    assert types.count("ad_campaign") > 2 and types.count("ad_impression") > 100 and types.count("ad_click") > 2
