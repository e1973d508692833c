"""Offline evaluation splits: what a model may learn from and what it is judged on.

Both protocols are leak-free by construction: every model and every statistic it keeps
(popularity, co-occurrence, vocabularies, chosen hyperparameters) is fitted on
:attr:`Split.train`, the events strictly before the cutoff ``T``. Events after ``T`` are
only ever asked about (details and rationale in docs/ranker.md):

* ``time-split``: one *request* per user at ``T``; its targets are the user's positive
  interactions (click, favorite, chat, purchase) in ``(T, T + horizon]``, and its history
  is what the user did before ``T``.
* ``next-item``: each positive interaction in ``(T, T + horizon]`` is a request at its own
  time, predicted from everything that user (or session) did before it, events after ``T``
  included: models read them as context at scoring time and never learn from them. A
  request needs some history (the first click of a new session is not predicted).

Candidates, by ``candidates``:

* ``live`` (marketplace data, the default): the listings that can be bought. For a time
  split, those available at ``T`` plus those listed in the window (the cold items); for
  next-item, those available at each request's own time.
* ``catalogue`` (click logs, ratings): every item with a training interaction, always.

A user's own listings and what they bought are never recommended. ``exclude_seen`` also
removes everything in the request's history: right for data where an item is consumed
once (ratings), wrong for marketplaces and click logs, where people come back to what they
looked at; there a target the user had already interacted with counts as a *repeat* and
metrics are reported for repeat and new targets apart.

>>> import pandas as pd
>>> ev = pd.DataFrame([dict(type="listing", ts=pd.Timestamp("2026-01-01", tz="UTC"), user_id="s", item_id=i,
...                         category="c") for i in ("a", "b", "c")] + [
...     dict(type="click", ts=pd.Timestamp(f"2026-01-0{d}", tz="UTC"), user_id="u", item_id=i, category=None)
...     for d, i in ((2, "a"), (3, "b"), (5, "c"), (6, "a"))])
>>> s = next_item(ev, test_days=3, cutoff="2026-01-04")
>>> s.requests[["user_id", "at"]].astype(str).values.tolist()
[['u', '2026-01-05 00:00:00+00:00'], ['u', '2026-01-06 00:00:00+00:00']]
>>> [s.candidates[t].tolist() for t in s.targets], [r.tolist() for r in s.repeat]
([['c'], ['a']], [[False], [True]])
>>> s.history(s.requests).groupby("request")["item_id"].apply(list).tolist()
[['a', 'b'], ['a', 'b', 'c']]
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from bunjang_lab.errors import InvalidInput
from bunjang_lab.marketplace import INTERACTION_WEIGHTS, state
from bunjang_lab.ranking import features as F

PROTOCOLS = ("time-split", "next-item")
CANDIDATES = ("live", "catalogue")
HISTORY_COLUMNS = ["request", "item_id", "ts", "type", "weight", "category"]
_NEVER = np.iinfo(np.int64).max


@dataclass
class Split:
    protocol: str
    train: pd.DataFrame  # the events before the cutoff: all that models and their statistics may learn from
    cutoff: pd.Timestamp
    context: F.Context  # catalog known when serving, profiles, interactions of train only
    candidates: np.ndarray  # item ids every request is ranked over
    requests: pd.DataFrame  # one row per prediction: user_id, at (UTC); the index is 0..n-1
    targets: list  # per request, the candidate columns of its held-out items
    repeat: list  # per request and target: did the user interact with it before the request?
    test: pd.DataFrame  # the held-out positive interactions: user_id, item_id, ts, type
    test_events: pd.DataFrame  # every event of the test window (searches for the product evaluation)
    after_cutoff: pd.DataFrame  # interactions after the cutoff, readable as history only
    availability: pd.DataFrame  # the catalog up to the window's end: when each candidate could be bought
    test_days: float = 3.0  # the window's length
    candidate_kind: str = "live"
    exclude_seen: bool = False
    cold_items: np.ndarray = field(default_factory=lambda: np.array([], dtype=object))
    _timeline: tuple = field(default=None, repr=False)
    _memo: dict = field(default_factory=dict, repr=False)

    def memo(self, key, build):
        """``build()``, computed once per split and key: what several models (or the tuning's
        tries of one model) derive from the same split."""
        if key not in self._memo:
            self._memo[key] = build()
        return self._memo[key]

    def earlier(self, test_days: float | None = None) -> "Split":
        """The same protocol on the training events alone, its window (``test_days``, by
        default this split's) ending at the last one: the tuning's validation window and the
        hybrid's ranking window. Built once per split and length, so both share it (and
        what is memoised on it)."""
        days = test_days or self.test_days
        return self.memo(("earlier", days), lambda: make_split(self.train, self.protocol, test_days=days,
                                                               candidates=self.candidate_kind, exclude_seen=self.exclude_seen))

    @property
    def users(self) -> np.ndarray:
        """The distinct users with at least one request."""
        return np.asarray(sorted(self.requests["user_id"].unique()), dtype=object)

    # ------------------------------------------------------------ what a request may see

    def timeline(self):
        """All interactions (train and after the cutoff) sorted by user and time, with their
        sortable (user code, epoch ms) keys; built once."""
        if self._timeline is None:
            inter = pd.concat([self.context.interactions, self.after_cutoff], ignore_index=True)
            inter = inter.sort_values(["user_id", "ts"], kind="stable").reset_index(drop=True)
            users = pd.Index(inter["user_id"].unique())
            self._timeline = (inter, users, F.user_time_keys(users.get_indexer(inter["user_id"]), F.epoch_ms(inter["ts"])))
        return self._timeline

    def _ranges(self, requests: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """For each request, the [start, end) rows of its user's interactions before its time."""
        inter, users, keys = self.timeline()
        codes = users.get_indexer(requests["user_id"].astype(str))
        known = codes >= 0
        at_ms = F.epoch_ms(requests["at"])
        start = np.searchsorted(keys, F.user_time_keys(np.where(known, codes, 0), 0), side="left")
        end = np.searchsorted(keys, F.user_time_keys(np.where(known, codes, 0), at_ms), side="left")
        return np.where(known, start, 0), np.where(known, end, 0)

    def history(self, requests: pd.DataFrame) -> pd.DataFrame:
        """The interactions each request may use (its user's, strictly before its time), in
        time order: ``request`` (position in ``requests``), item_id, ts, type, weight, category."""
        inter, _, _ = self.timeline()
        start, end = self._ranges(requests)
        lengths = end - start
        rows = np.repeat(start - np.cumsum(np.r_[0, lengths[:-1]]), lengths) + np.arange(lengths.sum())
        out = inter.iloc[rows][HISTORY_COLUMNS[1:]].reset_index(drop=True)
        out.insert(0, "request", np.repeat(np.arange(len(requests)), lengths))
        return out

    def allowed(self, requests: pd.DataFrame) -> np.ndarray:
        """(len(requests), len(candidates)) booleans: may this item be recommended to this
        request? (available at its time, not the user's own, not bought, not seen if excluded)."""
        items = self.context.items.reindex(self.candidates)
        ok = np.ones((len(requests), len(self.candidates)), dtype=bool)
        if self.candidate_kind == "live" and self.protocol == "next-item":
            at = F.epoch_ms(requests["at"])[:, None]
            listed, ended, reserved = _availability(self.availability.reindex(self.candidates))
            ok &= (listed[None, :] <= at) & (ended[None, :] > at) & (reserved[None, :] > at)
        column = pd.Index(self.candidates)
        own = items["seller_id"].to_numpy(dtype=object)[None, :] == requests["user_id"].to_numpy(dtype=object)[:, None]
        ok &= ~own
        history = self.history(requests)
        if not self.exclude_seen:
            history = history[history["type"] == "purchase"]
        cols = column.get_indexer(history["item_id"])
        known = cols >= 0
        ok[history["request"].to_numpy()[known], cols[known]] = False
        return ok

    # ------------------------------------------------------------ per-user views (time split)

    def targets_by_user(self) -> dict:
        """user -> set of target item ids (one request per user in a time split)."""
        out: dict = {}
        for user, cols in zip(self.requests["user_id"], self.targets):
            out.setdefault(user, set()).update(self.candidates[cols].tolist())
        return out

    def excluded_by_user(self) -> dict:
        """user -> set of item ids never to recommend to them at the cutoff."""
        first = self.requests.drop_duplicates("user_id")
        allowed = self.allowed(first)
        return {u: set(self.candidates[~row].tolist()) for u, row in zip(first["user_id"], allowed)}


