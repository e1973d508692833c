"""publish/rollback of run folders and the cached lookups behind the score commands."""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from bunjang_lab.cli import UserError
from bunjang_lab.errors import InvalidInput, MissingInput
from bunjang_lab.serving import lookup
from bunjang_lab.serving.backends import open_cache
from bunjang_lab.serving.publish import publish_run, rollback, run as publish_command
from bunjang_lab.testing import write_run


@pytest.fixture
def published(cache_url, tmp_path):
    result = publish_run(write_run(tmp_path / "run-a"), cache_url)
    with open_cache(cache_url) as cache:
        yield cache, result


def home_of(run_dir, user: str) -> list[str]:
    table = pq.read_table(run_dir / "products/home.parquet").to_pylist()
    return [r["item_id"] for r in sorted(table, key=lambda r: r["rank"]) if r["user_id"] == user]


def test_publish_loads_every_part_of_the_run(published):
    cache, result = published
    assert result["version"] == 1 and result["run"] == "run-a"
    assert result["counts"] == {"home": 19, "candidates": 19, "popular": 4, "related": 40, "suggest": 2,
                                "users": 20, "fraud_flags": 1, "sellers": 0, "vectors": 1 + 4 + 20 + 40}
    with cache.snapshot() as snap:
        assert snap.get("_manifest")["counts"] == result["counts"]
        assert snap.get("uvec:u3") == [0.1, 0.0, 0.0, 0.0]
        assert snap.get("ivec:i3")["c"] == "bags"


def test_recommend_returns_the_published_feed_in_rank_order(published, tmp_path):
    cache, _ = published
    with cache.snapshot() as snap:
        answer = lookup.recommend(snap, "u2", k=3)
    assert answer["source"] == "personal"
    assert [i["item_id"] for i in answer["items"]] == home_of(tmp_path / "run-a", "u2")[:3]


def test_unknown_user_gets_segment_list_only_with_gender_or_birth_year(published):
    cache, _ = published
    with cache.snapshot() as snap:
        segment = lookup.recommend(snap, "newbie", k=5, gender="F", birth_year=2003, year=2026)
        global_ = lookup.recommend(snap, "newbie", k=5)
        no_such_segment = lookup.recommend(snap, "newbie", k=5, gender="M", birth_year=1950, year=2026)
        assert (segment["source"], segment["segment"]) == ("segment", "F|20s")
        assert segment["items"][0]["item_id"] == snap.get("pop:F|20s")[0][0]
        assert global_["source"] == no_such_segment["source"] == "global"


def test_fraud_flagged_items_never_appear(published):
    cache, _ = published
    with cache.snapshot() as snap:
        assert snap.get("flag:i1") is not None
        related = [i["item_id"] for n in range(40) if snap.get(f"rel:i{n}")
                   for i in lookup.related(snap, f"i{n}", k=20)["items"]]
        popular = [i["item_id"] for i in lookup.popular(snap, k=50)["items"]]
        assert related and "i1" not in related and "i1" not in popular


def test_popular_for_a_gender_alone_merges_its_segments(published):
    cache, _ = published
    with cache.snapshot() as snap:
        merged = lookup.popular(snap, gender="F", k=50)
        only_20s = dict(map(tuple, snap.get("pop:F|20s")))
        only_30s = dict(map(tuple, snap.get("pop:F|30s")))
        expected = {i: only_20s.get(i, 0) + only_30s.get(i, 0) for i in {*only_20s, *only_30s} if i != "i1"}
        assert merged["segment"] == "F|*"
        assert {i["item_id"]: i["score"] for i in merged["items"]} == pytest.approx(expected)
        with pytest.raises(InvalidInput, match="age band must be one of"):
            lookup.popular(snap, age_band="twenties")


def test_related_of_an_unknown_item_is_an_error_and_never_lists_itself(published):
    cache, _ = published
    with cache.snapshot() as snap:
        with pytest.raises(MissingInput, match="no related items for item 'nope'"):
            lookup.related(snap, "nope")
        assert all(i["item_id"] != "i5" for i in lookup.related(snap, "i5")["items"])


def test_suggest_matches_jamo_and_chosung_and_boosts_the_users_categories(published):
    cache, _ = published
    with cache.snapshot() as snap:
        assert [s["query"] for s in lookup.suggest(snap, "낭")["suggestions"]][:1] == ["나이키"]
        assert lookup.suggest(snap, "ㄴㅇㅋ")["suggestions"][0]["match"] == "chosung"
        assert lookup.suggest(snap, "zzz")["suggestions"] == []
        with pytest.raises(InvalidInput, match="empty"):
            lookup.suggest(snap, "  ")


