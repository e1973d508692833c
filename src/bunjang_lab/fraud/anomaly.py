"""Seller anomaly scoring: behaviour features and an isolation forest over them.

:func:`seller_features` turns lake events (and the image results, when there are any)
into one row per seller; :class:`SellerAnomalyDetector` is a scikit-learn outlier detector
whose :meth:`~SellerAnomalyDetector.anomaly_score` is the isolation forest's anomaly score
``2^(-E[h(x)]/c(n))`` in (0, 1]: about 0.5 for ordinary sellers, towards 1 for sellers
that are easy to isolate. ``predict`` marks outliers with -1: the ``contamination`` share
of the training sellers (with "auto", those scoring above 0.5).

>>> import pandas as pd
>>> X = pd.DataFrame({"a": [1.0] * 50 + [9.0], "b": [0.0] * 50 + [5.0]})
>>> detector = SellerAnomalyDetector(n_estimators=50, contamination=0.02).fit(X)
>>> bool(detector.anomaly_score(X)[-1] > detector.anomaly_score(X)[0])
True
>>> detector.predict(X)[-3:].tolist()
[1, 1, -1]
>>> detector.anomaly_score(X[["b", "a"]])  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
ValueError: The feature names should match those that were passed during fit...
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, OutlierMixin
from sklearn.ensemble import IsolationForest
from sklearn.utils.validation import check_is_fitted, validate_data

from bunjang_lab.marketplace import state

FEATURES = (
    "account_age_days",       # days from signup to the seller's first listing in the window
    "listings_per_day",       # listings over the days between first and last (at least one day)
    "price_ratio",            # median of price / median price of the same category
    "hot_category_share",     # share of listings in the most clicked categories
    "chat_buyers",            # distinct users the seller wrote to
    "image_reuse",            # the seller's photos that match another listing's
)
HOT_CATEGORY_SHARE = 0.2  # the most clicked fifth of the categories are "hot"
NO_SIGNUP_AGE_DAYS = 365.0  # sellers who signed up before the lake window: old accounts


def _hot_categories(listings: pd.DataFrame, clicks: pd.DataFrame | None) -> set[str]:
    """The categories that draw the most clicks (by listing count when there are no clicks)."""
    if clicks is not None and len(clicks):
        by_item = listings.drop_duplicates("item_id").set_index("item_id")["category"]
        demand = clicks["item_id"].map(by_item).value_counts()
    else:
        demand = listings["category"].value_counts()
    keep = max(1, int(round(len(demand) * HOT_CATEGORY_SHARE)))
    return set(demand.index[:keep])


def seller_features(events: pd.DataFrame, images: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per seller (a user with a listing in ``events``), columns :data:`FEATURES`.

    ``events`` holds ``listing``, ``chat``, ``signup`` and ``click`` events as read by
    :func:`bunjang_lab.lake.read_events`; ``images`` is ``fraud/images.parquet`` (rows
    with a non-empty ``matches`` count as reuse).
    """
    listings = state.latest_listings(events)
    if listings.empty:
        return pd.DataFrame(columns=list(FEATURES), index=pd.Index([], name="user_id"), dtype=float)
    listings = listings.assign(category=listings["category"].fillna("?"),
                               price=pd.to_numeric(listings["price"], errors="coerce").astype(float))
    sellers = listings.groupby("user_id")
    first, last = sellers["ts"].min(), sellers["ts"].max()

    signups = state.signup_times(events)
    age = ((first - signups.reindex(first.index)).dt.total_seconds() / 86400).fillna(NO_SIGNUP_AGE_DAYS).clip(lower=0)

    span_days = ((last - first).dt.total_seconds() / 86400).clip(lower=1.0)
    per_day = sellers.size() / span_days

    median_price = listings.groupby("category")["price"].transform("median")
    ratio = (listings["price"] / median_price.where(median_price > 0)).groupby(listings["user_id"]).median().fillna(1.0)

    clicks = events[events["type"] == "click"] if "click" in set(events["type"]) else None
    hot = _hot_categories(listings, clicks)
    hot_share = listings["category"].isin(hot).groupby(listings["user_id"]).mean()

    chats = events[events["type"] == "chat"]
    buyers = chats.groupby("user_id")["to_user_id"].nunique().reindex(first.index).fillna(0)

    reuse = pd.Series(0.0, index=first.index)
    if images is not None and len(images):
        matched = images[images["matches"].fillna("[]").astype(str).str.len() > 2]
        reuse = matched.groupby("seller_id").size().reindex(first.index).fillna(0).astype(float)

    out = pd.DataFrame({
        "account_age_days": age, "listings_per_day": per_day, "price_ratio": ratio.reindex(first.index).fillna(1.0),
        "hot_category_share": hot_share, "chat_buyers": buyers, "image_reuse": reuse,
    }).astype(float)
    out.index = out.index.astype(str)
    out.index.name = "user_id"
    return out


class SellerAnomalyDetector(OutlierMixin, BaseEstimator):
    """Isolation forest over :data:`FEATURES` (log-scaled counts, so a few extreme sellers
    do not squash everyone else).

    Like scikit-learn's outlier detectors: :meth:`score_samples` is lower for more anomalous
    rows, :meth:`decision_function` is it minus ``offset_`` (the threshold ``contamination``
    sets) and :meth:`predict` gives -1 for outliers, 1 for inliers. A data frame must have
    the columns it was fitted on, in the same order.
    """

    def __init__(self, n_estimators=300, max_samples="auto", contamination="auto", random_state=0):
        self.n_estimators = n_estimators
        self.max_samples = max_samples
        self.contamination = contamination
        self.random_state = random_state

    @staticmethod
    def _log_scaled(values: np.ndarray) -> np.ndarray:
        return np.sign(values) * np.log1p(np.abs(values))

    def _rows(self, X) -> np.ndarray:
        check_is_fitted(self)
        return self._log_scaled(validate_data(self, X, reset=False, dtype=np.float64))

    def fit(self, X, y=None):
        X = validate_data(self, X, dtype=np.float64)
        self.forest_ = IsolationForest(n_estimators=self.n_estimators, max_samples=self.max_samples,
                                       contamination=self.contamination, random_state=self.random_state)
        self.forest_.fit(self._log_scaled(X))
        return self

    @property  # not stored, so detectors pickled before it existed have it too
    def offset_(self) -> float:
        """:meth:`score_samples` below this is an outlier (-0.5 with ``contamination="auto"``)."""
        return self.forest_.offset_

    def score_samples(self, X) -> np.ndarray:
        """Minus :meth:`anomaly_score`: the lower, the more anomalous (scikit-learn's convention)."""
        rows = self._rows(X)
        return self.forest_.score_samples(rows)

    def decision_function(self, X) -> np.ndarray:
        """Negative for outliers, positive for inliers."""
        return self.score_samples(X) - self.offset_

    def predict(self, X) -> np.ndarray:
        """-1 for outliers, 1 for inliers."""
        return np.where(self.decision_function(X) < 0, -1, 1)

    def anomaly_score(self, X) -> np.ndarray:
        """Anomaly score per row in (0, 1]: ~0.5 ordinary, -> 1 anomalous."""
        return -self.score_samples(X)