def _availability(items: pd.DataFrame):
    """Per item, epoch ms: listed at, ended at and reserved at (never: int64 max)."""
    def ms(column: pd.Series) -> np.ndarray:
        out = np.full(len(column), _NEVER, dtype=np.int64)
        known = column.notna().to_numpy()
        out[known] = F.epoch_ms(column[known])
        return out

    reserved = items["status_at"].where(items["status"] == "reserved")
    return ms(items["listed_at"]), ms(items["ended_at"]), ms(reserved)


def _positives(events: pd.DataFrame) -> pd.DataFrame:
    pos = events[events["type"].isin(list(INTERACTION_WEIGHTS)) & events["item_id"].notna()]
    return pos[state.favorite_on(pos)]


def _window(events: pd.DataFrame, test_days: float, cutoff) -> tuple[pd.Timestamp, pd.Timestamp]:
    end = events["ts"].max()
    cutoff = state.to_utc(cutoff) if cutoff is not None else end - pd.Timedelta(days=test_days)
    return cutoff, cutoff + pd.Timedelta(days=test_days)


def _context(events: pd.DataFrame, train: pd.DataFrame, test_end: pd.Timestamp) -> F.Context:
    # Listings and sign-ups are known when serving (a new listing is scored through its
    # features); status changes and purchases after the cutoff are not.
    known = events[(events["ts"] <= test_end) & events["type"].isin(["listing", "signup"])]
    ended = train[train["type"].isin(["listing_status", "purchase"])]
    items = state.catalog(pd.concat([known, ended]))
    return F.Context(items, state.profiles(known), state.interactions(train, items))


