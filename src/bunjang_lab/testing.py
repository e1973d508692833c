"""Test data: synthetic marketplaces, a stand-in model and a run folder for tests, examples and benchmarks.

Nothing in the pipeline uses this module; the simulator (``simulate``) is the realistic
source of data. These builders are only fast, deterministic for a seed and sized on demand.

**A tiny marketplace for the ranker** (:func:`synthetic_events`), in the event contract.
Users prefer one or two top-level categories (tied to their gender), listings appear
over time and some sell; every day users see impressions of live listings and click,
favorite, chat and buy mostly inside their tastes.

>>> events = synthetic_events(n_users=5, n_items=20, days=3, seed=1)
>>> sorted(events["type"].unique())[:3]
['chat', 'click', 'favorite']

**A marketplace at any size** (:func:`market_events`) **and a stand-in FM model folder in
the real format** (:func:`write_random_model`). Used by ``benchmarks/products.py``
(10,000 users × 50,000 live listings) and the end-to-end tests: events follow the
contract of docs/architecture.md, so they go through the same snapshot, scorer and
writers as the lake's.

>>> events = market_events(users=50, listings=200, seed=1)
>>> sorted(events["type"].unique().tolist())
['click', 'favorite', 'listing', 'listing_status', 'purchase', 'search', 'signup']

**A run folder in the "Runs" contract** (:func:`write_run`), for serving tests and
benchmarks. Items alternate between two categories, ``shoes`` (even ids) and ``bags``
(odd ids), and the FM factors are built so that taste follows the recent category: a
user whose recent categories are all shoes ranks shoes first, and clicking bags moves
bags up.

>>> import tempfile, pyarrow.parquet as pq
>>> run = write_run(tempfile.mkdtemp(), users=4, items=10)
>>> pq.read_table(run / "products/home.parquet").num_rows
15
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pandas as pd


# ------------------------------------------------------- the ranker's tiny marketplace


EVENT_CATEGORIES = ("패션의류", "신발", "디지털", "가구", "도서", "스포츠")


def synthetic_events(n_users: int = 60, n_items: int = 300, days: int = 20, impressions_per_day: int = 12,
                     seed: int = 0, start: str = "2026-03-01") -> pd.DataFrame:
    """Events (columns as ``lake.read_events`` returns them) sorted by time."""
    rng = np.random.default_rng(seed)
    t0 = pd.Timestamp(start, tz="UTC")
    rows: list[dict] = []

    def add(type_, ts, user, **fields):
        rows.append({"event_id": f"e{len(rows)}", "type": type_, "ts": ts, "user_id": str(user), **fields})

    genders = rng.choice(["M", "F"], n_users)
    tastes = [rng.choice(len(EVENT_CATEGORIES), 2, replace=False) for _ in range(n_users)]
    for u in range(n_users):
        tastes[u][0] = (u % 3) + (0 if genders[u] == "M" else 3)  # gender/segment signal
        add("signup", t0 - pd.Timedelta(days=30), f"u{u}", gender=genders[u], birth_year=int(rng.integers(1965, 2008)))
    listed = np.sort(rng.random(n_items) * days * 1.2 - days * 0.3)  # some listed before the window
    item_cat = rng.integers(0, len(EVENT_CATEGORIES), n_items)
    quality = rng.normal(0, 1, n_items)
    sold_at = np.where(rng.random(n_items) < 0.3, np.minimum(listed + rng.random(n_items) * days, days - 0.01), np.inf)
    for i in range(n_items):
        cat = EVENT_CATEGORIES[item_cat[i]]
        add("listing", t0 + pd.Timedelta(days=float(listed[i])), f"u{rng.integers(n_users)}", item_id=f"i{i}",
            title=f"{cat} 상품 {i}", price=int(rng.integers(1, 100)) * 1000, category=f"{cat}>sub{i % 2}",
            brand=f"b{i % 7}")
        if np.isfinite(sold_at[i]):
            add("listing_status", t0 + pd.Timedelta(days=float(sold_at[i])), "system", item_id=f"i{i}", status="sold")
    for day in range(days):
        live = np.flatnonzero((listed <= day) & (sold_at > day))
        if not len(live):
            continue
        for u in range(n_users):
            if rng.random() < 0.3:
                continue
            shown = rng.choice(live, min(impressions_per_day, len(live)), replace=False)
            for position, i in enumerate(shown):
                ts = t0 + pd.Timedelta(days=day + rng.random())
                add("impression", ts, f"u{u}", item_id=f"i{i}", surface="home", position=position)
                liked = item_cat[i] in tastes[u]
                p_click = 1 / (1 + np.exp(-(2.5 * liked - 2.5 + 0.8 * quality[i] + 0.8 * (day - listed[i] < 2))))
                if rng.random() < p_click:
                    ts = ts + pd.Timedelta(minutes=1)
                    add("click", ts, f"u{u}", item_id=f"i{i}", surface="home")
                    if rng.random() < 0.3:
                        add("favorite", ts + pd.Timedelta(minutes=1), f"u{u}", item_id=f"i{i}", on=True)
                    if rng.random() < 0.15:
                        add("chat", ts + pd.Timedelta(minutes=2), f"u{u}", item_id=f"i{i}", to_user_id="seller", text="구매 가능한가요?")
                    if rng.random() < 0.05:
                        add("purchase", ts + pd.Timedelta(minutes=3), f"u{u}", item_id=f"i{i}", price=1000)
    events = pd.DataFrame(rows)
    events["ts"] = pd.to_datetime(events["ts"], utc=True).astype("datetime64[ms, UTC]")
    return events.sort_values("ts", kind="stable").reset_index(drop=True)


# ----------------------------------------------------------- a marketplace at any size


TOPS = ["패션의류", "신발", "가방", "디지털", "스포츠", "스타굿즈", "키덜트", "도서", "뷰티", "가구", "유아동", "반려동물"]
LEAVES = ["A", "B", "C", "D", "E"]
SYLLABLES = list("가나다라마바사아자차카타파하고노도로모보소오조코토포호구누두루무부수우주쿠투푸후")
DAYS = 30


def _word(rng, n) -> str:
    return "".join(rng.choice(SYLLABLES, n))


def market_events(users: int, listings: int, seed: int = 0, clicks_per_user: int = 30,
                  now: str = "2026-03-31T00:00:00Z") -> pd.DataFrame:
    """Signups, listings (≈1/6 of them sold, reserved or removed later), sessions of clicks
    mostly in each user's two favourite categories, favorites, purchases and searches."""
    rng = np.random.default_rng(seed)
    end = pd.Timestamp(now)
    span = pd.Timedelta(days=DAYS).total_seconds()
    leaves = [f"{t}>{leaf}" for t in TOPS for leaf in LEAVES]
    vocab = {c: [_word(rng, 2) for _ in range(12)] for c in leaves}
    brands = {t: [_word(rng, 3) for _ in range(6)] for t in TOPS}
    user_ids = np.array([f"u{i}" for i in range(users)])

    item_ids = np.array([f"i{i}" for i in range(listings)])
    item_cat = rng.integers(0, len(leaves), listings)
    sellers = user_ids[rng.integers(0, users, listings)]
    listed = end - pd.to_timedelta(rng.uniform(0, span, listings), unit="s")
    titles, item_brands = [], []
    for c in item_cat:
        leaf = leaves[c]
        brand = brands[leaf.split(">")[0]][rng.integers(6)]
        titles.append(f"{brand} {' '.join(rng.choice(vocab[leaf], 2))} {rng.integers(100, 300)}")
        item_brands.append(brand)
    prices = np.round(np.exp(rng.normal(11 + item_cat % 5 * 0.3, 0.8, listings)), -2).astype(int)
    frames = [
        pd.DataFrame({"type": "signup", "user_id": user_ids, "ts": end - pd.Timedelta(days=DAYS + 1),
                      "gender": rng.choice(np.array(["M", "F", None], dtype=object), users, p=[0.45, 0.45, 0.1]),
                      "birth_year": pd.array(np.where(rng.random(users) < 0.1, np.nan, rng.integers(1965, 2010, users)), dtype="Int64")}),
        pd.DataFrame({"type": "listing", "user_id": sellers, "ts": listed, "item_id": item_ids, "title": titles,
                      "category": np.array(leaves)[item_cat], "brand": item_brands, "price": prices}),
    ]
    ended = rng.random(listings) < 1 / 6
    frames.append(pd.DataFrame({"type": "listing_status", "user_id": sellers[ended], "item_id": item_ids[ended],
                                "ts": listed[ended] + (end - listed[ended]) * rng.uniform(0.1, 0.9, ended.sum()),
                                "status": rng.choice(["sold", "reserved", "removed"], ended.sum())}))

    by_cat = pd.Series(np.arange(listings)).groupby(item_cat).apply(lambda s: s.to_numpy()).to_dict()
    taste = rng.integers(0, len(leaves), (users, 2))
    n_clicks = users * clicks_per_user
    session = np.arange(n_clicks) // 5  # a user's clicks come in sessions of 5 within minutes
    who = rng.integers(0, users, session[-1] + 1)[session]
    own_cat = np.where(rng.random(n_clicks) < 0.8, taste[who, rng.integers(0, 2, n_clicks)], rng.integers(0, len(leaves), n_clicks))
    what = np.array([by_cat[c][rng.integers(len(by_cat[c]))] if c in by_cat else rng.integers(listings) for c in own_cat])
    when = (end - pd.to_timedelta(rng.uniform(0, span, session[-1] + 1), unit="s"))[session]
    when = when + pd.to_timedelta(rng.uniform(0, 600, n_clicks), unit="s")
    clicks = pd.DataFrame({"user_id": user_ids[who], "item_id": item_ids[what], "ts": when})
    clicks = clicks[clicks["ts"] >= listed[what]]
    frames.append(clicks.assign(type="click"))
    fav = clicks.sample(frac=0.1, random_state=seed)
    frames.append(fav.assign(type="favorite", ts=fav["ts"] + pd.Timedelta(seconds=30)))
    bought = clicks.sample(frac=0.01, random_state=seed + 1).drop_duplicates("item_id")
    frames.append(bought.assign(type="purchase", ts=bought["ts"] + pd.Timedelta(minutes=5), price=1000))

    n_search = users * 5
    searcher = rng.integers(0, users, n_search)
    leaf_of = taste[searcher, 0]
    queries = [vocab[leaves[c]][rng.integers(12)] if rng.random() < 0.5 else brands[leaves[c].split(">")[0]][rng.integers(6)]
               for c in leaf_of]
    frames.append(pd.DataFrame({"type": "search", "user_id": user_ids[searcher], "query": queries,
                                "ts": end - pd.to_timedelta(rng.uniform(0, span, n_search), unit="s")}))
    events = pd.concat(frames, ignore_index=True)
    events["ts"] = events["ts"].dt.floor("ms")  # the lake's precision
    events = events.sort_values("ts", kind="stable", ignore_index=True)
    events["event_id"] = [f"e{i}" for i in range(len(events))]
    return events


