"""The lake: read_events filters and pruning, fsspec URLs, atomic writes, manifests and quarantine."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from pathlib import Path

import fsspec
import pandas as pd
import pyarrow as pa
import pytest

from bunjang_lab import lake as lakelib
from bunjang_lab.events import to_epoch_ms
from bunjang_lab.ingest import ingest_files
from bunjang_lab.lake import lake_summary, manifest_table, read_events, read_manifests, read_quarantine

NOW = "2026-11-26T00:00:00Z"


def jsonl(path: Path, records) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    return path


def sample(tmp_path: Path) -> list[dict]:
    records = []
    for day in range(1, 5):
        for hour in (0, 23):
            ts = f"2026-11-0{day}T{hour:02d}:30:00Z"
            records += [
                {"event_id": f"c{day}{hour}", "type": "click", "ts": ts, "user_id": "u1", "item_id": f"i{day}", "surface": "home"},
                {"event_id": f"s{day}{hour}", "type": "search", "ts": ts, "user_id": "u2", "query": "맥북"},
                {"event_id": f"l{day}{hour}", "type": "listing", "ts": ts, "user_id": "u3", "item_id": f"i{day}{hour}",
                 "title": "맥북 에어", "price": 900000 + day, "category": "디지털>노트북", "utm": "x"},
            ]
    jsonl(tmp_path / "events.jsonl", records)
    return records


@pytest.fixture()
def lake(tmp_path):
    sample(tmp_path)
    ingest_files([tmp_path / "events.jsonl"], tmp_path / "lake", now=NOW, run_id="r1")
    return tmp_path / "lake"


def test_read_everything_with_contract_columns_and_dtypes(lake):
    frame = read_events(lake)
    assert len(frame) == 24
    assert frame.columns.tolist() == lakelib.columns_for(None)
    assert str(frame["ts"].dtype) == "datetime64[ms, UTC]"
    assert frame["ts"].is_monotonic_increasing
    assert str(frame["price"].dtype) == "Int64" and str(frame["on"].dtype) == "boolean"
    listing = frame[frame["type"] == "listing"].iloc[0]
    assert json.loads(listing["extra"]) == {"utm": "x"} and listing["category"] == "디지털>노트북"


def test_types_and_time_window(lake):
    clicks = read_events(lake, types=["click"], start="2026-11-02", end=dt.datetime(2026, 11, 3, 23, 30, tzinfo=dt.timezone.utc))
    assert clicks["event_id"].tolist() == ["c20", "c223", "c30"]  # start inclusive, end exclusive
    assert clicks.columns.tolist() == ["event_id", "type", "ts", "user_id", "item_id", "surface", "extra"]
    naive_is_utc = read_events(lake, types="search", start=pd.Timestamp("2026-11-04 23:30"))
    assert naive_is_utc["event_id"].tolist() == ["s423"]
    kst = read_events(lake, types="search", end="2026-11-01T09:30:00+09:00")
    assert kst["event_id"].tolist() == []
    chosen = read_events(lake, types=["listing", "search"], columns=["event_id", "price"])
    assert chosen.columns.tolist() == ["event_id", "price"] and chosen["price"].notna().sum() == 8


def test_partitions_outside_the_filter_are_not_opened(lake):
    broken = next((lake / "events" / "type=click" / "date=2026-11-01").glob("*.parquet"))
    broken.write_bytes(b"not parquet")
    assert len(read_events(lake, types=["search"])) == 8
    assert len(read_events(lake, types=["click"], start="2026-11-02")) == 6
    with pytest.raises(Exception):
        read_events(lake, types=["click"])


@pytest.mark.parametrize("types", [None, ["chat"], "signup"])
def test_empty_lake_and_no_match_give_empty_frames_with_the_columns(tmp_path, lake, types):
    empty = read_events(tmp_path / "nothing-here", types=types)
    assert empty.empty and empty.columns.tolist() == lakelib.columns_for([types] if isinstance(types, str) else types)
    assert str(empty["ts"].dtype) == "datetime64[ms, UTC]"
    none = read_events(lake, types=types, start="2030-01-01")
    assert none.empty and none.columns.tolist() == empty.columns.tolist()


def test_bad_arguments(lake):
    with pytest.raises(ValueError, match="unknown event types"):
        read_events(lake, types=["clicks"])
    with pytest.raises(ValueError, match="no such columns"):
        read_events(lake, types=["click"], columns=["price"])


def test_ingest_and_read_on_an_fsspec_memory_lake(tmp_path):
    sample(tmp_path)
    url = f"memory://lake-{uuid.uuid4().hex}"
    try:
        stats = ingest_files([tmp_path / "events.jsonl"], url, now=NOW)
        assert stats["accepted"] == 24
        assert len(read_events(url, types=["listing"], start="2026-11-03")) == 4
        assert ingest_files([tmp_path / "events.jsonl"], url, now=NOW)["duplicates"] == 24
        assert [m["accepted"] for m in read_manifests(url)] == [24, 0]
        fs, root = lakelib.filesystem(url)
        assert not fs.find(f"{root}/{lakelib.TMP}")
    finally:
        fsspec.filesystem("memory").rm(url.removeprefix("memory://"), recursive=True)


def test_what_a_killed_run_left_is_ignored_then_discarded(lake):
    """Files of a run without a manifest: a temporary file, a published part, its quarantine."""
    leftovers = [lake / lakelib.TMP / "dead.parquet", lake / lakelib.QUARANTINE / "killed.jsonl"]
    for path in leftovers:
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(b"half a file")
    clicks = pa.Table.from_pandas(read_events(lake, types=["click"]), preserve_index=False)
    killed = lakelib.write_events(lake, clicks, run_id="killed")
    leftovers += [Path(part["path"]) for part in killed]
    assert len(read_events(lake)) == 24 and read_quarantine(lake).empty
    assert lakelib.discard_unfinished(lake) == len(leftovers) and not any(p.exists() for p in leftovers)
    assert len(read_events(lake)) == 24 and lakelib.discard_unfinished(lake) == 0


def test_manifests_summary_and_quarantine(tmp_path, lake):
    jsonl(tmp_path / "more.jsonl", [{"event_id": "c10", "type": "click", "ts": "2026-11-01T10:00:00Z", "user_id": "u"},
                                    {"event_id": "c10", "type": "click", "ts": "2026-11-01T10:00:00Z", "user_id": "u", "item_id": "i"},
                                    {"event_id": "n1", "type": "search", "ts": "2026-11-01T10:00:00Z", "user_id": "u", "query": "x"}])
    ingest_files([tmp_path / "more.jsonl"], lake, now=NOW, run_id="r1")  # the id is taken: suffixed
    runs = read_manifests(lake)
    assert [m["run_id"] for m in runs] == ["r1", "r1.2"]
    assert runs[1]["parts"][0]["type"] == "search" and runs[1]["max_ts_ms"]["search"] == to_epoch_ms("2026-11-01T10:00:00Z")
    assert manifest_table(lake)[["run_id", "accepted", "duplicates", "quarantined", "files"]].values.tolist() == [
        ["r1", 24, 0, 0, 1], ["r1.2", 1, 1, 1, 1]]
    summary = lake_summary(lake)
    assert (summary["runs"], summary["accepted"], summary["by_reason"]) == (2, 25, {"missing_field": 1})
    quarantined = read_quarantine(lake)
    assert quarantined[["run_id", "line", "reason", "field"]].values.tolist() == [["r1.2", 1, "missing_field", "item_id"]]
    assert read_quarantine(lake, run_id="r1").empty