def _make(protocol: str, events: pd.DataFrame, test_days: float, cutoff, requests_of, candidate_kind: str,
          exclude_seen: bool) -> Split:
    if candidate_kind not in CANDIDATES:
        raise InvalidInput(f"unknown candidates {candidate_kind!r}; expected one of {', '.join(CANDIDATES)}")
    cutoff, test_end = _window(events, test_days, cutoff)
    train = events[events["ts"] < cutoff]
    window = events[(events["ts"] > cutoff) & (events["ts"] <= test_end)]
    ctx = _context(events, train, test_end)
    held = _positives(window).sort_values("ts", kind="stable")
    held = pd.DataFrame({"user_id": held["user_id"].astype(str), "item_id": held["item_id"].astype(str),
                         "ts": held["ts"], "type": held["type"].astype(str)}).reset_index(drop=True)
    requests, held["request"] = requests_of(held, cutoff)
    candidates = _candidates(ctx.items, train, cutoff, test_end, candidate_kind)
    items = ctx.items.reindex(candidates)
    cold = candidates[(items["listed_at"] >= cutoff).to_numpy()] if candidate_kind == "live" else candidates[:0]
    availability = state.catalog(events[(events["ts"] <= test_end) & events["type"].isin(["listing", "listing_status", "purchase"])])
    split = Split(protocol, train, cutoff, ctx, candidates, requests.reset_index(drop=True), [], [], held, window,
                  state.interactions(window, ctx.items), availability, test_days, candidate_kind, exclude_seen, cold)
    return _with_targets(split, held)


