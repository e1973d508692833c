"""The fraud feedback section of the batch report: reports and decisions per day, time to
decision, the growth of the confirmed-identifier blocklist, recall on each day's confirmed
decisions, and the precision of every rule (shadow rules too) on the decided texts."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from bunjang_lab.report import charts
from bunjang_lab.report.model import Note, Section, Table
from bunjang_lab.report.sections import DAYS_SHOWN, _chart

EVENT_TYPES = ["report", "moderation", "chat", "listing"]


def fraud_feedback(lake: str, run_dir: Path, models_dir: Path) -> Section:
    from bunjang_lab.fraud import shadow
    from bunjang_lab.fraud.confirmed import CONFIRMED, taught
    from bunjang_lab.fraud.retrain import decided_texts, target_texts
    from bunjang_lab.fraud.rules import reasons
    from bunjang_lab.fraud.text_scorer import TextScorer
    from bunjang_lab.lake import read_events

    section = Section("Fraud feedback")
    try:  # runs are named by their day: the section covers the lake up to that day's end
        end = pd.Timestamp(run_dir.name, tz="UTC") + pd.Timedelta(days=1)
    except ValueError:
        end = None
    events = read_events(lake, types=EVENT_TYPES, end=end)
    feedback = events[events["type"].isin(["report", "moderation"])].copy()
    if feedback.empty:
        section.add(Note("No reports or moderator decisions in the lake yet."))
        return section
    feedback["day"] = feedback["ts"].dt.strftime("%Y-%m-%d")
    feedback["what"] = feedback["type"].where(feedback["type"] == "report", feedback["decision"])
    per_day = pd.crosstab(feedback["day"], feedback["what"]).tail(DAYS_SHOWN)
    _chart(section, "reports_and_decisions", f"Reports and decisions per day (last {DAYS_SHOWN} days)", per_day,
           lambda: charts.grouped_bars(per_day, "Reports and decisions per day", "events"), "No reports per day to draw.")

    reports, decisions = feedback[feedback["type"] == "report"], feedback[feedback["type"] == "moderation"]
    first_report = reports.groupby(["target_kind", "target_id"])["ts"].min()
    reported_at = [first_report.get((k, i)) for k, i in zip(decisions["target_kind"], decisions["target_id"])]
    hours = pd.Series([(t - r).total_seconds() / 3600 if r is not None else None
                       for t, r in zip(decisions["ts"], reported_at)], dtype=float).dropna()
    section.summary.update(reports=int(len(reports)), decisions=int(len(decisions)),
                           confirmed=int((decisions["decision"] == CONFIRMED).sum()),
                           hours_to_decision_median=round(float(hours.median()), 1) if len(hours) else None,
                           hours_to_decision_p90=round(float(hours.quantile(0.9)), 1) if len(hours) else None)

    texts = target_texts(events)
    held: dict[tuple[str, str], list[str]] = {}
    growth = {}
    for row in decisions.sort_values("ts", kind="stable").itertuples():
        target = (row.target_kind, str(row.target_id))
        text = row.target_text if isinstance(row.target_text, str) and row.target_text else texts.get(target)
        held[target] = taught(row.decision, text)
        growth[row.day] = len({i for ids in held.values() for i in ids})
    blocklist = pd.Series(growth, name="identifiers").tail(DAYS_SHOWN)
    section.summary["blocklist_identifiers"] = int(blocklist.iloc[-1]) if len(blocklist) else 0
    _chart(section, "blocklist_growth", "Confirmed identifiers on the blocklist (end of day)", blocklist,
           lambda: charts.lines(blocklist.to_frame(), "Blocklist size", "identifiers"), "No identifier confirmed yet.")

    decided = decided_texts(events)
    decided["day"] = pd.to_datetime(decided["ts"], utc=True).dt.strftime("%Y-%m-%d")
    confirmed = decided[decided["label"] == 1]
    if len(confirmed):
        served = TextScorer.from_models(models_dir) if Path(models_dir).is_dir() else TextScorer()
        flags = pd.DataFrame({
            "day": confirmed["day"].to_numpy(),
            served.model: [a["flagged"] for a in served.score_many(confirmed["text"].tolist())],
            "rules alone": [a["flagged"] for a in TextScorer().score_many(confirmed["text"].tolist())]})
        recall = flags.groupby("day").mean().tail(DAYS_SHOWN).round(3)
        _chart(section, "recall_on_confirmed", "Recall on each day's confirmed decisions", recall,
               lambda: charts.lines(recall, "Share of confirmed texts flagged", "recall"), "No confirmed texts to score.")
        section.add(Note("A new wave shows here as a dip for the rules alone that the served models close once "
                         "retraining has learned it (the lake does not say which texts belong to a wave; "
                         "benchmarks/fraud_learning.py measures recall on a simulated wave)."))
    section.add(Table("rule_precision_on_decisions", "Rules on the decided texts (shadow rules: status shadow)",
                      _rule_precision(decided, reasons, shadow.load(models_dir))))
    return section


def _rule_precision(decided: pd.DataFrame, reasons, trial) -> pd.DataFrame:
    """Per rule that fired on a decided text: texts fired on, confirmed among them, precision."""
    from bunjang_lab.fraud.shadow import ShadowBook

    book = ShadowBook([rule.with_status("shadow") for rule in trial])
    rows = []
    for text, label in zip(decided["text"], decided["label"]):
        for code in {r["code"] for r in reasons(text)}:
            rows.append((code, "live", label))
        for code in book.hits(text)[1]:
            rows.append((code, next(r.status for r in trial if r.code == code), label))
    if not rows:
        return pd.DataFrame(columns=["rule", "status", "fired", "confirmed", "precision"])
    frame = pd.DataFrame(rows, columns=["rule", "status", "label"])
    table = frame.groupby(["rule", "status"])["label"].agg(fired="size", confirmed="sum").reset_index()
    table["precision"] = (table["confirmed"] / table["fired"]).round(3)
    return table.sort_values(["fired", "rule"], ascending=[False, True]).reset_index(drop=True)
