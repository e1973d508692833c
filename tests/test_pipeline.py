"""The pipeline's task functions: landing pick-up, partitions and day resolution."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import fsspec
import pytest

from bunjang_lab import pipeline
from bunjang_lab.errors import MissingInput
from bunjang_lab.files import replace_folder


def _events(day: str, prefix: str, n: int = 3) -> str:
    rows = [
        {"event_id": f"{prefix}-{i}", "type": "search", "ts": f"{day}T0{i}:00:00+09:00", "user_id": f"u{i}", "query": "나이키"}
        for i in range(n)
    ]
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)


@pytest.fixture
def landing(tmp_path) -> Path:
    folder = tmp_path / "landing"
    folder.mkdir()
    (folder / "2026-03-01.jsonl").write_text(_events("2026-03-01", "a"), encoding="utf-8")
    (folder / "2026-03-02.jsonl").write_text(_events("2026-03-02", "b"), encoding="utf-8")
    (folder / ".half-written.jsonl").write_text("{", encoding="utf-8")  # a producer still writing
    (folder / "notes.txt").write_text("not events", encoding="utf-8")
    return folder


def test_ingest_landing_ingests_new_files_moves_them_aside_and_reports_the_days(landing, tmp_path):
    lake = tmp_path / "lake"
    first = pipeline.ingest_landing(str(landing), str(lake), "hour-01")

    assert (first["read"], first["accepted"], first["duplicates"], first["quarantined"]) == (6, 6, 0, 0)
    # the events are at 00:00-02:00 KST, which is the previous day in UTC
    assert first["dates"] == ["2026-02-28", "2026-03-01"]
    assert first["run_id"].startswith("hour-01-")
    processed = landing / "_processed" / first["run_id"]
    assert sorted(p.name for p in processed.iterdir()) == ["2026-03-01.jsonl", "2026-03-02.jsonl"]
    assert sorted(p.name for p in landing.iterdir()) == [".half-written.jsonl", "_processed", "notes.txt"]

    again = pipeline.ingest_landing(str(landing), str(lake), "hour-01")
    assert (again["files"], again["accepted"], again["dates"]) == ([], 0, [])


def test_a_file_dropped_again_is_counted_as_duplicates_not_ingested_twice(landing, tmp_path):
    lake = tmp_path / "lake"
    pipeline.ingest_landing(str(landing), str(lake), "hour-01")
    (landing / "replay.jsonl").write_text(_events("2026-03-01", "a"), encoding="utf-8")

    replay = pipeline.ingest_landing(str(landing), str(lake), "hour-02")

    assert (replay["read"], replay["accepted"], replay["duplicates"], replay["dates"]) == (3, 0, 3, [])


def test_a_missing_landing_folder_is_a_one_line_user_error(tmp_path):
    with pytest.raises(MissingInput, match="landing folder not found"):
        pipeline.ingest_landing(str(tmp_path / "nope"), str(tmp_path / "lake"), "hour-01")


def test_landing_under_a_url_prefix_is_picked_up_and_archived(tmp_path):
    fs = fsspec.filesystem("memory")
    fs.pipe("/landing-test/2026-03-01.jsonl", _events("2026-03-01", "m").encode())
    try:
        summary = pipeline.ingest_landing("memory://landing-test", str(tmp_path / "lake"), "hour-01")
        assert summary["accepted"] == 3
        assert pipeline.list_landing("memory://landing-test") == []
        assert fs.exists(f"/landing-test/_processed/{summary['run_id']}/2026-03-01.jsonl")
    finally:
        fs.rm("/landing-test", recursive=True)


def test_a_partition_whose_rebuild_fails_stays_as_it_was(tmp_path):
    """The pipeline swaps every partition in with files.replace_folder."""
    target = tmp_path / "runs" / "2026-03-01" / "fraud"
    replace_folder(target, lambda d: (d / "listings.parquet").write_text("v1"))

    def broken(staging: Path):
        (staging / "listings.parquet").write_text("half")
        raise RuntimeError("killed")

    with pytest.raises(RuntimeError):
        replace_folder(target, broken)

    assert (target / "listings.parquet").read_text() == "v1"
    assert sorted(p.name for p in target.parent.iterdir()) == ["fraud"]  # no staging left behind


def test_days_of_an_hourly_and_a_daily_interval():
    hour = pipeline.days_in_interval(datetime(2026, 3, 1, 23, tzinfo=timezone.utc), datetime(2026, 3, 2, tzinfo=timezone.utc))
    day = pipeline.days_in_interval(datetime(2026, 3, 1, tzinfo=timezone.utc), datetime(2026, 3, 2, tzinfo=timezone.utc))
    assert hour == day == ["2026-03-01"]


def test_resolve_days_prefers_the_param_then_the_triggering_assets_then_the_interval():
    assert pipeline.resolve_days(["2026-03-03"], [["2026-03-01"]], ["2026-03-05"]) == ["2026-03-03"]
    assert pipeline.resolve_days("", [["2026-03-02"], ["2026-03-01"]], ["2026-03-05"]) == ["2026-03-01", "2026-03-02"]
    assert pipeline.resolve_days(None, [], []) == []
    with pytest.raises(ValueError):
        pipeline.resolve_days("yesterday", [], [])


def test_landing_and_lake_both_on_object_storage(tmp_path):
    """The path to scale: the DAG Params take fsspec URLs for the landing folder and the lake."""
    from bunjang_lab.lake import read_events

    fs = fsspec.filesystem("memory")
    fs.pipe("/scale-landing/2026-03-01.jsonl", _events("2026-03-01", "s").encode())
    try:
        first = pipeline.ingest_landing("memory://scale-landing", "memory://scale-lake", "hour-01")
        fs.pipe("/scale-landing/again.jsonl", _events("2026-03-01", "s").encode())
        again = pipeline.ingest_landing("memory://scale-landing", "memory://scale-lake", "hour-02")

        assert (first["accepted"], first["dates"]) == (3, ["2026-02-28"])
        assert (again["accepted"], again["duplicates"]) == (0, 3)
        events = read_events("memory://scale-lake", types="search")
        assert sorted(events["event_id"]) == ["s-0", "s-1", "s-2"]
    finally:
        for root in ("/scale-landing", "/scale-lake"):
            if fs.exists(root):
                fs.rm(root, recursive=True)