def write_random_model(events: pd.DataFrame, model_dir, k: int = 16, seed: int = 0) -> Path:
    """A model folder (``model.txt``, ``feature_map.json``, ``meta.json``) with random FM
    parameters over the full feature map of ``events``: the real scoring cost, no training."""
    from bunjang_lab.ranking import features as F
    from bunjang_lab.ranking import realtime

    rng = np.random.default_rng(seed)
    ctx = F.Context.from_events(events)
    at = events["ts"].max()
    users = F.user_frame(pd.DataFrame({"user_id": ctx.users.index, "ts": at}), ctx, with_recent=False)
    users["recent_category"] = [[(c, 1.0)] for c in rng.choice(ctx.items["category"].dropna().unique(), len(users))]
    users["recent_item"] = [[(i, 1.0)] for i in rng.choice(ctx.items.index, len(users))]
    edges = F.fit_price_edges(ctx.items)
    items = F.item_frame(ctx.items.index, at, ctx, edges)
    fmap = F.FeatureMap.fit([users, items], F.FULL_FIELDS, edges, realtime.DEFAULT_PARAMS, min_count=1)
    out = Path(model_dir)
    out.mkdir(parents=True, exist_ok=True)
    fmap.save(out / "feature_map.json")
    lines = [f"bias: {rng.normal(0, 0.1):.6f}"]
    lines += [f"i_{j}: {w:.6f}" for j, w in enumerate(rng.normal(0, 0.1, fmap.n_features))]
    lines += [f"v_{j}: " + " ".join(f"{x:.6f}" for x in row) for j, row in enumerate(rng.normal(0, 0.1, (fmap.n_features, k)))]
    (out / "model.txt").write_text("\n".join(lines) + "\n", encoding="ascii")
    (out / "meta.json").write_text(json.dumps({"version": f"random-{seed}", "k": k}), encoding="utf-8")
    return out


