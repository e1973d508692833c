"""A synthetic run folder in the "Runs" contract, for serving tests and benchmarks.

Items alternate between two categories, ``shoes`` (even ids) and ``bags`` (odd ids), and
the FM factors are built so that taste follows the recent category: a user whose recent
categories are all shoes ranks shoes first, and clicking bags moves bags up.

>>> import tempfile, pyarrow.parquet as pq
>>> run = write_run(tempfile.mkdtemp(), users=4, items=10)
>>> pq.read_table(run / "products/home.parquet").num_rows
15
"""

from __future__ import annotations

import json
import random
from pathlib import Path

CATEGORIES = ("shoes", "bags")
DIM = 4


def item_id(n: int) -> str:
    return f"i{n}"


def user_id(n: int) -> str:
    return f"u{n}"


def category_of(n: int) -> str:
    return CATEGORIES[n % 2]


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
