"""Ingestion: every rejection reason, reconciliation, idempotency, fast/exact agreement, the CLI."""

from __future__ import annotations

import gzip
import io
import json
import mmap
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bunjang_lab.errors import InvalidInput
from bunjang_lab.events import TS_PATTERN, to_epoch_ms
from bunjang_lab.fraud.mask import mask
from bunjang_lab.ingest import exact, fast, ingest_files, masks, reading, timestamps
from bunjang_lab.lake import read_events, read_manifests, read_quarantine

REPO_ROOT = Path(__file__).resolve().parents[1]
TS_RE = re.compile(TS_PATTERN)
NOW = "2026-11-26T00:00:00Z"
KINDS = {
    "signup": {"gender": "M", "birth_year": 1990},
    "listing": {"item_id": "i1", "title": "아이폰 15 프로 256기가", "price": 1_050_000, "category": "디지털>휴대폰",
                "images": ["images/i1.jpg", "./images/i1-2.jpg", "https://cdn.example/x.jpg"]},
    "listing_status": {"item_id": "i1", "status": "reserved"},
    "impression": {"item_id": "i1", "surface": "home", "position": 0},
    "click": {"item_id": "i1"},
    "favorite": {"item_id": "i1", "on": False},
    "search": {"query": "패딩"},
    "chat": {"item_id": "i1", "to_user_id": "u9", "text": "계좌로 먼저 보내주세요"},
    "purchase": {"item_id": "i1", "price": 1_000_000},
}


def event(n: int, kind: str = "click", **changes) -> dict:
    ts = f"2026-11-{1 + n % 20:02d}T{n % 24:02d}:{n % 60:02d}:00.{n % 1000:03d}+09:00"
    out = {"event_id": f"e{n}", "type": kind, "ts": ts, "user_id": f"u{n % 7}", **KINDS[kind], **changes}
    return {k: v for k, v in out.items() if v is not ...}


def line(obj) -> bytes:
    return json.dumps(obj, ensure_ascii=False).encode() + b"\n"


def ingest(paths, lake, **kw):
    return ingest_files(paths, lake, now=NOW, **kw)


def assert_reconciles(stats):
    assert stats["read"] == stats["accepted"] + stats["duplicates"] + stats["quarantined"]
    assert stats["accepted"] == sum(stats["by_type"].values())
    assert stats["quarantined"] == sum(stats["by_reason"].values())


BAD_LINES = {
    "invalid_json": b'{"event_id": "x1", "type": "click"\n',
    "not_object": b'["e1", "click"]\n',
    "invalid_utf8": b'{"event_id": "x2", "type": "search", "query": "\xed\x95"}\n',
    "missing_field": line(event(1001, user_id=...)),
    "wrong_type": line(event(1002, "listing", price="1000")),
    "out_of_range": line(event(1003, "listing_status", status="deleted")),
    "unknown_type": line(event(1004, type="teleport")),
    "bad_timestamp": line(event(1005, ts="26/11/2026 10:00")),
    "ts_too_old": line(event(1006, ts="2009-12-31T23:59:59Z")),
    "ts_in_future": line(event(1007, ts="2026-11-27T00:00:01Z")),
    "line_too_long": line(event(1008, "chat", text="가" * 400_000)),  # 1.2 MB in UTF-8
}


def test_every_reason_is_quarantined_with_source_line_and_raw(tmp_path):
    good = [line(event(n, kind)) for n, kind in enumerate(KINDS)]
    body = b"".join(good[:4]) + b"".join(BAD_LINES.values()) + b"".join(good[4:])
    source = tmp_path / "day.jsonl"
    source.write_bytes(body)
    stats = ingest([source], tmp_path / "lake")
    assert stats["by_reason"] == {reason: 1 for reason in BAD_LINES}
    assert (stats["read"], stats["accepted"], stats["duplicates"]) == (len(good) + len(BAD_LINES), len(good), 0)
    quarantine = read_quarantine(tmp_path / "lake").set_index("reason")
    for number, reason in enumerate(BAD_LINES, start=5):
        record = quarantine.loc[reason]
        assert record["line"] == number and record["source"] == str(source.resolve())
        assert record["raw"] == mask(BAD_LINES[reason][:1024].rstrip(b"\n").decode("utf-8", "backslashreplace"))
    assert quarantine.loc["missing_field", "field"] == "user_id"


