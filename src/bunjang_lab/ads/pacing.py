"""Pacing: each daily budget spread over the day's traffic curve (KST days).

By a moment of the day a campaign may have spent its budget times the share of the day's
traffic seen so far (plus a little slack, so a campaign is not starved between two
requests); the auction only admits campaigns with budget left under that line. The ledger
(:mod:`bunjang_lab.ads.ledger`) bounds the overspend of the whole day to one charge.
Standard library at import (a whole-process lookup paces with :meth:`Pacer.allowed_share`);
the array methods import numpy.

>>> import numpy as np
>>> pacer = Pacer(curve=np.full(24, 1 / 24), slack=0.0)
>>> noon_kst = 3 * 3_600_000           # 03:00 UTC is 12:00 KST
>>> pacer.allowed(np.array([24_000]), noon_kst).tolist()
[12000.0]
>>> pacer.budget_left(np.array([24_000]), np.array([12_500]), noon_kst).tolist()
[-500.0]
"""

from __future__ import annotations

from itertools import accumulate
from math import fsum

from bunjang_lab.ads.charges import DAY_MS, HOUR_MS, KST_OFFSET_MS
from bunjang_lab.errors import InvalidInput

_NOT_YET = object()


def traffic_curve(ts_ms, smoothing: float = 1.0):
    """Share of the day's ad requests in each KST hour, from the times of past ad impressions
    (add-``smoothing`` counts, so an hour never seen still gets a little)."""
    import numpy as np

    hours = ((np.asarray(ts_ms, dtype=np.int64) + KST_OFFSET_MS) % DAY_MS) // HOUR_MS
    counts = np.bincount(hours, minlength=24).astype(np.float64) + smoothing
    return counts / counts.sum()


class Pacer:
    """Budget allowed by a moment of the KST day: ``budget × (share of the day's traffic so
    far + slack)``, at most the budget; the curve is uniform unless fitted."""

    def __init__(self, curve=None, slack: float = 0.05):
        self.curve = curve
        self.slack = slack
        self._held = (_NOT_YET, None)   # (the curve, its cumulative shares): a held pacer computes them once

    def fit(self, impression_ts_ms) -> "Pacer":
        """Learn the curve from past ad impression times (epoch ms)."""
        self.curve = traffic_curve(impression_ts_ms)
        return self

    def _cumulative(self) -> list[float]:
        curve, cumulative = self._held
        if curve is not self.curve:
            shares = [1 / 24] * 24 if self.curve is None else [float(x) for x in self.curve]
            if len(shares) != 24 or any(x < 0 for x in shares) or sum(shares) <= 0:
                raise InvalidInput("a traffic curve has 24 non-negative hourly shares")
            total = fsum(shares)
            cumulative = [0.0, *accumulate(x / total for x in shares)]
            self._held = (self.curve, cumulative)
        return cumulative

    def share(self, ts_ms: int) -> float:
        """Share of the day's traffic before ``ts_ms`` (linear within the hour)."""
        cumulative = self._cumulative()
        into_day = (int(ts_ms) + KST_OFFSET_MS) % DAY_MS
        hour, within = divmod(into_day, HOUR_MS)
        return float(cumulative[hour] + (cumulative[hour + 1] - cumulative[hour]) * within / HOUR_MS)

    def allowed_share(self, ts_ms: int) -> float:
        """Share of its daily budget a campaign may have spent by ``ts_ms``."""
        return min(1.0, self.share(ts_ms) + self.slack)

    def allowed(self, daily_budgets, ts_ms: int):
        """KRW each campaign may have spent by ``ts_ms`` today (an array)."""
        import numpy as np

        return np.asarray(daily_budgets, dtype=np.float64) * self.allowed_share(ts_ms)

    def budget_left(self, daily_budgets, spent_today_krw, ts_ms: int):
        """KRW left under the pacing line (the auction admits campaigns with more than 0)."""
        import numpy as np

        return self.allowed(daily_budgets, ts_ms) - np.asarray(spent_today_krw, dtype=np.float64)