def _with_targets(split: Split, held: pd.DataFrame) -> Split:
    """Attach each request's targets (those it may be recommended) and drop requests left
    without any, or without history in a next-item split."""
    requests = split.requests
    column = pd.Index(split.candidates)
    cols = column.get_indexer(held["item_id"].astype(str))
    request_of = held["request"].to_numpy()
    allowed = np.zeros(len(held), dtype=bool)
    seen = np.zeros(len(held), dtype=bool)
    history = split.history(requests)
    seen_pairs = set(zip(history["request"].tolist(), history["item_id"].tolist()))
    for block in range(0, len(requests), 2048):
        rows = (request_of >= block) & (request_of < block + 2048) & (cols >= 0)
        ok = split.allowed(requests.iloc[block:block + 2048])
        allowed[rows] = ok[request_of[rows] - block, cols[rows]]
    seen[:] = [(r, i) in seen_pairs for r, i in zip(request_of.tolist(), held["item_id"].astype(str).tolist())]
    keep = allowed
    targets = [[] for _ in range(len(requests))]
    repeat = [[] for _ in range(len(requests))]
    for r, c, s in zip(request_of[keep].tolist(), cols[keep].tolist(), seen[keep].tolist()):
        if c not in targets[r]:
            targets[r].append(c)
            repeat[r].append(s)
    has_history = np.ones(len(requests), dtype=bool)
    if split.protocol == "next-item":
        start, end = split._ranges(requests)
        has_history = end > start
    chosen = [r for r in range(len(requests)) if targets[r] and has_history[r]]
    split.requests = requests.iloc[chosen].reset_index(drop=True)
    split.targets = [np.asarray(targets[r], dtype=np.int64) for r in chosen]
    split.repeat = [np.asarray(repeat[r], dtype=bool) for r in chosen]
    return split


def _candidates(ctx_items: pd.DataFrame, train: pd.DataFrame, cutoff, test_end, kind: str) -> np.ndarray:
    if kind == "catalogue":
        trained = state.interactions(train, ctx_items)["item_id"].unique()
        return np.asarray(sorted(trained), dtype=object)
    listed_later = (ctx_items["listed_at"] > cutoff) & (ctx_items["listed_at"] <= test_end)
    return np.asarray(ctx_items.index[state.available(ctx_items, cutoff) | listed_later], dtype=object)


def time_split(events: pd.DataFrame, test_days: float = 3.0, cutoff=None, candidates: str = "live",
               exclude_seen: bool = False) -> Split:
    """One request per user at the cutoff (default: ``test_days`` before the last event);
    targets: their positives in ``(cutoff, cutoff + test_days]``."""
    def per_user(held: pd.DataFrame, cutoff):
        users = pd.Index(sorted(held["user_id"].unique()))
        return pd.DataFrame({"user_id": users, "at": cutoff}), users.get_indexer(held["user_id"])

    return _make("time-split", events, test_days, cutoff, per_user, candidates, exclude_seen)


def next_item(events: pd.DataFrame, test_days: float = 3.0, cutoff=None, candidates: str = "live",
              exclude_seen: bool = False) -> Split:
    """Every positive in ``(cutoff, cutoff + test_days]`` predicted at its own time from the
    user's history before it (models fitted once, on the events before the cutoff)."""
    def per_interaction(held: pd.DataFrame, cutoff):
        # interactions at the same instant are one prediction
        requests = held[["user_id", "ts"]].drop_duplicates().rename(columns={"ts": "at"}).reset_index(drop=True)
        key = pd.MultiIndex.from_frame(requests)
        return requests, key.get_indexer(pd.MultiIndex.from_frame(held[["user_id", "ts"]]))

    return _make("next-item", events, test_days, cutoff, per_interaction, candidates, exclude_seen)


def make_split(events: pd.DataFrame, protocol: str, **options) -> Split:
    if protocol == "time-split":
        return time_split(events, **options)
    if protocol == "next-item":
        return next_item(events, **options)
    raise InvalidInput(f"unknown protocol {protocol!r}; expected one of {', '.join(PROTOCOLS)}")
