"""What one ad event costs: the charge rule the ledger and the real-time budget state share
(standard library only, since the serving layer applies it on every ad event).

- the billable event of a campaign's billing is charged: the ``ad_click`` of a cpc ad (its
  price), the ``ad_impression`` of a cpm ad (a thousandth of its price), the first
  ``ad_impression`` of an hourly reservation in each KST clock hour (its hourly price);
  a price above the campaign's bid is charged at the bid;
- only while the campaign's spend of the KST day is below its daily budget: so a day's
  spend never passes the budget by more than one charge (one click's price for cpc);
- amounts are kept in thousandths of a won (integers), so cpm charges add up exactly.

>>> state = DayState()
>>> [apply_charge(state, "ad_click", "cpc", 400, bid=500, daily_budget=1000, ts_ms=0) for _ in range(4)]
[(400000, 'charged'), (400000, 'charged'), (400000, 'charged'), (0, 'over_budget')]
>>> state.spent_milli   # 1,200 KRW: over the 1,000 KRW budget by less than one click
1200000
>>> kst_day(0), kst_day(15 * 3_600_000 - 1), kst_day(15 * 3_600_000)
('1970-01-01', '1970-01-01', '1970-01-02')
>>> kst_day_bounds("1970-01-02")
(54000000, 140400000)
"""

from __future__ import annotations

import datetime as dt

KST_OFFSET_MS = 9 * 3_600_000
DAY_MS, HOUR_MS = 86_400_000, 3_600_000
MILLI = 1000
BILLABLE = {"cpc": "ad_click", "cpm": "ad_impression", "hourly": "ad_impression"}
_EPOCH = dt.date(1970, 1, 1)


_LAST_DAY: tuple[int, str] = (-1, "")


def kst_day(ts_ms: int) -> str:
    """The KST calendar day of an epoch-ms instant, the day budgets and statements count."""
    global _LAST_DAY
    days = (int(ts_ms) + KST_OFFSET_MS) // DAY_MS
    last = _LAST_DAY   # the day of the last instant asked (serving asks it several times an answer)
    if last[0] == days:
        return last[1]
    day = (_EPOCH + dt.timedelta(days=days)).isoformat()
    _LAST_DAY = (days, day)
    return day


def kst_day_bounds(day: str) -> tuple[int, int]:
    """``[start, end)`` of a KST day in epoch milliseconds."""
    start = (dt.date.fromisoformat(day) - _EPOCH).days * DAY_MS - KST_OFFSET_MS
    return start, start + DAY_MS


def kst_hour(ts_ms: int) -> int:
    """Hours since the epoch, counted on KST clock hours (hourly reservations are charged per hour)."""
    return (int(ts_ms) + KST_OFFSET_MS) // HOUR_MS


class DayState:
    """What a campaign has spent on one KST day, and which hours a reservation has paid."""

    __slots__ = ("spent_milli", "hours")  # not a dataclass: importing dataclasses costs `score recommend` 10 ms

    def __init__(self, spent_milli: int = 0, hours: set[int] | None = None):
        self.spent_milli = spent_milli
        self.hours = set() if hours is None else hours

    def __eq__(self, other) -> bool:
        return isinstance(other, DayState) and (self.spent_milli, self.hours) == (other.spent_milli, other.hours)

    def __repr__(self) -> str:
        return f"DayState(spent_milli={self.spent_milli}, hours={sorted(self.hours)})"

    def to_json(self) -> dict:
        return {"spent_milli": self.spent_milli, "hours": sorted(self.hours)}

    @classmethod
    def from_json(cls, value: dict | None) -> "DayState":
        value = value or {}
        return cls(int(value.get("spent_milli", 0)), set(value.get("hours", ())))


def apply_charge(state: DayState, event_type: str, billing: str, price: int, *, bid: int, daily_budget: int,
                 ts_ms: int) -> tuple[int, str]:
    """Charge one ad event of a known campaign against its day ``state``; ``(milli-KRW, outcome)``."""
    if BILLABLE[billing] != event_type:
        return 0, "not_billable"
    price = min(int(price), int(bid))
    amount = price if billing == "cpm" else price * MILLI
    hour = kst_hour(ts_ms)
    if billing == "hourly" and hour in state.hours:
        return 0, "hour_already_charged"
    if state.spent_milli >= daily_budget * MILLI:
        return 0, "over_budget"
    if billing == "hourly":
        state.hours.add(hour)
    state.spent_milli += amount
    return amount, "charged"