def test_a_new_publish_replaces_lists_and_rollback_restores_them(cache_url, tmp_path):
    first = write_run(tmp_path / "run-a", seed=1)
    second = write_run(tmp_path / "run-b", seed=2)
    publish_run(first, cache_url)
    assert publish_run(second, cache_url)["version"] == 2
    with open_cache(cache_url) as cache:
        with cache.snapshot() as snap:
            assert [i["item_id"] for i in lookup.recommend(snap, "u2", k=5)["items"]] == home_of(second, "u2")
        assert rollback(cache_url) == {"from_version": 2, "version": 1, "run": "run-a"}
        with cache.snapshot() as snap:
            assert [i["item_id"] for i in lookup.recommend(snap, "u2", k=5)["items"]] == home_of(first, "u2")


def test_publish_keeps_only_the_requested_versions(cache_url, tmp_path):
    run = write_run(tmp_path / "run", users=3, items=6)
    for _ in range(4):
        result = publish_run(run, cache_url, keep=1)
    assert result["versions"] == [3, 4]


def test_bad_run_folders_are_one_line_errors_naming_the_file(cache_url, tmp_path):
    with pytest.raises(MissingInput, match="run folder not found"):
        publish_run(tmp_path / "absent", cache_url)
    (tmp_path / "empty").mkdir()
    with pytest.raises(MissingInput, match="holds no products/ or fraud/ results"):
        publish_run(tmp_path / "empty", cache_url)
    run = write_run(tmp_path / "broken", users=3, items=6)
    (run / "products/related.parquet").write_bytes(b"PAR1 truncated")
    with pytest.raises(InvalidInput, match="related.parquet: not a readable Parquet file"):
        publish_run(run, cache_url)
    pq.write_table(pa.table({"item_id": ["i1"], "rank": [1]}), run / "products/related.parquet")
    with pytest.raises(InvalidInput, match=r"related.parquet: missing column\(s\) related_item_id, score"):
        publish_run(run, cache_url)
    (run / "run.json").write_text("{not json")
    with pytest.raises(InvalidInput, match="run.json: invalid JSON"):
        publish_run(run, cache_url)
    with open_cache(cache_url, create=True) as cache:
        assert cache.versions() == []  # nothing half-published along the way


def test_publish_command_prints_the_result_and_rolls_back(cache_url, tmp_path, capsys):
    run = write_run(tmp_path / "run", users=3, items=6)
    assert publish_command([str(run), "--cache", cache_url]) == 0
    headline, header, *rows = capsys.readouterr().out.splitlines()
    assert headline.startswith("published run run as version 1 (current)") and header.split() == ["part", "keys"]
    assert rows and all(row.split()[-1].replace(",", "").isdigit() for row in rows)
    assert publish_command([str(run), "--cache", cache_url, "--json"]) == 0
    assert json.loads(capsys.readouterr().out.splitlines()[-1])["version"] == 2
    assert publish_command(["--rollback", "--cache", cache_url, "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"from_version": 2, "version": 1, "run": "run"}
    assert publish_command([str(run), "--cache", cache_url, "--json"]) == 0 and capsys.readouterr()
    assert publish_command(["--rollback", "--cache", cache_url]) == 0
    assert capsys.readouterr().out == "rolled back from version 3 to version 2 (run run)\n"
    with pytest.raises(UserError, match="either RUN_DIR or --rollback"):
        publish_command(["--cache", cache_url])


def test_item_categories_come_from_the_lake_when_the_export_has_none(tmp_path):
    from bunjang_lab.ingest import ingest_files

    run = write_run(tmp_path / "run", users=3, items=6, item_categories=False)
    listings = tmp_path / "listings.jsonl"
    listings.write_text("\n".join(json.dumps(
        {"event_id": f"l{n}", "type": "listing", "ts": "2026-11-01T00:00:00Z", "user_id": f"s{n}",
         "item_id": f"i{n}", "title": f"item {n}", "price": 1000, "category": "가방>백팩" if n % 2 else "신발>운동화"})
        for n in range(6)) + "\n", encoding="utf-8")
    lake = tmp_path / "lake"
    ingest_files([listings], lake, now="2026-11-02T00:00:00Z")
    (run / "run.json").write_text(json.dumps({"run_id": "run", "products": {"lake": str(lake)}}))
    url = f"sqlite:///{tmp_path / 'cache.sqlite'}"
    publish_run(run, url)
    with open_cache(url) as cache, cache.snapshot() as snap:
        assert [v["c"] for v in snap.get_many(["ivec:i0", "ivec:i1"])] == ["신발>운동화", "가방>백팩"]
