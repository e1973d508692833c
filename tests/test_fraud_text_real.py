"""Contact-number and link detection on real English SMS (smishing_5971.csv)."""

from __future__ import annotations

from pathlib import Path

from bunjang_lab.fraud.evaluate import smishing_report
from bunjang_lab.fraud.text_scorer import TextScorer

SMISHING = Path(__file__).resolve().parents[1].parent / "shared" / "datasets" / "smishing_5971.csv"


def test_phone_and_link_recall_on_real_sms():
    report = smishing_report(SMISHING, TextScorer())
    assert report["messages"] == 5971
    assert report["phone"]["recall"] >= 0.95 and report["link"]["recall"] >= 0.95
    # on rows whose column says no, the rules fire rarely (most such hits are numbers the column missed)
    assert report["phone"]["fires_on_no_rows"] < 0.03 and report["link"]["fires_on_no_rows"] < 0.03
