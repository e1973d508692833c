"""The ads ledger: what each ad event costs its advertiser, exactly once, and the daily
statement per advertiser that reconciles to the events.

Every charge follows the rule of :mod:`bunjang_lab.ads.charges`, the one the real-time
budget state in the serving cache applies too.

Events count once by ``event_id`` (the first one in time order) and in the order
``(ts, event_id)``, so a rerun over the same events gives the same ledger, row for row.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from bunjang_lab.ads.charges import MILLI, DayState, apply_charge

AD_EVENTS = ("ad_impression", "ad_click")
LEDGER_COLUMNS = ["event_id", "ts", "day", "type", "campaign_id", "seller_id", "item_id", "auction_id", "billing",
                  "price_charged", "charge_milli", "outcome", "budget_at_event"]
OUTCOMES = ("charged", "not_billable", "over_budget", "hour_already_charged", "unknown_campaign", "billing_mismatch")


def kst_days(ts: pd.Series) -> pd.Series:
    """:func:`~bunjang_lab.ads.charges.kst_day` of a column of UTC timestamps."""
    return (ts.dt.tz_convert("Asia/Seoul").dt.strftime("%Y-%m-%d")).astype(str)


def _campaign_terms(events: pd.DataFrame) -> pd.DataFrame:
    """Per ``ad_campaign`` event: campaign, seller, billing, bid and budget from its time on."""
    defs = events[events["type"] == "ad_campaign"]
    return pd.DataFrame({"campaign_id": defs["campaign_id"].astype(str), "since": defs["ts"],
                         "seller_id": defs["user_id"].astype(str), "terms_billing": defs["billing"],
                         "bid": defs["bid"].astype("int64"), "daily_budget": defs["daily_budget"].astype("int64"),
                         "event_id_terms": defs["event_id"]}).sort_values(["since", "event_id_terms"], kind="stable")


def build_ledger(events: pd.DataFrame) -> pd.DataFrame:
    """One row per distinct ad event (:data:`LEDGER_COLUMNS`), charged by the terms of its
    campaign at the event's time. ``events`` holds the ad events to bill and every
    ``ad_campaign`` event before them (the lake's ``read_events`` frame, or the same columns)."""
    ads = events[events["type"].isin(AD_EVENTS)].sort_values(["ts", "event_id"], kind="stable")
    ads = ads.drop_duplicates("event_id", keep="first")
    if ads.empty:
        return pd.DataFrame({c: pd.Series(dtype="int64" if c in ("price_charged", "charge_milli", "budget_at_event")
                                          else object)
                             for c in LEDGER_COLUMNS})
    frame = pd.DataFrame({"event_id": ads["event_id"].astype(str), "ts": ads["ts"], "type": ads["type"],
                          "campaign_id": ads["campaign_id"].astype(str), "item_id": ads["item_id"].astype(str),
                          "auction_id": ads["auction_id"].astype(str), "billing": ads["billing"],
                          "price_charged": ads["price_charged"].astype("int64")})
    terms = _campaign_terms(events)
    frame = pd.merge_asof(frame.sort_values("ts", kind="stable"), terms, left_on="ts", right_on="since",
                          by="campaign_id", direction="backward", allow_exact_matches=True)
    frame = frame.sort_values(["ts", "event_id"], kind="stable").reset_index(drop=True)
    frame["day"] = kst_days(frame["ts"])
    ts_ms = (frame["ts"] - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(milliseconds=1)
    states: dict[tuple[str, str], DayState] = {}
    charges, outcomes = np.zeros(len(frame), dtype=np.int64), []
    for i, (cid, day, kind, billing, price, terms_billing, bid, budget, ms) in enumerate(zip(
            frame["campaign_id"], frame["day"], frame["type"], frame["billing"], frame["price_charged"],
            frame["terms_billing"], frame["bid"], frame["daily_budget"], ts_ms)):
        if pd.isna(terms_billing):
            outcomes.append("unknown_campaign")
        elif billing != terms_billing:
            outcomes.append("billing_mismatch")
        else:
            state = states.setdefault((cid, day), DayState())
            charges[i], outcome = apply_charge(state, kind, billing, price, bid=int(bid), daily_budget=int(budget),
                                               ts_ms=int(ms))
            outcomes.append(outcome)
    frame["charge_milli"], frame["outcome"] = charges, outcomes
    frame["budget_at_event"] = frame["daily_budget"]
    return frame[LEDGER_COLUMNS]


def statement(ledger: pd.DataFrame) -> pd.DataFrame:
    """Per advertiser (seller), KST day and campaign: impressions, clicks, spend (KRW, to the
    thousandth), the day's budget (the largest in force that day), budget use, CTR and cost
    per click."""
    columns = ["seller_id", "day", "campaign_id", "billing", "impressions", "clicks", "charged_events",
               "spend_milli", "spend_krw", "daily_budget", "budget_use", "overspend_krw", "ctr", "cpc_krw"]
    known = ledger[ledger["outcome"] != "unknown_campaign"]
    if known.empty:
        return pd.DataFrame(columns=columns)
    grouped = known.groupby(["seller_id", "day", "campaign_id", "billing"], sort=True)
    table = grouped.agg(impressions=("type", lambda s: int((s == "ad_impression").sum())),
                        clicks=("type", lambda s: int((s == "ad_click").sum())),
                        charged_events=("outcome", lambda s: int((s == "charged").sum())),
                        spend_milli=("charge_milli", "sum"),
                        daily_budget=("budget_at_event", "max")).reset_index()
    table["spend_krw"] = table["spend_milli"] / MILLI
    table["daily_budget"] = table["daily_budget"].astype("int64")
    table["budget_use"] = table["spend_krw"] / table["daily_budget"]
    table["overspend_krw"] = (table["spend_krw"] - table["daily_budget"]).clip(lower=0)
    table["ctr"] = table["clicks"] / table["impressions"].where(table["impressions"] > 0)
    table["cpc_krw"] = table["spend_krw"] / table["clicks"].where(table["clicks"] > 0)
    return table[columns]


def reconcile(ledger: pd.DataFrame, statement_table: pd.DataFrame, events: pd.DataFrame) -> dict:
    """Check a ledger and its statement against the events; every count is 0 when they agree.

    ``missing`` / ``extra``: distinct ad event ids absent from the ledger / in it but not in
    the events; ``duplicated``: ledger rows of one id; ``statement_mismatch``: statement rows
    whose impressions, clicks or spend differ from the ledger's sums; ``overspend``:
    campaign-days over budget by more than their largest single charge.
    """
    ids = set(events.loc[events["type"].isin(AD_EVENTS), "event_id"].astype(str))
    counted = ledger["event_id"].astype(str)
    sums = ledger[ledger["outcome"] != "unknown_campaign"].groupby(["campaign_id", "day"]).agg(
        impressions=("type", lambda s: int((s == "ad_impression").sum())),
        clicks=("type", lambda s: int((s == "ad_click").sum())),
        spend_milli=("charge_milli", "sum"), largest=("charge_milli", "max"), budget=("budget_at_event", "max"))
    joined = pd.merge(statement_table.set_index(["campaign_id", "day"])[["impressions", "clicks", "spend_milli"]],
                      sums, left_index=True, right_index=True, how="outer", suffixes=("", "_ledger"))
    mismatch = int(((joined["impressions"] != joined["impressions_ledger"]) | (joined["clicks"] != joined["clicks_ledger"])
                    | (joined["spend_milli"] != joined["spend_milli_ledger"])).sum())
    over = sums["spend_milli"] - sums["budget"] * MILLI
    return {"missing": len(ids - set(counted)), "extra": len(set(counted) - ids),
            "duplicated": int(counted.duplicated().sum()), "statement_mismatch": mismatch,
            "overspend": int((over > sums["largest"]).sum())}


def bill(events: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """Ledger, statement and their reconciliation with ``events`` (see :func:`build_ledger`)."""
    ledger = build_ledger(events)
    table = statement(ledger)
    return ledger, table, reconcile(ledger, table, events)
