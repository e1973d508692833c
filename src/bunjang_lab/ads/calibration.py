"""Calibrated click-through rates for the auction: the ranking model's scores (the FM's raw
output, a logit-like number) mapped to click probabilities on logged ad impressions.

A ranker trained on organic interactions orders items well but its scale says little about
how often an ad in a given slot is clicked; the auction multiplies bids by the probability,
so the scale matters. Platt scaling (a one-feature logistic regression) fits it.

>>> import math
>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> scores = rng.normal(0, 1, 20_000)
>>> clicked = rng.random(20_000) < 1 / (1 + np.exp(-(0.8 * scores - 4)))
>>> calibrator = CTRCalibrator().fit(scores, clicked)
>>> round(float(calibrator.predict(np.array([0.0]))[0]), 3), round(1 / (1 + math.exp(4)), 3)
(0.018, 0.018)
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression

from bunjang_lab.errors import NotEnoughData


class CTRCalibrator:
    """Platt scaling of ranking scores into click probabilities (``fit(scores, clicked)``)."""

    def __init__(self, min_clicks: int = 20):
        self.min_clicks = min_clicks

    def fit(self, scores, clicked) -> "CTRCalibrator":
        scores, clicked = np.asarray(scores, dtype=np.float64), np.asarray(clicked, dtype=bool)
        if int(clicked.sum()) < self.min_clicks or int((~clicked).sum()) < self.min_clicks:
            raise NotEnoughData(f"calibrating click-through rates needs at least {self.min_clicks} clicked and "
                                f"{self.min_clicks} unclicked ad impressions; got {int(clicked.sum())} and "
                                f"{int((~clicked).sum())}")
        model = LogisticRegression(C=1e6, max_iter=1000).fit(scores[:, None], clicked)
        self.slope_, self.intercept_ = float(model.coef_[0, 0]), float(model.intercept_[0])
        return self

    def predict(self, scores) -> np.ndarray:
        """Click probability of each score."""
        return 1.0 / (1.0 + np.exp(-(self.slope_ * np.asarray(scores, dtype=np.float64) + self.intercept_)))


def logged_impressions(events: pd.DataFrame) -> pd.DataFrame:
    """Each distinct ``ad_impression`` as ``user_id, item_id, clicked``: clicked when an
    ``ad_click`` of the same auction and listing followed (the calibrator's training rows)."""
    shown = events[events["type"] == "ad_impression"].drop_duplicates("event_id")
    clicks = events[events["type"] == "ad_click"]
    clicked = set(zip(clicks["auction_id"].astype(str), clicks["item_id"].astype(str)))
    return pd.DataFrame({"user_id": shown["user_id"].astype(str).to_numpy(),
                         "item_id": shown["item_id"].astype(str).to_numpy(),
                         "clicked": [(a, i) in clicked for a, i in zip(shown["auction_id"].astype(str),
                                                                        shown["item_id"].astype(str))]})
