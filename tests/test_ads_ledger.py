"""The ads ledger from the lake: exact, idempotent, reconciled, unharmed by kills and reruns."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bunjang_lab.ads.auction import Auction
from bunjang_lab.ads.charges import MILLI, kst_day
from bunjang_lab.ads.ledger import bill, build_ledger
from bunjang_lab.ads.pacing import Pacer
from bunjang_lab.ingest import ingest_files
from bunjang_lab.pipeline import bill_ads_day, bill_ads_hour
from bunjang_lab.simulate.ads import make_ad_market, make_requests, run_ads

SRC = str(Path(__file__).resolve().parents[1] / "src")


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """A simulated day of ads (budgets tight enough to run out) ingested into a lake."""
    market = make_ad_market(n_users=400, n_campaigns=80, seed=3)
    market.campaigns = [c._replace(daily_budget=max(c.bid, c.daily_budget // 20)) for c in market.campaigns]
    requests = make_requests(market, 2_500, seed=4)
    day = run_ads(market, Auction(slots=2).fit(market.campaigns), requests,
                  lambda r, pairs: market.true_ctr(r.user, pairs, r.intent), Pacer(slack=0.2), seed=5)
    folder = tmp_path_factory.mktemp("ads")
    lines = [json.dumps(e, ensure_ascii=False) for e in day.events]
    lines += lines[-50:]   # a producer's retry sends the last events twice
    (folder / "ads.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    lake = folder / "lake"
    stats = ingest_files([folder / "ads.jsonl"], lake, now="2026-12-01T00:00:00Z")
    assert stats["quarantined"] == 0 and stats["duplicates"] == 50
    return {"day": day, "lake": str(lake), "date": kst_day(requests[0].request.ts_ms), "folder": folder}


def test_the_ledger_charges_each_event_once_and_agrees_with_the_real_time_state(served, tmp_path):
    summary = bill_ads_day(served["lake"], str(tmp_path), served["date"])
    assert summary["reconciliation"] == {"missing": 0, "extra": 0, "duplicated": 0, "statement_mismatch": 0,
                                         "overspend": 0}
    ads = [e for e in served["day"].events if e["type"] in ("ad_impression", "ad_click")]
    ledger = pd.read_parquet(tmp_path / served["date"] / "ads" / "ledger.parquet")
    assert sorted(ledger["event_id"]) == sorted(e["event_id"] for e in ads)
    realtime = {k: s.spent_milli for k, s in served["day"].spent.items() if s.spent_milli}
    booked = ledger.groupby(["campaign_id", "day"])["charge_milli"].sum()
    assert {k: int(v) for k, v in booked.items() if v} == realtime
    table = pd.read_parquet(tmp_path / served["date"] / "ads" / "statement.parquet")
    assert (table["overspend_krw"] > 0).any(), "the fixture should run some budgets out"
    largest = ledger.groupby(["campaign_id", "day"])["charge_milli"].max() / MILLI
    over = table.set_index(["campaign_id", "day"])["overspend_krw"]
    assert (over <= largest.reindex(over.index)).all()   # never more than one charge over
    assert summary["charged_krw"] == pytest.approx(table["spend_krw"].sum())


def test_duplicate_rows_count_once_and_a_rerun_gives_the_same_rows(served):
    events = pd.DataFrame(served["day"].events)
    events["ts"] = pd.to_datetime(events["ts"], unit="ms", utc=True)
    doubled = pd.concat([events, events.sample(frac=0.3, random_state=1)], ignore_index=True)
    ledger, _, checks = bill(doubled.sample(frac=1.0, random_state=2))   # any arrival order
    pd.testing.assert_frame_equal(ledger, build_ledger(events))
    assert checks["duplicated"] == checks["missing"] == checks["extra"] == 0


def test_unknown_campaigns_and_mismatched_billing_are_not_charged(served):
    events = pd.DataFrame(served["day"].events)
    events["ts"] = pd.to_datetime(events["ts"], unit="ms", utc=True)
    clicks = events[events["type"] == "ad_click"].head(2).copy()
    clicks["event_id"] = ["x1", "x2"]
    clicks.iloc[0, clicks.columns.get_loc("campaign_id")] = "nobody"
    clicks.iloc[1, clicks.columns.get_loc("billing")] = "cpm" if clicks.iloc[1]["billing"] != "cpm" else "cpc"
    ledger = build_ledger(pd.concat([events, clicks], ignore_index=True)).set_index("event_id")
    assert ledger.loc["x1", "outcome"] == "unknown_campaign" and ledger.loc["x2", "outcome"] == "billing_mismatch"
    assert ledger.loc[["x1", "x2"], "charge_milli"].sum() == 0


def test_hourly_runs_bill_the_day_so_far_and_the_last_hour_bills_it_whole(served, tmp_path):
    start = pd.Timestamp(served["date"] + "T00:00:00+09:00")
    partial = bill_ads_hour(served["lake"], str(tmp_path), (start + pd.Timedelta(hours=12)).isoformat())
    whole = bill_ads_hour(served["lake"], str(tmp_path), (start + pd.Timedelta(hours=24)).isoformat())
    assert partial["day"] == whole["day"] == served["date"]
    assert 0 < partial["ad_events"] < whole["ad_events"]
    assert whole == bill_ads_day(served["lake"], str(tmp_path), served["date"])


KILLABLE = """
import sys
from bunjang_lab.pipeline import bill_ads_day
while True:
    bill_ads_day(sys.argv[1], sys.argv[2], sys.argv[3])
    print("done", flush=True)
