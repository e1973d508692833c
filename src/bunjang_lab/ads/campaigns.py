"""Ad campaigns as the events describe them (standard library: serving applies campaign
events in real time): the latest ``ad_campaign`` of each id, with the
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

from collections.abc import Mapping
from typing import NamedTuple

from bunjang_lab.errors import InvalidInput
from bunjang_lab.event_values import BILLINGS

ACTIVE, PAUSED, STOPPED = "active", "paused", "stopped"
_STATUS_OF_ACTION = {"pause": PAUSED, "resume": ACTIVE, "stop": STOPPED}
_LISTS = ("item_ids", "categories", "keywords", "genders", "age_bands")


class _Terms(NamedTuple):  # not a dataclass: importing dataclasses costs `score recommend` 10 ms
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


class Campaign(_Terms):
    """One campaign. ``bid`` is KRW per click (cpc), per 1,000 impressions (cpm) or per hour
    (hourly); empty targeting tuples mean everyone."""

    __slots__ = ()

    def __new__(cls, *args, **kwargs):
        self = super().__new__(cls, *args, **kwargs)
        if self.billing not in BILLINGS:
            raise InvalidInput(f"campaign {self.campaign_id}: billing must be one of {BILLINGS}, not {self.billing!r}")
        if self.bid < 1 or self.daily_budget < 1:
            raise InvalidInput(f"campaign {self.campaign_id}: bid and daily budget must be at least 1 KRW")
        if not self.item_ids:
            raise InvalidInput(f"campaign {self.campaign_id}: promotes no listing")
        return self

    def _replace(self, **changes) -> "Campaign":  # namedtuple's own would skip the checks above
        return type(self)(**{**self._asdict(), **changes})

    def to_json(self) -> dict:
        return self._asdict()

    @classmethod
    def from_json(cls, value: Mapping) -> "Campaign":
        return cls(**{**value, **{k: tuple(value.get(k) or ()) for k in _LISTS}})

    def live_at(self, ms: int) -> bool:
        """Active and inside its flight at ``ms`` (budget and targeting are the auction's)."""
        return self.status == ACTIVE and self.start_ms <= ms and (self.end_ms is None or ms < self.end_ms)


def _strings(value) -> tuple[str, ...]:
    return () if value is None else tuple(str(v) for v in value)


def apply_campaign_event(current: Campaign | None, event: Mapping) -> Campaign | None:
    """The campaign after one ``ad_campaign`` or ``ad_campaign_status`` event (a mapping with
    the contract's fields). A later ``ad_campaign`` changes the terms (bid, budget, targeting)
    and keeps the status; ``stop`` is final: nothing changes or resumes a stopped campaign;
    a status for a campaign never created is ignored."""
    if current is not None and current.status == STOPPED:
        return current
    if event["type"] == "ad_campaign_status":
        return None if current is None else current._replace(status=_STATUS_OF_ACTION[event["action"]])
    end_ms = event.get("end_ms")
    return Campaign(
        campaign_id=str(event["campaign_id"]), seller_id=str(event["user_id"]), item_ids=_strings(event["item_ids"]),
        billing=event["billing"], bid=int(event["bid"]), daily_budget=int(event["daily_budget"]),
        start_ms=int(event["start_ms"]), end_ms=None if end_ms is None else int(end_ms),
        categories=_strings(event.get("categories")), keywords=_strings(event.get("keywords")),
        genders=_strings(event.get("genders")), age_bands=_strings(event.get("age_bands")),
        status=current.status if current is not None else ACTIVE)


def campaigns_from_events(events) -> list[Campaign]:
    """Campaigns in id order from the ``ad_campaign`` and ``ad_campaign_status`` rows of an
    events frame (others ignored), applied in ``(ts, event_id)`` order."""
    rows = events[events["type"].isin(("ad_campaign", "ad_campaign_status"))].sort_values(["ts", "event_id"],
                                                                                          kind="stable")
    rows = rows.astype(object).where(rows.notna(), None)   # a frame's NaN and <NA> are absent values
    campaigns: dict[str, Campaign] = {}
    for row in rows.to_dict("records"):
        cid = str(row["campaign_id"])
        updated = apply_campaign_event(campaigns.get(cid), row)
        if updated is not None:
            campaigns[cid] = updated
    return [campaigns[c] for c in sorted(campaigns)]
