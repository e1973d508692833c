"""Sparse FM features with named fields, built from events (see docs/ranker.md).

A row is one (user, item, time, surface). Its features are ``"field=value"`` keys:

========================  ======  ===============================================
field                     side    value
========================  ======  ===============================================
user, gender, age_band    user    id; "M"/"F"/"unknown"; "10s".."50+"/"unknown"
recent_category           user    top categories of the events *before* the row
recent_item               user    top items of the events *before* the row
surface                   user    where the item was shown ("home" when scoring)
item, seller, brand       item    ids and brand as given
category                  item    every level of the category path ("a", "a>b")
price_bucket              item    price quintile within the leaf category
freshness                 item    listing age at the row's time, bucketed
========================  ======  ===============================================

Recent categories/items are weighted multi-hot (weights sum to 1) computed by folding the
user's interactions through :func:`bunjang_lab.ranking.realtime.add`, so serving updates
agree with training. Every field has an ``__unknown__`` slot: values seen fewer than
``min_count`` times in training land there, so the slot is trained and a new user or a
listing posted five minutes ago still gets its other features.

>>> category_levels("패션의류>여성의류>원피스")
['패션의류', '패션의류>여성의류', '패션의류>여성의류>원피스']
>>> freshness_bucket([0.5, 30, 2000]).tolist()
['<1h', '<3d', '30d+']
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp

from bunjang_lab.marketplace import state
from bunjang_lab.ranking import realtime

USER_FIELDS = ("user", "gender", "age_band", "recent_category", "recent_item", "surface")
ITEM_FIELDS = ("item", "seller", "brand", "category", "price_bucket", "freshness")
FULL_FIELDS = USER_FIELDS + ITEM_FIELDS
ID_FIELDS = ("user", "item")

IMPRESSION_TYPE = "impression"
CATEGORY_SEPARATOR = state.CATEGORY_SEPARATOR
FRESHNESS_EDGES_HOURS = (1, 6, 24, 72, 168, 720)
FRESHNESS_LABELS = ("<1h", "<6h", "<1d", "<3d", "<7d", "<30d", "30d+")
PRICE_BUCKETS = 5
UNKNOWN = realtime.UNKNOWN
SCORING_SURFACE = "home"


def category_levels(path) -> list[str]:
    """Every prefix of a category path, shortest first."""
    if not isinstance(path, str) or not path.strip():
        return []
    parts = [p.strip() for p in path.split(CATEGORY_SEPARATOR) if p.strip()]
    return [CATEGORY_SEPARATOR.join(parts[: i + 1]) for i in range(len(parts))]


def freshness_bucket(age_hours) -> np.ndarray:
    """Listing age in hours to a bucket label (negative ages count as brand new)."""
    index = np.searchsorted(np.asarray(FRESHNESS_EDGES_HOURS, dtype=float), np.asarray(age_hours, dtype=float), side="right")
    return np.asarray(FRESHNESS_LABELS, dtype=object)[index]


def epoch_seconds(ts) -> np.ndarray:
    """Timestamps (Series, Index, array or scalar; naive means UTC) to float epoch seconds."""
    return epoch_ms(ts) / 1000.0


def user_time_keys(codes, ms) -> np.ndarray:
    """(user code, time in ms) as one sortable integer, so one ``searchsorted`` finds every
    user's events before a time (ms since 1970 stay below 2**42 until the year 2109).

    >>> (user_time_keys([0, 1], [5, 0]) > user_time_keys([0, 0], [4, 2**41])).tolist()
    [True, True]
    """
    return np.asarray(codes, dtype=np.int64) * (np.int64(1) << 42) + np.asarray(ms, dtype=np.int64)


def epoch_ms(ts) -> np.ndarray:
    """Timestamps to int64 milliseconds since 1970 (naive means UTC)."""
    if np.ndim(ts) == 0:
        ts = [ts]
    return pd.DatetimeIndex(pd.to_datetime(ts, utc=True)).as_unit("ms").asi8


# ---------------------------------------------------------------- context from events

@dataclass
class Context:
    """What features need besides the row itself: the catalog, user profiles and the
    positive interactions (for recent categories/items)."""

    items: pd.DataFrame  # index item_id: bunjang_lab.marketplace.state.catalog
    users: pd.DataFrame  # index user_id: gender, birth_year
    interactions: pd.DataFrame  # user_id, item_id, ts, type, weight, category (sorted by user, ts)

    @classmethod
    def from_events(cls, events: pd.DataFrame, type_weights=realtime.DEFAULT_TYPE_WEIGHTS) -> "Context":
        items = state.catalog(events)
        return cls(items, state.profiles(events), state.interactions(events, items, type_weights))

    @classmethod
    def from_snapshot(cls, snap: state.Snapshot) -> "Context":
        """The tables a :class:`~bunjang_lab.marketplace.state.Snapshot` already holds."""
        return cls(snap.listings.set_index("item_id"), snap.users.set_index("user_id")[["gender", "birth_year"]],
                   snap.interactions)


# ---------------------------------------------------------------- recent categories / items

def recent_snapshots(inter: pd.DataFrame, queries: pd.DataFrame, params=realtime.DEFAULT_PARAMS):
    """Top recent categories and items (lists of ``(key, weight)``) for each query row
    (``user_id``, ``ts``), from the interactions strictly before its time.

    Folds events with :func:`realtime.add`, exactly as serving does. Many rows share a
    state (a user's impressions between two clicks), so each query is first placed after
    the interactions before it (one vectorised search) and a state is only summarised
    where some query needs it: the Python loop runs once per interaction, not per row."""
    n = len(queries)
    empty = ([], [])
    # States are per user: folding only the queried users' interactions keeps a block of
    # requests from paying a pass over the whole log.
    inter = inter[inter["user_id"].astype(str).isin(queries["user_id"].astype(str).unique())]
    if n == 0 or inter.empty:
        return [[] for _ in range(n)], [[] for _ in range(n)]
    _, codes = np.unique(np.concatenate([inter["user_id"].astype(str).to_numpy(dtype=object),
                                         queries["user_id"].astype(str).to_numpy(dtype=object)]), return_inverse=True)
    e_codes, q_codes = codes[: len(inter)], codes[len(inter):]
    # interactions are sorted by user and time, so their keys are sorted too
    e_ms = epoch_ms(inter["ts"])
    e_key = user_time_keys(e_codes, e_ms)
    after = np.searchsorted(e_key, user_time_keys(q_codes, epoch_ms(queries["ts"])), side="left")  # strictly before
    has_history = after > np.searchsorted(e_key, user_time_keys(q_codes, 0), side="left")
    needed = np.zeros(len(inter) + 1, dtype=bool)
    needed[after[has_history]] = True
    needed = needed.tolist()
    e_ts = (e_ms / 1000.0).tolist()  # plain floats: states must be JSON-able
    e_items, e_cats, e_w = inter["item_id"].tolist(), inter["category"].tolist(), inter["weight"].tolist()
    n_cat, n_item = params["top_categories"], params["top_items"]
    snapshots = {}
    current, cats, items = None, None, None
    for pos, user in enumerate(e_codes.tolist()):
        if user != current:
            current, cats, items = user, realtime.new_state(), realtime.new_state()
        items = realtime.add(items, e_items[pos], e_w[pos], e_ts[pos], params)
        if isinstance(e_cats[pos], str):
            cats = realtime.add(cats, e_cats[pos], e_w[pos], e_ts[pos], params)
        if needed[pos + 1]:
            snapshots[pos + 1] = (realtime.top_weights(cats, n_cat), realtime.top_weights(items, n_item))
    found = [snapshots[a] if h else empty for a, h in zip(after.tolist(), has_history.tolist())]
    return [c for c, _ in found], [i for _, i in found]


def recent_states(inter: pd.DataFrame, until=None, params=realtime.DEFAULT_PARAMS) -> pd.DataFrame:
    """Each user's recent-category and recent-item states (``realtime`` dicts) after all their
    interactions before ``until``: what serving starts from (``users.parquet``)."""
    if until is not None:
        inter = inter[inter["ts"] < pd.Timestamp(until)]
    # interactions are sorted by user and time: one pass, timestamps converted once
    rows, user, cats, items = [], None, None, None
    for u, item, cat, w, ts in zip(inter["user_id"].tolist(), inter["item_id"].tolist(), inter["category"].tolist(),
                                   inter["weight"].tolist(), epoch_seconds(inter["ts"]).tolist()):
        if u != user:
            if user is not None:
                rows.append((user, cats, items))
            user, cats, items = u, realtime.new_state(), realtime.new_state()
        items = realtime.add(items, item, w, ts, params)
        if isinstance(cat, str):
            cats = realtime.add(cats, cat, w, ts, params)
    if user is not None:
        rows.append((user, cats, items))
    return pd.DataFrame(rows, columns=["user_id", "recent_categories", "recent_items"])


# ---------------------------------------------------------------- field frames

def user_frame(rows: pd.DataFrame, ctx: Context, params=realtime.DEFAULT_PARAMS, with_recent=True) -> pd.DataFrame:
    """User-side field values for rows (``user_id``, ``ts``, optional ``surface``)."""
    users = rows["user_id"].astype(str)
    prof = ctx.users.reindex(users)
    years = pd.to_datetime(rows["ts"], utc=True).dt.year.to_numpy()
    frame = pd.DataFrame({
        "user": users.to_numpy(),
        "gender": state.genders(prof["gender"]),
        "age_band": state.age_bands(prof["birth_year"].to_numpy(), years),
        "surface": (rows["surface"] if "surface" in rows else pd.Series(SCORING_SURFACE, index=rows.index)).fillna("unknown").astype(str).to_numpy(),
    })
    if with_recent:
        cats, items = recent_snapshots(ctx.interactions, rows, params)
    else:
        cats = items = [[] for _ in range(len(rows))]
    frame["recent_category"] = cats
    frame["recent_item"] = items
    return frame


def item_frame(item_ids, ts, ctx: Context, price_edges: dict) -> pd.DataFrame:
    """Item-side field values for items at times ``ts`` (scalar or one per item).

    Static attributes are computed once per distinct item, freshness once per row."""
    item_ids = np.asarray(item_ids).astype(str)
    unique, inverse = np.unique(item_ids, return_inverse=True)
    info = ctx.items.reindex(pd.Index(unique))
    static = pd.DataFrame({
        "item": unique,
        "seller": info["seller_id"].astype(object).to_numpy(),
        "brand": info["brand"].astype(object).to_numpy(),
        "category": [[(lvl, 1.0) for lvl in category_levels(c)] for c in info["category"]],
        "price_bucket": price_buckets(info["price"].to_numpy(dtype=float), info["category"].to_numpy(), price_edges),
    }).iloc[inverse].reset_index(drop=True)
    listed = np.full(len(unique), np.nan)
    known = info["listed_at"].notna().to_numpy()
    listed[known] = epoch_seconds(info["listed_at"][known])
    at = epoch_seconds(ts)
    age_h = (at - listed[inverse]) / 3600.0
    static["freshness"] = np.where(np.isnan(age_h), UNKNOWN, freshness_bucket(np.nan_to_num(age_h)))
    return static


def fit_price_edges(items: pd.DataFrame) -> dict:
    """Price quintile edges per leaf category (and ``""`` for all), from the training catalog."""
    qs = np.linspace(0, 1, PRICE_BUCKETS + 1)[1:-1]
    priced = items[items["price"].notna()]
    edges = {cat: np.quantile(g.to_numpy(dtype=float), qs).tolist() for cat, g in priced.groupby("category")["price"] if len(g) >= PRICE_BUCKETS}
    if len(priced):
        edges[""] = np.quantile(priced["price"].to_numpy(dtype=float), qs).tolist()
    return edges


def price_buckets(prices: np.ndarray, categories, edges: dict) -> np.ndarray:
    """``"q0"``..``"q4"`` within the leaf category (all prices for unseen categories); None if unpriced."""
    out = np.full(len(prices), None, dtype=object)
    categories = pd.Series(categories, dtype=object).fillna("")
    for cat, rows in categories.groupby(categories).indices.items():
        cut = edges.get(cat) or edges.get("")
        if cut is None:
            continue
        priced = rows[~np.isnan(prices[rows])]
        out[priced] = np.char.add("q", np.searchsorted(cut, prices[priced], side="right").astype(str)).astype(object)
    return out


# ---------------------------------------------------------------- the feature map

@dataclass
class FeatureMap:
    """Field vocabularies (``"field=value"`` -> column), kept with the model."""

    fields: tuple
    keys: list  # column -> key
    price_edges: dict
    recent_params: dict
    index: dict = field(default_factory=dict, repr=False)  # field -> (pd.Index of values, columns)

    def __post_init__(self):
        by_field: dict = {}
        for column, key in enumerate(self.keys):
            name, _, value = key.partition("=")
            by_field.setdefault(name, ([], []))
            by_field[name][0].append(value)
            by_field[name][1].append(column)
        self.index = {name: (pd.Index(values, dtype=object), np.asarray(cols)) for name, (values, cols) in by_field.items()}

    @property
    def n_features(self) -> int:
        return len(self.keys)

    @classmethod
    def fit(cls, frames, fields, price_edges, recent_params, min_count=2) -> "FeatureMap":
        """Vocabulary from training frames: values seen ``min_count`` times get a column;
        every field has an unknown slot first."""
        return cls._from_codes(_frame_codes(frames, fields), fields, price_edges, recent_params, min_count)

    @classmethod
    def fit_encode(cls, frames, fields, price_edges, recent_params, min_count=2, counted=None):
        """:meth:`fit` on the rows where the boolean mask ``counted`` is true (all by default)
        and :meth:`encode` of every row of the (aligned) frames, factorising each column
        once. Returns ``(feature_map, matrix)``."""
        coded = _frame_codes(frames, fields)
        fmap = cls._from_codes(coded, fields, price_edges, recent_params, min_count, counted)
        return fmap, fmap._encode(len(frames[0]), coded)

    @classmethod
    def _from_codes(cls, coded, fields, price_edges, recent_params, min_count, counted=None) -> "FeatureMap":
        keys = []
        for name in fields:
            counts = pd.Series(dtype=float)
            for field_name, rows, codes, uniques, _ in coded:
                if field_name != name:
                    continue
                if counted is not None:
                    codes = codes[counted[rows]]
                seen = pd.Series(np.bincount(codes[codes >= 0], minlength=len(uniques)),
                                 index=np.asarray(uniques, dtype=object).astype(str))
                counts = counts.add(seen.groupby(level=0).sum(), fill_value=0)
            keep = sorted(v for v, c in counts.items() if c >= min_count and v != UNKNOWN)
            keys += [f"{name}={UNKNOWN}"] + [f"{name}={v}" for v in keep]
        return cls(tuple(fields), keys, price_edges, dict(recent_params))

    def encode(self, *frames: pd.DataFrame) -> sp.csr_matrix:
        """Sum of the frames' one-hot / weighted multi-hot encodings (all frames aligned)."""
        return self._encode(len(frames[0]), _frame_codes(frames, self.fields))

    def _encode(self, n: int, coded) -> sp.csr_matrix:
        rows, cols, vals = [], [], []
        for name, r, codes, uniques, w in coded:
            values, columns = self.index[name]
            found = values.get_indexer(np.asarray(uniques, dtype=object))
            # one extra slot at the end: code -1 (missing) lands on the unknown column too
            unknown = columns[values.get_loc(UNKNOWN)]
            column_of = np.append(np.where(found >= 0, columns[found], unknown), unknown)
            rows.append(r), cols.append(column_of[codes]), vals.append(w)
        if not rows:
            return sp.csr_matrix((n, self.n_features))
        matrix = sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(n, self.n_features))
        matrix.sum_duplicates()
        return matrix

    def to_json(self) -> dict:
        return {"fields": list(self.fields), "keys": self.keys, "price_edges": self.price_edges, "recent_params": self.recent_params}

    @classmethod
    def from_json(cls, obj: dict) -> "FeatureMap":
        return cls(tuple(obj["fields"]), list(obj["keys"]), obj["price_edges"], obj["recent_params"])

    def save(self, path: Path) -> None:
        Path(path).write_text(json.dumps(self.to_json(), ensure_ascii=False), encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> "FeatureMap":
        return cls.from_json(json.loads(Path(path).read_text(encoding="utf-8")))


def _is_multi(column: pd.Series) -> bool:
    return column.dtype == object and len(column) > 0 and isinstance(column.iloc[0], list)


def _frame_codes(frames, fields) -> list:
    """``(field, *_codes(column))`` for every field present in each frame, frame by frame."""
    return [(name, *_codes(frame[name])) for frame in frames for name in fields if name in frame]


def _codes(column: pd.Series):
    """(rows, codes, uniques, weights): each entry's row, its value as an index into
    ``uniques`` (-1 when missing) and its weight. Factorising keeps the per-entry work in
    C (no Python string per row); only the distinct values are looked up."""
    if _is_multi(column):
        lists = column.tolist()
        # rows share list objects (a user's state between two interactions, an item's
        # category levels): flatten each distinct list once, then gather per row
        first, which = np.unique(np.fromiter(map(id, lists), dtype=np.uint64, count=len(lists)),
                                 return_index=True, return_inverse=True)[1:]
        distinct = [lists[i] for i in first.tolist()]
        pairs = list(itertools.chain.from_iterable(distinct))
        codes, uniques = pd.factorize(np.array([key for key, _ in pairs], dtype=object))
        weights = np.array([weight for _, weight in pairs], dtype=float)
        lengths = np.fromiter(map(len, distinct), dtype=np.int64, count=len(distinct))
        starts = np.cumsum(lengths) - lengths
        row_lengths = lengths[which]
        entries = np.repeat(starts[which] - (np.cumsum(row_lengths) - row_lengths), row_lengths) + np.arange(row_lengths.sum())
        return np.repeat(np.arange(len(lists)), row_lengths), codes[entries], uniques, weights[entries]
    codes, uniques = pd.factorize(column)
    return np.arange(len(column)), codes, uniques, np.ones(len(column))


# ---------------------------------------------------------------- training rows

def training_rows(events: pd.DataFrame, ctx: Context, until, impression_negatives: float = 3.0,
                  sampled_negatives: int = 2, seed: int = 0) -> pd.DataFrame:
    """Labelled rows (``user_id, item_id, ts, surface, label``) from events strictly before ``until``.

    Positives: interactions, repeated ``round(type weight)`` times (xlearn has no sample
    weights). Negatives: impressions the user never followed with an interaction on that
    item (at most ``impression_negatives`` per positive, sampled), plus ``sampled_negatives``
    items per positive drawn uniformly from the listings live at that moment.
    """
    rng = np.random.default_rng(seed)
    until = pd.Timestamp(until)
    inter = ctx.interactions[ctx.interactions["ts"] < until]
    repeats = np.clip(np.rint(inter["weight"].to_numpy()), 1, None).astype(int)
    pos = inter.loc[inter.index.repeat(repeats), ["user_id", "item_id", "ts", "surface"]].assign(label=1)

    imp = events[(events["type"] == IMPRESSION_TYPE) & (events["ts"] < until) & events["item_id"].notna()]
    imp = pd.DataFrame({"user_id": imp["user_id"].astype(str), "item_id": imp["item_id"].astype(str),
                        "ts": imp["ts"], "surface": state.column(imp, "surface")})
    clicked = pd.MultiIndex.from_frame(inter[["user_id", "item_id"]])
    imp = imp[~pd.MultiIndex.from_frame(imp[["user_id", "item_id"]]).isin(clicked)]
    limit = int(impression_negatives * len(inter))
    if len(imp) > limit:
        imp = imp.iloc[np.sort(rng.choice(len(imp), limit, replace=False))]

    sampled = _sample_live(inter, ctx.items, sampled_negatives, rng)
    rows = pd.concat([pos, imp.assign(label=0), sampled.assign(label=0)], ignore_index=True)
    return rows.sort_values("ts", kind="stable").reset_index(drop=True)


def _sample_live(inter: pd.DataFrame, items: pd.DataFrame, per_positive: int, rng) -> pd.DataFrame:
    """Items drawn uniformly among those live at each interaction's time (not the one chosen)."""
    if per_positive <= 0 or inter.empty or items.empty:
        return inter.iloc[:0][["user_id", "item_id", "ts", "surface"]]
    by_listing = items.sort_values("listed_at")
    listed = epoch_seconds(by_listing["listed_at"])
    ended = by_listing["ended_at"]
    ended = np.where(ended.isna(), np.inf, epoch_seconds(ended.fillna(pd.Timestamp(0, tz="UTC"))))
    ids = by_listing.index.to_numpy()
    ts = np.repeat(epoch_seconds(inter["ts"]), per_positive)
    n_listed = np.searchsorted(listed, ts, side="right")
    pick = np.minimum((rng.random(len(ts)) * n_listed).astype(np.int64), np.maximum(n_listed - 1, 0))
    chosen = np.repeat(inter["item_id"].to_numpy(), per_positive)
    ok = (n_listed > 0) & (ended[pick] > ts) & (ids[pick] != chosen)
    source = np.repeat(np.arange(len(inter)), per_positive)[ok]
    sampled = inter.iloc[source][["user_id", "ts", "surface"]].assign(item_id=ids[pick][ok])
    return sampled[["user_id", "item_id", "ts", "surface"]].reset_index(drop=True)
