"""The ads section of the batch report: spend, impressions, clicks, CTR, CPC and budget use per
campaign, from the day's ads ledger (``runs/<day>/ads``, written by ``ads_billing``)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from bunjang_lab.report import charts
from bunjang_lab.report.model import Chart, Note, Section, Table

TOP_CAMPAIGNS = 15


def ads(run_dir: Path) -> Section:
    section = Section("Ads")
    folder = run_dir / "ads"
    statement_path, billing_path = folder / "statement.parquet", folder / "billing.json"
    if not statement_path.exists():
        section.add(Note("No ads ledger for this day (runs/<day>/ads): no ad events, or ads_billing has not run."))
        return section
    table = pd.read_parquet(statement_path)
    billing = json.loads(billing_path.read_text(encoding="utf-8")) if billing_path.exists() else {}
    impressions, clicks, spend = int(table["impressions"].sum()), int(table["clicks"].sum()), float(table["spend_krw"].sum())
    checks = billing.get("reconciliation") or {}
    section.summary.update({
        "spend_krw": round(spend, 3), "impressions": impressions, "clicks": clicks,
        "ctr": round(clicks / impressions, 5) if impressions else None,
        "cpc_krw": round(spend / clicks, 1) if clicks else None,
        "campaigns": int(table["campaign_id"].nunique()), "advertisers": int(table["seller_id"].nunique()),
        "ledger_reconciled": bool(checks) and not any(checks.values())})
    if checks and any(checks.values()):
        section.add(Note(f"The ledger does not reconcile with the events: {json.dumps(checks)}."))
    top = table.sort_values("spend_krw", ascending=False).head(TOP_CAMPAIGNS)
    spend_by_campaign = top.set_index("campaign_id")["spend_krw"]
    if spend_by_campaign.gt(0).any():
        section.add(Chart("ad_spend", f"Spend per campaign (KRW, top {TOP_CAMPAIGNS})", spend_by_campaign.to_frame(),
                          charts.horizontal_bars(spend_by_campaign, "Spend per campaign", "KRW")))
    else:
        section.add(Note("No campaign was charged on this day."))
    shown = table[["seller_id", "campaign_id", "billing", "impressions", "clicks", "ctr", "spend_krw", "cpc_krw",
                   "daily_budget", "budget_use"]].sort_values(["seller_id", "campaign_id"])
    section.add(Table("ad_campaigns", "Per advertiser and campaign (the daily statement)", shown))
    section.add(Note(f"Window {' to '.join(billing.get('window', []))}; KST day; spend to the thousandth of a won "
                     "(cpm charges a thousandth of the price per impression); a campaign may pass its budget by "
                     "at most one charge."))
    return section