# ---------------------------------------------------------------- a serving run folder


RUN_CATEGORIES = ("shoes", "bags")
DIM = 4


def item_id(n: int) -> str:
    return f"i{n}"


def user_id(n: int) -> str:
    return f"u{n}"


def category_of(n: int) -> str:
    return RUN_CATEGORIES[n % 2]


def write_run(run_dir, users: int = 20, items: int = 40, home_size: int = 5, candidates: int = 10,
              related: int = 5, seed: int = 0, item_categories: bool = True, dim: int = DIM) -> Path:
    """Write products/*.parquet, products/vectors/ and fraud/*.parquet; returns the folder.

    Every user starts with shoes as their recent category and a home feed of shoes; item
    ``i1`` is flagged as fraud and user ``u0`` is absent from ``home`` (a cold user).
    Without ``item_categories`` the item export has no ``category`` column (as the ranker's
    export writes it), so publish must find categories in the lake.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = random.Random(seed)
    run = Path(run_dir)
    (run / "products/vectors").mkdir(parents=True, exist_ok=True)
    (run / "fraud").mkdir(parents=True, exist_ok=True)
    shoes = [n for n in range(items) if category_of(n) == "shoes"]
    every = list(range(items))

    def write(name: str, rows: dict) -> None:
        pq.write_table(pa.table(rows), run / name)

    home = {"user_id": [], "rank": [], "item_id": [], "score": [], "source": []}
    cand = {"user_id": [], "item_id": []}
    for u in range(1, users):
        for rank, n in enumerate(rng.sample(shoes, min(home_size, len(shoes))), 1):
            home["user_id"].append(user_id(u)); home["rank"].append(rank)
            home["item_id"].append(item_id(n)); home["score"].append(1.0 / rank); home["source"].append("personal")
        for n in rng.sample(every, min(candidates, items)):
            cand["user_id"].append(user_id(u)); cand["item_id"].append(item_id(n))
    write("products/home.parquet", home)
    write("products/candidates.parquet", cand)
    pop = {"segment": [], "rank": [], "item_id": [], "score": []}
    for segment, offset in (("all", 0), ("F|20s", 1), ("M|20s", 2), ("F|30s", 3)):
        for rank in range(1, 11):
            pop["segment"].append(segment); pop["rank"].append(rank)
            pop["item_id"].append(item_id((offset + rank * 3) % items)); pop["score"].append(round(10.0 / rank, 3))
    write("products/popular.parquet", pop)
    rel = {"item_id": [], "rank": [], "related_item_id": [], "score": []}
    for n in every:
        for rank, m in enumerate(sorted(set(rng.sample(every, min(related + 1, items))) - {n})[:related], 1):
            rel["item_id"].append(item_id(n)); rel["rank"].append(rank)
            rel["related_item_id"].append(item_id(m)); rel["score"].append(round(1.0 / rank, 3))
    write("products/related.parquet", rel)
    from bunjang_lab.products.suggest_match import keys as suggest_keys

    queries = {"나이키": (10.0, {"shoes": 1.0}), "나이키 덩크": (4.0, {"shoes": 1.0}),
               "노스페이스": (8.0, {"bags": 1.0}), "Nike Air": (3.0, {"shoes": 1.0})}
    sug = {"bucket": [], "query": [], "keystrokes": [], "chosung": [], "score": [], "categories": []}
    for query, (score, categories) in queries.items():
        for column, value in suggest_keys(query).items():
            sug[column].append(value)
        sug["score"].append(score); sug["categories"].append(json.dumps(categories))
    write("products/suggest.parquet", sug)
    state = json.dumps({"at": 1_700_000_000.0, "weights": {"shoes": 1.0}})
    write("products/users.parquet", {
        "user_id": [user_id(u) for u in range(users)], "segment": ["F|20s"] * users,
        "recent_categories": [state] * users, "recent_items": [json.dumps({"at": None, "weights": {}})] * users})
    # The ranker's export_vectors format. Taste lives in the first two dimensions: shoes
    # along 0, bags along 1, and the recent-category factors point the user that way.
    pad = [0.0] * (dim - 2)
    axis = {"shoes": [1.0, 0.0, *pad], "bags": [0.0, 1.0, *pad]}
    write("products/vectors/users.parquet", {"user_id": [user_id(u) for u in range(users)],
                                             "vector": [[0.1, 0.0, *pad]] * users, "bias": [0.0] * users})
    item_table = {"item_id": [item_id(n) for n in every], "vector": [axis[category_of(n)] for n in every],
                  "bias": [round(rng.uniform(0, 0.01), 4) for _ in every]}
    if item_categories:
        item_table["category"] = [category_of(n) for n in every]
    write("products/vectors/items.parquet", item_table)
    write("products/vectors/factors.parquet", {
        "key": ["recent_category=shoes", "recent_category=bags", "recent_category=__unknown__", "recent_item=__unknown__"],
        "vector": [[1.0, 0.0, *pad], [0.0, 3.0, *pad], [0.0] * dim, [0.0] * dim]})
    from bunjang_lab.ranking.realtime import DEFAULT_PARAMS

    (run / "products/vectors/meta.json").write_text(json.dumps({"model_version": "synthetic", "k": dim,
                                                                "recent_params": DEFAULT_PARAMS}))
    write("fraud/listings.parquet", {"item_id": [item_id(n) for n in every], "seller_id": [f"s{n % 7}" for n in every],
                                     "risk": [0.99 if n == 1 else 0.01 for n in every], "flagged": [n == 1 for n in every],
                                     "reasons": ["[]"] * items})
    (run / "run.json").write_text(json.dumps({"run_id": run.name}))
    return run
