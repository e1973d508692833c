"""Offline evaluation splits: what a model may learn from and what it is judged on.

Two protocols (details and rationale in docs/ranker.md):

* ``time_split``: every event before ``cutoff`` trains; the positives (click, favorite,
  chat, purchase) of the following ``test_days`` are the targets. Candidates are the
  listings live at the cutoff plus those listed during the test window ("cold items").
* ``leave_last_out``: each user's last positive is the target; that user's events from
  then on are removed from training. Candidates are the listings live at the targets' time.

Models never see a test event: :attr:`Split.context` holds the catalog and profiles (known
at serving time, including listings posted after the cutoff) but interactions from
``train`` only.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from bunjang_lab.marketplace import INTERACTION_WEIGHTS, state
from bunjang_lab.ranking import features as F

PROTOCOLS = ("time-split", "leave-last-out")


@dataclass
class Split:
    protocol: str
    train: pd.DataFrame  # events models may learn from
    test: pd.DataFrame  # held-out positives: user_id, item_id, ts, type (targets)
    cutoff: pd.Timestamp  # when recommendations are made (latest target time for leave-last-out)
    candidates: np.ndarray  # item ids ranked in full for every user
    users: np.ndarray  # evaluated user ids (each has >= 1 target among the candidates)
    cold_items: np.ndarray  # candidates listed at or after the cutoff (empty for leave-last-out)
    context: F.Context  # catalog + profiles up to the test end, interactions from train only
    exclude: dict = field(default_factory=dict)  # user -> items never to recommend (bought, own listings)

    @property
    def targets(self) -> dict:
        """user -> set of target item ids (candidates only, exclusions removed)."""
        cands = set(self.candidates)
        out: dict = {}
        for user, item in zip(self.test["user_id"], self.test["item_id"]):
            if item in cands and item not in self.exclude.get(user, ()):
                out.setdefault(user, set()).add(item)
        return out


def _positives(events: pd.DataFrame) -> pd.DataFrame:
    pos = events[events["type"].isin(list(INTERACTION_WEIGHTS)) & events["item_id"].notna()]
    return pos[state.favorite_on(pos)]


def _exclusions(train: pd.DataFrame, items: pd.DataFrame, users) -> dict:
    """What a user bought before and their own listings."""
    users = set(users)
    bought = train[(train["type"] == "purchase") & train["user_id"].isin(users)]
    out: dict = {u: set() for u in users}
    for user, item in zip(bought["user_id"], bought["item_id"]):
        out[user].add(item)
    own = items[items["seller_id"].isin(users)]
    for item, seller in zip(own.index, own["seller_id"]):
        out[seller].add(item)
    return out


def _finish(protocol, events, train, test, cutoff, candidates, cold, known_until) -> Split:
    # Listings and sign-ups are known when serving; status changes after the cutoff are not.
    known = events[(events["ts"] < known_until) & events["type"].isin(["listing", "signup"])]
    statuses = train[train["type"] == "listing_status"]
    items = state.catalog(pd.concat([known, statuses]))
    ctx = F.Context(items, state.profiles(known), state.interactions(train, items))
    test = test.assign(user_id=test["user_id"].astype(str), item_id=test["item_id"].astype(str))
    users = np.array(sorted(test["user_id"].unique()))
    split = Split(protocol, train, test, cutoff, np.asarray(candidates).astype(str), users, np.asarray(cold).astype(str), ctx)
    split.exclude = _exclusions(train, items, users)
    split.users = np.array(sorted(split.targets))
    return split


def time_split(events: pd.DataFrame, test_days: float = 3.0, cutoff=None) -> Split:
    """Train on events before ``cutoff`` (default: ``test_days`` before the last event)."""
    end = events["ts"].max()
    cutoff = pd.Timestamp(cutoff) if cutoff is not None else end - pd.Timedelta(days=test_days)
    test_end = cutoff + pd.Timedelta(days=test_days)
    train = events[events["ts"] < cutoff]
    test = _positives(events[(events["ts"] >= cutoff) & (events["ts"] <= test_end)])
    items = state.catalog(events[events["ts"] <= test_end])
    listed_later = (items["listed_at"] > cutoff) & (items["listed_at"] <= test_end)
    candidates = items.index[state.available(items, cutoff) | listed_later]
    cold = candidates[items.loc[candidates, "listed_at"] >= cutoff]
    return _finish("time-split", events, train, test[["user_id", "item_id", "ts", "type"]], cutoff, candidates, cold,
                   test_end + pd.Timedelta(microseconds=1))


def leave_last_out(events: pd.DataFrame) -> Split:
    """Each user's last positive is the target; their own later events leave training."""
    pos = _positives(events).sort_values("ts", kind="stable")
    counts = pos.groupby("user_id")["item_id"].transform("size")
    last = pos[counts >= 2].groupby("user_id").tail(1)
    held_at = last.set_index("user_id")["ts"]
    user_cut = events["user_id"].map(held_at)
    train = events[user_cut.isna() | (events["ts"] < user_cut)]
    cutoff = last["ts"].max()
    items = state.catalog(events)
    first_target = last["ts"].min()
    alive = items["ended_at"].isna() | (items["ended_at"] > first_target)
    candidates = items.index[(items["listed_at"] <= cutoff) & alive]
    return _finish("leave-last-out", events, train, last[["user_id", "item_id", "ts", "type"]], cutoff, candidates, [],
                   cutoff + pd.Timedelta(microseconds=1))


def make_split(events: pd.DataFrame, protocol: str, **kwargs) -> Split:
    if protocol == "time-split":
        return time_split(events, **kwargs)
    if protocol == "leave-last-out":
        return leave_last_out(events)
    raise ValueError(f"unknown protocol {protocol!r}; expected one of {', '.join(PROTOCOLS)}")