def test_quarantine_masks_personal_data(tmp_path):
    personal = "010-1234-5678 로 연락, 국민 123456-01-234567, seller.kim@naver.com"
    old = "2009-01-01T00:00:00Z"
    filler = 1018 - line(event(3, "chat", text="@", ts=old)).index(b"@")  # the first number straddles the 1 KiB kept
    source = tmp_path / "day.jsonl"
    source.write_bytes(line(event(1, "chat", text=personal, ts="yesterday"))
                       + line(event(2, "listing_status", status="전화 010-9876-5432"))
                       + line(event(3, "chat", text="x" * filler + personal, ts=old)))
    stats = ingest([source], tmp_path / "lake")
    assert stats["by_reason"] == {"bad_timestamp": 1, "out_of_range": 1, "ts_too_old": 1}
    kept = read_quarantine(tmp_path / "lake")
    text = " ".join(kept["raw"]) + " ".join(kept["detail"])
    for secret in ("1234", "5678", "9876-5432", "123456-01-234567", "seller.kim"):
        assert secret not in text
    assert "01*-****-**78" in kept["raw"][0] and "@naver.com" in kept["raw"][0]
    assert kept["raw"][2].endswith("01*-**") and len(kept["raw"][2].encode()) == 1024


def test_reason_codes_say_what_was_wrong(tmp_path):
    huge = "9" * 5000
    source = tmp_path / "day.jsonl"
    source.write_text(f'{{"event_id": "h1", "type": "purchase", "ts": 1793000000000, "user_id": "u", "item_id": "i", "price": {huge}}}\n'
                      f'{{"event_id": "h2", "type": "click", "ts": -{huge}, "user_id": "u", "item_id": "i"}}\n'
                      + line(event(3, ts="2016-12-31T23:59:60Z")).decode() + line(event(4, ts="2016-12-31T23:59:61Z")).decode())
    stats = ingest([source], tmp_path / "lake")
    assert (stats["accepted"], stats["by_reason"]) == (1, {"bad_timestamp": 1, "out_of_range": 2})
    kept = read_quarantine(tmp_path / "lake")
    assert kept["detail"].tolist()[:2] == ["an integer of 5000 digits"] * 2
    leap = read_events(tmp_path / "lake")
    assert leap["event_id"].tolist() == ["e3"] and leap["ts"][0].value // 10**6 == to_epoch_ms("2017-01-01T00:00:00Z")


def test_a_key_that_is_not_utf8_is_quarantined_not_a_crash(tmp_path):
    source = tmp_path / "day.jsonl"
    source.write_bytes(line(event(1)) + line(event(2)).replace(b'"type"', b'"ty\xffpe"') + line(event(3)))
    stats = ingest([source], tmp_path / "lake")
    assert (stats["accepted"], stats["by_reason"]) == (2, {"invalid_utf8": 1})
    assert list(read_quarantine(tmp_path / "lake")["line"]) == [2]

def test_bom_blank_lines_crlf_and_gzip(tmp_path):
    body = b"\xef\xbb\xbf" + line(event(1)) + b"\n   \n\t\r\n" + line(event(2)).replace(b"\n", b"\r\n") + line(event(3))[:-1]
    (tmp_path / "a.jsonl").write_bytes(body)
    with gzip.open(tmp_path / "b.jsonl.gz", "wb") as out:
        out.write(line(event(4)) + b"\n" + line(event(5)))
    (tmp_path / "c-empty.jsonl").write_bytes(b"")
    (tmp_path / "d-bom-only.jsonl").write_bytes(b"\xef\xbb\xbf")
    stats = ingest([tmp_path], tmp_path / "lake")  # a folder: its JSON Lines files, sorted
    assert (stats["read"], stats["accepted"], stats["quarantined"]) == (5, 5, 0)
    assert [f["read"] for f in stats["files"]] == [3, 2, 0, 0]


