"""Ad campaigns as the events describe them: the latest ``ad_campaign`` of each id, with the
pauses, resumes and stops of ``ad_campaign_status`` applied in time order.

>>> import pandas as pd
>>> events = pd.DataFrame([
...     {"event_id": "e1", "type": "ad_campaign", "ts": pd.Timestamp(1000, unit="ms", tz="UTC"), "user_id": "s1",
...      "campaign_id": "c1", "item_ids": ["i1"], "billing": "cpc", "bid": 300, "daily_budget": 9000,
...      "start_ms": 0, "end_ms": None, "categories": None, "keywords": None, "genders": None, "age_bands": None},
...     {"event_id": "e2", "type": "ad_campaign_status", "ts": pd.Timestamp(2000, unit="ms", tz="UTC"),
...      "user_id": "s1", "campaign_id": "c1", "action": "pause"}])
>>> [(c.campaign_id, c.bid, c.status) for c in campaigns_from_events(events)]
[('c1', 300, 'paused')]
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import pandas as pd

from bunjang_lab.errors import InvalidInput
from bunjang_lab.events import BILLINGS

ACTIVE, PAUSED, STOPPED = "active", "paused", "stopped"
_STATUS_OF_ACTION = {"pause": PAUSED, "resume": ACTIVE, "stop": STOPPED}


@dataclass(frozen=True)
class Campaign:
    """One campaign. ``bid`` is KRW per click (cpc), per 1,000 impressions (cpm) or per hour
    (hourly); empty targeting tuples mean everyone."""

    campaign_id: str
    seller_id: str
    item_ids: tuple[str, ...]
    billing: str
    bid: int
    daily_budget: int
    start_ms: int
    end_ms: int | None = None
    categories: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    genders: tuple[str, ...] = ()
    age_bands: tuple[str, ...] = ()
    status: str = ACTIVE

    def __post_init__(self):
        if self.billing not in BILLINGS:
            raise InvalidInput(f"campaign {self.campaign_id}: billing must be one of {BILLINGS}, not {self.billing!r}")
        if self.bid < 1 or self.daily_budget < 1:
            raise InvalidInput(f"campaign {self.campaign_id}: bid and daily budget must be at least 1 KRW")
        if not self.item_ids:
            raise InvalidInput(f"campaign {self.campaign_id}: promotes no listing")

    def live_at(self, ms: int) -> bool:
        """Active and inside its flight at ``ms`` (budget and targeting are the auction's)."""
        return self.status == ACTIVE and self.start_ms <= ms and (self.end_ms is None or ms < self.end_ms)


def _tuple(value) -> tuple[str, ...]:
    return () if value is None or (isinstance(value, float) and pd.isna(value)) else tuple(str(v) for v in value)


def _optional_int(value) -> int | None:
    return None if value is None or pd.isna(value) else int(value)


def campaigns_from_events(events: pd.DataFrame) -> list[Campaign]:
    """Campaigns in id order from ``ad_campaign`` and ``ad_campaign_status`` rows (others ignored).

    A later ``ad_campaign`` of the same id changes it (bid, budget, targeting) and keeps its
    status; ``stop`` is final: nothing resumes a stopped campaign.
    """
    rows = events[events["type"].isin(("ad_campaign", "ad_campaign_status"))].sort_values(["ts", "event_id"],
                                                                                          kind="stable")
    campaigns: dict[str, Campaign] = {}
    for row in rows.to_dict("records"):
        cid = str(row["campaign_id"])
        current = campaigns.get(cid)
        if row["type"] == "ad_campaign_status":
            if current is not None and current.status != STOPPED:
                campaigns[cid] = replace(current, status=_STATUS_OF_ACTION[row["action"]])
            continue
        if current is not None and current.status == STOPPED:
            continue
        campaigns[cid] = Campaign(
            campaign_id=cid, seller_id=str(row["user_id"]), item_ids=_tuple(row["item_ids"]),
            billing=row["billing"], bid=int(row["bid"]), daily_budget=int(row["daily_budget"]),
            start_ms=int(row["start_ms"]), end_ms=_optional_int(row.get("end_ms")),
            categories=_tuple(row.get("categories")), keywords=_tuple(row.get("keywords")),
            genders=_tuple(row.get("genders")), age_bands=_tuple(row.get("age_bands")),
            status=current.status if current is not None else ACTIVE)
    return [campaigns[c] for c in sorted(campaigns)]
