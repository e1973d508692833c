"""`recommend` end to end: JSON Lines -> ingest -> lake -> FM model folder -> RUN_DIR/products."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from bunjang_lab.__main__ import COMMANDS
from bunjang_lab.cli import main
from bunjang_lab.errors import MissingInput
from bunjang_lab.ingest import ingest_files
from bunjang_lab.testing import market_events, write_random_model

CONTRACT = {
    "home": ["user_id", "rank", "item_id", "score", "source", "why"], "candidates": ["user_id", "item_id", "why"],
    "popular": ["segment", "rank", "item_id", "score"], "related": ["item_id", "rank", "related_item_id", "score", "why"],
    "suggest": ["bucket", "query", "keystrokes", "chosung", "score", "categories"],
    "users": ["user_id", "segment", "recent_categories", "recent_items"],
    "items": ["item_id", "title", "category", "price", "listed_at"],
}


@pytest.fixture(scope="module")
def market(tmp_path_factory):
    root = tmp_path_factory.mktemp("market")
    events = market_events(users=80, listings=400, seed=3)
    with open(root / "events.jsonl", "w", encoding="utf-8") as out:
        for row in events.to_dict("records"):
            row = {k: v for k, v in row.items() if v is not None and not (isinstance(v, float) and pd.isna(v)) and v is not pd.NA}
            row["ts"] = row["ts"].isoformat()
            row.update({k: int(row[k]) for k in ("price", "birth_year") if k in row})  # NaN made them floats
            out.write(json.dumps(row, ensure_ascii=False, default=int) + "\n")
    stats = ingest_files([root / "events.jsonl"], str(root / "lake"))
    assert stats["quarantined"] == 0, stats
    model = write_random_model(events, root / "models" / "m1")
    return root, events, model


def recommend(*argv) -> int:
    return main("python -m bunjang_lab", "", COMMANDS, ["recommend", *map(str, argv)])


def test_recommend_writes_every_product_in_the_run_format(market, tmp_path, capsys):
    root, events, model = market
    out = tmp_path / "run"
    assert recommend("--lake", root / "lake", "--model", model, "--out", out, "--json") == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    for name, columns in CONTRACT.items():
        table = pd.read_parquet(out / "products" / f"{name}.parquet")
        assert list(table.columns) == columns and len(table) > 0, name
        assert summary["rows"][name] == len(table)
    assert {"users.parquet", "items.parquet", "factors.parquet", "meta.json"} <= {p.name for p in (out / "products" / "vectors").iterdir()}
    assert recommend("--lake", root / "lake", "--model", model, "--out", out) == 0
    table = capsys.readouterr().out.splitlines()  # for people: the same counts as a table
    assert table[0].startswith("products of model random-0") and table[1].split() == ["product", "rows"]
    assert {line.split()[0]: int(line.split()[1].replace(",", "")) for line in table[2:]} == summary["rows"]
    run = json.loads((out / "run.json").read_text())
    assert run["products"]["model"] == "random-0" and run["products"]["now"] == events["ts"].max().isoformat()

    home = pd.read_parquet(out / "products" / "home.parquet")
    ended = set(events.loc[events["type"] == "listing_status", "item_id"]) | set(events.loc[events["type"] == "purchase", "item_id"])
    assert ended.isdisjoint(home["item_id"])
    sellers = events[events["type"] == "listing"].set_index("item_id")["user_id"]
    assert (home["item_id"].map(sellers) != home["user_id"]).all()
    assert home.groupby("user_id")["item_id"].apply(lambda s: s.map(sellers).value_counts().max()).max() <= 3
    assert home.groupby("user_id").size().max() == 50


def test_flagged_listings_from_the_fraud_step_are_excluded(market, tmp_path, capsys):
    root, _, model = market
    out = tmp_path / "run"
    assert recommend("--lake", root / "lake", "--model", model, "--out", out) == 0
    home = pd.read_parquet(out / "products" / "home.parquet")
    flagged = home["item_id"].value_counts().index[:3].tolist()  # the most recommended items
    (out / "fraud").mkdir()
    pd.DataFrame({"item_id": flagged + ["other"], "seller_id": "s", "risk": 0.9, "flagged": [True, True, True, False],
                  "reasons": "[]"}).to_parquet(out / "fraud" / "listings.parquet")
    assert recommend("--lake", root / "lake", "--model", model, "--out", out) == 0  # re-run replaces products/
    products = out / "products"
    for name, column in (("home", "item_id"), ("popular", "item_id"), ("related", "related_item_id"), ("candidates", "item_id")):
        assert set(flagged).isdisjoint(pd.read_parquet(products / f"{name}.parquet")[column]), name
    assert json.loads((out / "run.json").read_text())["products"]["flagged_listings"] == 3
    assert not [p for p in out.iterdir() if p.name.startswith(".products")]


def test_now_moves_the_state_of_the_lake_back(market, tmp_path, capsys):
    root, events, model = market
    now = events["ts"].min() + (events["ts"].max() - events["ts"].min()) / 2
    assert recommend("--lake", root / "lake", "--model", model, "--out", tmp_path / "run", "--now", now.isoformat()) == 0
    home = pd.read_parquet(tmp_path / "run" / "products" / "home.parquet")
    listed = events[events["type"] == "listing"].set_index("item_id")["ts"]
    assert (home["item_id"].map(listed) <= now).all()


@pytest.mark.parametrize("args, message", [
    (["--model", "{root}/models/nope"], "no trained model"),
    (["--lake", "{root}/nolake"], "no event lake"),
    (["--now", "yesterday-ish"], "not a timestamp"),
    (["--now", "2001-01-01"], "no events in"),
    (["--category-cap", "0"], "--category-cap must be at least 1"),
])
def test_user_mistakes_are_one_line_errors(market, tmp_path, capsys, args, message):
    root, _, model = market
    base = {"--lake": str(root / "lake"), "--model": str(model), "--out": str(tmp_path / "run")}
    base.update(dict(zip(args[::2], [a.format(root=root) for a in args[1::2]])))
    assert recommend(*[x for kv in base.items() for x in kv]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert not (tmp_path / "run" / "products").exists()


def test_fm_scores_from_the_products_recent_states_equal_the_rankers_own_user_parts(market):
    from bunjang_lab.marketplace.state import snapshot
    from bunjang_lab.products.feed_ranker import load_feed_ranker
    from bunjang_lab.ranking.features import recent_states

    _, events, model = market
    snap = snapshot(events, now=events["ts"].max() + pd.Timedelta(seconds=1))
    fast = load_feed_ranker(model, snap, recent=recent_states(snap.interactions))
    plain = load_feed_ranker(model, snap)
    users = snap.users["user_id"].to_numpy()[:40].repeat(5)
    items = snap.live["item_id"].to_numpy()[: len(users)]
    assert abs(fast.score(users, items) - plain.score(users, items)).max() < 1e-9


def test_products_over_user_shards_equal_the_unsharded_products(market, tmp_path):
    from bunjang_lab.products import recommend as products

    root, _, model = market
    whole, sharded = tmp_path / "whole", tmp_path / "sharded"
    expected = products.compute_products(root / "lake", model, whole)
    products.compute_shared_products(root / "lake", sharded)
    parts = [products.compute_user_shard(root / "lake", model, sharded, n, 3) for n in range(3)]
    got = products.merge_product_shards(root / "lake", sharded, 3)

    shard_users = [set(pd.read_parquet(f"{p}/users.parquet")["user_id"]) for p in parts]
    assert all(shard_users) and sum(map(len, shard_users)) == len(set().union(*shard_users))  # disjoint, none empty
    assert got["rows"] == expected["rows"] and got["now"] == expected["now"] and got["shards"] == 3
    for name in products.TABLES:
        a = pd.read_parquet(whole / "products" / f"{name}.parquet")
        if name in products.USER_TABLES:
            a = a.sort_values("user_id", kind="stable", ignore_index=True)
        pd.testing.assert_frame_equal(pd.read_parquet(sharded / "products" / f"{name}.parquet"), a, obj=name)
    for name in ("users", "items", "factors"):
        a = pd.read_parquet(whole / "products" / "vectors" / f"{name}.parquet")
        if name == "users":
            a = a.sort_values("user_id", kind="stable", ignore_index=True)
        b = pd.read_parquet(sharded / "products" / "vectors" / f"{name}.parquet")
        assert a.drop(columns="vector").equals(b.drop(columns="vector")), name
        assert all((x == y).all() for x, y in zip(a["vector"], b["vector"])), name
    with pytest.raises(MissingInput):
        products.merge_product_shards(root / "lake", sharded, 4)  # a shard of a 4-way split was never computed


def test_products_count_their_steps_on_a_terminal(market, tmp_path, monkeypatch):
    import io
    import sys

    from bunjang_lab.products.recommend import compute_products

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    root, _, model = market
    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    compute_products(root / "lake", model, tmp_path / "run")
    drawn = terminal.getvalue()
    assert "products:" in drawn and "8/8 [" in drawn and "related computed" in drawn and "written" in drawn