def test_idempotent_and_first_record_wins(tmp_path):
    first, second = tmp_path / "1.jsonl", tmp_path / "2.jsonl"
    first.write_bytes(line(event(1, surface="home")) + line(event(1, surface="search")) + line(event(2)) + b"{bad\n")
    second.write_bytes(line(event(2, surface="again")) + line(event(3)))
    stats = ingest([first, second], tmp_path / "lake")
    assert (stats["accepted"], stats["duplicates"], stats["quarantined"]) == (3, 2, 1)
    assert read_events(tmp_path / "lake").set_index("event_id").loc["e1", "surface"] == "home"
    again = ingest([first, second], tmp_path / "lake")
    assert (again["read"], again["accepted"], again["duplicates"], again["quarantined"]) == (6, 0, 5, 1)
    assert len(read_events(tmp_path / "lake")) == 3
    assert [m["accepted"] for m in read_manifests(tmp_path / "lake")] == [3, 0]


def test_images_resolve_against_the_file_folder_or_media_root(tmp_path):
    (tmp_path / "day").mkdir()
    source = tmp_path / "day" / "x.jsonl"
    source.write_bytes(line(event(1, "listing")))
    ingest([source], tmp_path / "lake")
    images = read_events(tmp_path / "lake", types="listing")["images"].iloc[0]
    folder = str((tmp_path / "day").resolve())
    assert list(images) == [f"{folder}/images/i1.jpg", f"{folder}/images/i1-2.jpg", "https://cdn.example/x.jpg"]
    source.write_bytes(line(event(2, "listing")))
    ingest([source], tmp_path / "lake", media_root=tmp_path / "media")
    second = read_events(tmp_path / "lake", types="listing").set_index("event_id").loc["e2", "images"]
    assert second[0] == f"{(tmp_path / 'media').resolve()}/images/i1.jpg"


def test_late_and_out_of_order(tmp_path):
    lake = tmp_path / "lake"
    (tmp_path / "a.jsonl").write_bytes(line(event(1, ts="2026-11-20T10:00:00Z")) + line(event(2, ts="2026-11-20T12:00:00Z")))
    assert ingest([tmp_path / "a.jsonl"], lake)["late"] == 0
    # within 1 h of the newest click (not late), 3 h older (late), then back in time (out of order)
    (tmp_path / "b.jsonl").write_bytes(line(event(3, ts="2026-11-20T11:30:00Z")) + line(event(4, ts="2026-11-20T09:00:00Z"))
                                       + line(event(5, "search", ts="2026-11-19T00:00:00Z")))
    stats = ingest([tmp_path / "b.jsonl"], lake)
    assert (stats["late"], stats["out_of_order"]) == (1, 2)


# ---------------------------------------------------------------- fast and exact paths agree

def varied_lines(count: int) -> list[bytes]:
    """Every type, both ts forms, ids as integers, extra fields, odd but valid values, and bad lines.

    The first third has string times and the second integer ones, so Arrow reads most of
    their blocks (the fast path); the last third mixes value kinds in every block, so it
    is read line by line (the exact path).
    """
    lines = []
    for n in range(count):
        kind = list(KINDS)[n % len(KINDS)]
        changes = {}
        third = 3 * n // count
        if third == 1 or (third == 2 and n % 5 == 0):
            changes["ts"] = 1_764_000_000_000 + n
        if third == 2 and n % 11 == 0:
            changes["user_id"] = n
        if n % 13 == 0:
            changes["campaign"] = {"id": n, "tags": ["a", "b"]}
        if third == 2 and n % 17 == 0:
            changes["ts"] = f"2026-11-25 0{n % 10}:00:00.123456789Z"
        if kind == "favorite" and n % 2:
            changes["on"] = None
        if n % 37 == 0:  # at most 128 characters: 100 Korean ones (300 bytes) pass, 129 ASCII ones do not
            changes["event_id"] = "가" * 100 + str(n) if n % 2 else "x" * 129
        if kind in ("signup", "listing") and n % 4 == 0:  # bounds broken within otherwise clean regions
            changes["birth_year" if kind == "signup" else "price"] = 1899 if kind == "signup" else -5
        if kind == "listing" and n % 5 == 1:
            changes["category"] = "디지털>"  # an empty segment
        lines.append(line(event(n, kind, **changes)))
        if n % (29 if third == 2 else 97) == 0:  # bad lines that Arrow cannot read fail their whole block
            lines.append(list(BAD_LINES.values())[n % (len(BAD_LINES) - 1)])
        if n % 31 == 0:  # a resent id, in the time form of its third
            lines.append(line(event(n - 1, "click", **({"ts": 1_764_000_000_000 + n} if third == 1 else {}))))
    return lines