"""


def _folder_rows(folder: Path) -> tuple:
    ledger = pd.read_parquet(folder / "ledger.parquet")
    return (ledger.to_json(date_format="iso"), pd.read_parquet(folder / "statement.parquet").to_json(date_format="iso"),
            json.loads((folder / "billing.json").read_text()))


def test_a_killed_run_leaves_the_previous_ledger_or_nothing_and_the_rerun_is_exact(served, tmp_path):
    reference = tmp_path / "reference"
    bill_ads_day(served["lake"], str(reference), served["date"])
    expected = _folder_rows(reference / served["date"] / "ads")
    runs = tmp_path / "runs"
    env = {**os.environ, "PYTHONPATH": SRC}
    rng = random.Random(7)
    for attempt in range(3):
        proc = subprocess.Popen([sys.executable, "-c", KILLABLE, served["lake"], str(runs), served["date"]],
                                stdout=subprocess.PIPE, text=True, env=env)
        if attempt == 0:
            proc.stdout.readline()   # let one run finish, so later kills may hit a replacement
        time.sleep(rng.uniform(0.05, 1.5))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        folder = runs / served["date"] / "ads"
        if folder.exists():
            assert _folder_rows(folder) == expected
    summary = bill_ads_day(served["lake"], str(runs), served["date"])
    assert _folder_rows(runs / served["date"] / "ads") == expected
    assert summary["reconciliation"]["overspend"] == 0
    leftovers = [p.name for p in (runs / served["date"]).iterdir() if p.name != "ads"]
    assert all(name.startswith(".") for name in leftovers)   # staging folders of killed runs, ignored
    assert np.isclose(summary["charged_krw"], expected[2]["charged_krw"])


def test_the_report_section_shows_the_days_statement(served, tmp_path):
    from bunjang_lab.report.ads import ads as ads_section

    summary = bill_ads_day(served["lake"], str(tmp_path), served["date"])
    section = ads_section(tmp_path / served["date"])
    table = pd.read_parquet(tmp_path / served["date"] / "ads" / "statement.parquet")
    assert section.summary["spend_krw"] == pytest.approx(summary["charged_krw"])
    assert section.summary["clicks"] == table["clicks"].sum() and section.summary["ledger_reconciled"] is True
    assert {type(item).__name__ for item in section.items} >= {"Chart", "Table"}
    assert ads_section(tmp_path / "2000-01-01").summary == {}   # no ledger: a note, not an error


def test_the_batch_report_carries_the_ads_section(served, tmp_path):
    from bunjang_lab.report.build import build_report

    bill_ads_day(served["lake"], str(tmp_path / "runs"), served["date"])
    page = build_report(served["lake"], tmp_path / "runs", tmp_path / "out", date=served["date"],
                        models=tmp_path / "models").read_text(encoding="utf-8")
    figures = json.loads((tmp_path / "out" / "figures.json").read_text(encoding="utf-8"))
    assert "<h2>Ads</h2>" in page and figures["sections"]["Ads"]["summary"]["ledger_reconciled"] is True
    assert (tmp_path / "out" / "tables" / "ad_campaigns.csv").exists()


def test_a_day_without_ad_events_bills_nothing(served, tmp_path):
    summary = bill_ads_day(served["lake"], str(tmp_path), "2026-10-01")
    assert (summary["ad_events"], summary["charged_krw"], summary["campaigns"]) == (0, 0.0, 0)
    assert not any(summary["reconciliation"].values())
    assert pd.read_parquet(tmp_path / "2026-10-01" / "ads" / "statement.parquet").empty