def test_fast_and_exact_paths_give_identical_results(tmp_path, monkeypatch):
    source = tmp_path / "mixed.jsonl"
    lines = varied_lines(1500)
    source.write_bytes(b"".join(lines))
    exact_lines, exact_line = [], exact._exact_line
    monkeypatch.setattr(exact, "_exact_line", lambda *a: exact_lines.append(a[1]) or exact_line(*a))
    fast_stats = ingest([source], tmp_path / "fast", run_id="run")
    assert len(exact_lines) < 0.6 * len(lines)  # both paths had a real share of the input
    monkeypatch.setattr(fast, "_fast", lambda *args: None)  # everything through events.validate
    exact_stats = ingest([source], tmp_path / "exact", run_id="run")
    for stats in (fast_stats, exact_stats):
        stats.pop("seconds"), stats.pop("lake")
    assert fast_stats == exact_stats
    assert fast_stats["quarantined"] > 40 and fast_stats["duplicates"] > 40
    fast_rows = read_events(tmp_path / "fast").sort_values("event_id", ignore_index=True)
    exact_rows = read_events(tmp_path / "exact").sort_values("event_id", ignore_index=True)
    assert fast_rows.astype(str).equals(exact_rows.astype(str))
    assert fast_rows["extra"].notna().sum() > 10
    assert read_quarantine(tmp_path / "fast").equals(read_quarantine(tmp_path / "exact"))


def test_fast_path_takes_the_bulk_of_clean_input(tmp_path, monkeypatch):
    calls = []
    original = exact._exact_line
    monkeypatch.setattr(exact, "_exact_line", lambda *a: calls.append(a[1]) or original(*a))
    source = tmp_path / "clean.jsonl"
    source.write_bytes(b"".join(line(event(n, list(KINDS)[n % 9])) for n in range(2000)) + b"{broken\n")
    stats = ingest([source], tmp_path / "lake")
    assert stats["accepted"] == 2000 and stats["quarantined"] == 1
    assert len(calls) <= fast.BISECT_FLOOR  # only the broken line's neighbourhood is read one by one


def test_a_block_where_no_line_has_an_event_id_is_quarantined_line_by_line(tmp_path):
    source = tmp_path / "no-ids.jsonl"
    source.write_bytes(b"".join(line(event(n, event_id=...)) for n in range(50)))
    stats = ingest([source], tmp_path / "lake")
    assert (stats["accepted"], stats["by_reason"]) == (0, {"missing_field": 50})


@pytest.mark.parametrize("name", ["long.jsonl", "long.jsonl.gz"])  # a mapped file, a stream
def test_long_line_spanning_reads_is_skipped_with_bounded_memory(tmp_path, monkeypatch, name):
    monkeypatch.setattr(reading, "READ_BLOCK", 64 << 10)
    source = tmp_path / name
    body = line(event(1)) + b'{"event_id": "' + b"x" * (3 << 20) + b'"}\n' + line(event(2)) + b"y" * (2 << 20)
    source.write_bytes(gzip.compress(body) if name.endswith(".gz") else body)
    stats = ingest([source], tmp_path / "lake")
    assert (stats["accepted"], stats["by_reason"]) == (2, {"line_too_long": 2})
    assert list(read_quarantine(tmp_path / "lake")["line"]) == [2, 4]



def regions_of(body: bytes, reader: str) -> list[tuple[str, bytes]]:
    """The regions of ``body`` as read from a stream or from a file mapped into memory."""
    if reader == "stream":
        return [(kind, bytes(data)) for kind, data in reading._regions(io.BytesIO(body))]
    with tempfile.TemporaryFile() as file:
        file.write(body)
        file.flush()
        mapped = mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ)
        return [(kind, bytes(data)) for kind, data in reading._mapped_regions(mapped)]


@pytest.mark.parametrize("reader", ["stream", "mapped"])
@settings(max_examples=60, deadline=None)
@given(body=st.lists(st.sampled_from([b"{}", b"", b"ab", b"\xef\xbb\xbf{}", b"x" * 9, b"\r"]), min_size=1, max_size=12)
       .map(lambda parts: b"\n".join(parts)).filter(len),
       block=st.integers(len(reading.BOM), 12))  # reads hold a BOM whole
def test_regions_split_anywhere_give_back_every_line_in_order(reader, body, block):
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(reading, "READ_BLOCK", block)
        regions = regions_of(body, reader)
    expected = body.removeprefix(b"\xef\xbb\xbf").split(b"\n")
    if expected[-1] == b"":
        expected.pop()  # the final newline ends the last line
    got = []
    for kind, data in regions:
        assert kind == "lines"
        got += data.split(b"\n")[:-1]
    assert got == expected


@pytest.mark.parametrize("reader", ["stream", "mapped"])
def test_a_line_longer_than_a_region_leaves_only_its_head(monkeypatch, reader):
    monkeypatch.setattr(reading, "READ_BLOCK", 16)
    monkeypatch.setattr(reading, "MAX_LINE_BYTES", 20)
    head = b'{"q": "' + b"x" * 40
    regions = regions_of(b"{}\n" + head + b'"}\n{"a": 1}\n' + b"y" * 50, reader)
    assert [kind for kind, _ in regions] == ["lines", "long", "lines", "long"]
    assert regions[1][1].startswith(head[:16]) and regions[2][1] == b'{"a": 1}\n'


TIMES = ["2026-10-01T00:00:00.123+09:00", "2026-10-01T00:00:00Z", "2026-10-01 00:00:00.123456789z",
         "2026-10-01t23:59:59-23:59", "2026-10-01T00:00:00+24:00", "2026-10-01T00:00:00.1Z", "2026-10-01T00:00:00.Z"]


@settings(max_examples=300, deadline=None)
@given(template=st.sampled_from(TIMES), edits=st.lists(st.lists(st.tuples(st.integers(0, 34), st.sampled_from(
       "0123456789-:.TtZz +x")), max_size=3), min_size=1, max_size=8))
def test_times_of_one_width_are_checked_like_the_pattern(template, edits):
    times = []
    for row in edits:
        chars = list(template)
        for position, char in row:
            chars[position % len(chars)] = char
        times.append("".join(chars))
    assert timestamps._rfc3339(pa.array(times)).to_pylist() == [TS_RE.fullmatch(t) is not None for t in times]


# ---------------------------------------------------------------- reconciliation over random input

LONG_LINE = line(event(0, "search", query="q" * ((1 << 20) + 10)))
POOL = [
    st.builds(lambda n, k: line(event(n, k)), st.integers(0, 40), st.sampled_from(list(KINDS))),
    st.sampled_from(list(BAD_LINES.values())[:-1] + [b"\n", b"  \r\n", b"\xef\xbb\xbf" + line(event(77)), b"\xff\xfe\n",
                                                       b"null\n", b"{}\n", b'{"a":1} {"b":2}\n', LONG_LINE]),
    st.binary(max_size=40).map(lambda b: b.replace(b"\n", b"") + b"\n"),
]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(files=st.lists(st.lists(st.one_of(*POOL), max_size=30), min_size=1, max_size=3))
def test_read_equals_accepted_plus_duplicates_plus_quarantined(files):
    with tempfile.TemporaryDirectory() as folder:
        paths = []
        for n, lines in enumerate(files):
            paths.append(Path(folder) / f"{n}.jsonl")
            paths[-1].write_bytes(b"".join(lines))
        expected_read = sum(1 for lines in files for raw in lines
                            if raw.removeprefix(b"\xef\xbb\xbf").strip(b" \t\r\n"))
        stats = ingest(paths, Path(folder) / "lake")
        assert_reconciles(stats)
        assert stats["read"] == expected_read
        assert len(read_events(Path(folder) / "lake")) == stats["accepted"]
        again = ingest(paths, Path(folder) / "lake")
        assert_reconciles(again)
        assert again["accepted"] == 0 and again["duplicates"] == stats["accepted"] + stats["duplicates"]


def test_a_truncated_gz_is_invalid_input_and_writes_nothing(tmp_path):
    broken = tmp_path / "cut.jsonl.gz"
    broken.write_bytes(gzip.compress(line(event(2)) * 100)[:-30])
    with pytest.raises(InvalidInput, match="cannot read it to the end"):
        ingest([broken], tmp_path / "lake")
    assert not (tmp_path / "lake" / "events").exists()


# ---------------------------------------------------------------- command line

def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "bunjang_lab", "ingest", *map(str, args)],
                          capture_output=True, text=True, cwd=REPO_ROOT)


def test_cli_prints_the_stats_as_a_table_or_as_json(tmp_path):
    source = tmp_path / "day.jsonl"
    source.write_bytes(line(event(1)) + line(event(1)) + b"oops\n")
    result = run_cli(source, "--lake", tmp_path / "lake", "--now", NOW, "--run-id", "cli-1", "--json")
    assert result.returncode == 0, result.stderr
    stats = json.loads(result.stdout)
    assert {k: stats[k] for k in ("read", "accepted", "duplicates", "quarantined", "run_id")} == \
        {"read": 3, "accepted": 1, "duplicates": 1, "quarantined": 1, "run_id": "cli-1"}
    assert "1 quarantined (invalid_json 1)" in result.stderr

    result = run_cli(source, "--lake", tmp_path / "lake", "--now", NOW, "--run-id", "cli-2")
    assert result.returncode == 0, result.stderr
    headline, header, *rows, tail = result.stdout.splitlines()
    assert headline.startswith("ingested 3 records from 1 file(s)") and "0 accepted, 2 duplicates, 1 quarantined" in headline
    assert header.split() == ["outcome", "type", "or", "reason", "records"]
    assert [r.split() for r in rows] == [["quarantined", "invalid_json", "1"]] and tail == "late 0, out of order 0"


def test_cli_defaults_to_the_home_lake(tmp_path, isolated_home):
    source = tmp_path / "day.jsonl"
    source.write_bytes(line(event(1, ts="2024-01-01T00:00:00Z")))
    assert run_cli(source).returncode == 0
    assert len(read_events(isolated_home / "lake")) == 1


@pytest.mark.parametrize("args, message", [
    (["missing.jsonl"], "No such file or directory"),
    (["{broken_gz}"], "cannot read it to the end"),
    (["{source}", "--min-ts", "yesterday"], "not an RFC 3339 date-time"),
    (["{source}", "--run-id", "../x"], "--run-id may contain only"),
])
def test_cli_user_errors_are_one_line(tmp_path, args, message):
    source, broken_gz = tmp_path / "day.jsonl", tmp_path / "cut.jsonl.gz"
    source.write_bytes(line(event(1)))
    broken_gz.write_bytes(gzip.compress(line(event(2)) * 100)[:-30])
    result = run_cli(*[a.format(source=source, broken_gz=broken_gz) for a in args], "--lake", tmp_path / "lake")
    assert result.returncode == 2
    assert message in result.stderr and result.stderr.count("\n") == 1
    assert not (tmp_path / "lake" / "events").exists()


@settings(max_examples=100, deadline=None)
@given(chunks=st.lists(st.lists(st.booleans(), max_size=20), max_size=4), skip=st.integers(0, 9))
def test_masks_unpack_the_bits_of_sliced_and_chunked_results(chunks, skip):
    values = pa.chunked_array([pa.array(c, pa.bool_()) for c in chunks], pa.bool_())
    values = values.slice(min(skip, len(values)))
    expected = values.to_numpy(zero_copy_only=False).astype(bool)
    assert masks._mask(values).tolist() == expected.tolist()
    assert masks._mask(values.combine_chunks()).tolist() == expected.tolist()


def test_a_file_that_cannot_be_mapped_is_read_as_a_stream(tmp_path, monkeypatch):
    def refuse(*args, **kwargs):
        raise OSError(19, "No such device")  # e.g. a FUSE filesystem without mmap

    monkeypatch.setattr(reading.mmap, "mmap", refuse)
    source = tmp_path / "day.jsonl"
    source.write_bytes(b"".join(line(event(n)) for n in range(10)) + b"{oops\n")
    stats = ingest([source], tmp_path / "lake")
    assert (stats["read"], stats["accepted"], stats["by_reason"]) == (11, 10, {"invalid_json": 1})
