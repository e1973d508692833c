"""``ingest``: validate JSON Lines events into the Parquet lake, losing nothing.

Every non-blank line is either accepted, a duplicate (its ``event_id`` is already in
the lake or earlier in this run: the first record wins) or quarantined with a reason
code, so ``read == accepted + duplicates + quarantined`` always holds.

Two paths give identical results:

* the **fast path** parses many well-formed lines at once with Arrow's multi-threaded
  JSON reader against the contract's schema and validates them column by column;
* the **exact path** (:func:`bunjang_lab.events.validate`, one record at a time) handles
  every piece of about 1 MiB of lines in which the fast path finds anything unusual: a
  parse or type error, a field outside the contract, a rule broken, a blank line, a BOM.

The fast path only ever accepts; whatever it doubts is decided by the exact path.

>>> import json, tempfile, pathlib
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> good = {"event_id": "e1", "type": "search", "ts": "2024-05-01T09:00:00+09:00", "user_id": "u1", "query": "나이키"}
>>> _ = (folder / "day.jsonl").write_text(json.dumps(good) + "\\n" + json.dumps(good) + "\\n{oops\\n")
>>> stats = ingest_files([folder / "day.jsonl"], folder / "lake")
>>> stats["read"], stats["accepted"], stats["duplicates"], stats["quarantined"], stats["by_reason"]
(3, 1, 1, 1, {'invalid_json': 1})
"""

from __future__ import annotations

import datetime as dt
import gzip
import io
import json
import os
import re
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Iterator, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pj

from bunjang_lab import lake as lakelib
from bunjang_lab.events import (ABSOLUTE_REF_PATTERN, BLANK, CATEGORY_PATTERN, DEFAULT_MIN_TS, FIELDS, MAX_EVENT_ID_CHARS,
                                MAX_FUTURE_MS, MAX_LINE_BYTES, TS_PATTERN, TYPE_FIELDS, TYPES, Rejected, to_epoch_ms,
                                validate)

BOM = b"\xef\xbb\xbf"
READ_BLOCK = 16 << 20  # bytes read from a file at a time
BATCH_BYTES = 16 << 20  # well-formed lines parsed by one multi-threaded Arrow call
RAW_KEEP = 1024  # bytes of a rejected line kept in the quarantine
LATE_MS = 3600 * 1000  # "late": older than the newest ts already in the lake for its type by more than this
SUFFIXES = (".jsonl", ".jsonl.gz", ".json", ".json.gz", ".ndjson", ".ndjson.gz")

# The rows of one run: the lake's columns plus the event type and where each row came from.
ROWS = pa.schema([pa.field("type", pa.string()), *lakelib.SCHEMA, pa.field("_file", pa.int32()), pa.field("_line", pa.int64())])
_JSON_KINDS = {"id": pa.string(), "string": pa.string(), "category": pa.string(), "choice": pa.string(),
               "integer": pa.int64(), "boolean": pa.bool_(), "string_list": pa.list_(pa.string())}


def _json_schema(ts_type: pa.DataType) -> pa.Schema:
    fields = [("event_id", pa.string()), ("type", pa.string()), ("ts", ts_type), ("user_id", pa.string())]
    return pa.schema(fields + [(name, _JSON_KINDS[FIELDS[name].kind]) for name in TYPE_FIELDS])


_TS_IS_STRING = re.compile(rb'"ts"\s*:\s*"')
_PARSE = {kind: pj.ParseOptions(explicit_schema=_json_schema(t), unexpected_field_behavior="error", newlines_in_values=False)
          for kind, t in (("string", pa.string()), ("integer", pa.int64()))}


@dataclass
class _Context:
    """What validation depends on for one file."""

    file_index: int
    source: str
    base_dir: str
    min_ts_ms: int
    now_ms: int
    quarantine: list[dict[str, Any]] = field(default_factory=list)
    read: int = 0
    tables: list[pa.Table] = field(default_factory=list)

    @property
    def max_birth_year(self) -> int:
        return dt.datetime.fromtimestamp(self.now_ms / 1000, dt.timezone.utc).year


# ---------------------------------------------------------------- reading pieces of lines

def _open(path: Path) -> BinaryIO:
    return gzip.open(path, "rb") if path.name.endswith(".gz") else open(path, "rb")


def _regions(stream: BinaryIO) -> Iterator[tuple[str, int, bytes]]:
    """("lines", first line number, complete lines) or ("long", line number, head of a too-long line).

    A line longer than the limit that spans reads is skipped while reading (only its
    head is kept), so memory stays bounded whatever the input.
    """
    line_no, carry, skipping, first = 1, b"", None, True
    while True:
        block = stream.read(READ_BLOCK)
        at_end = not block
        if first:
            block, first = (block[len(BOM):] if block.startswith(BOM) else block), False
        if skipping is not None:
            newline = block.find(b"\n")
            if not at_end and newline < 0:
                continue
            yield "long", line_no, skipping
            line_no, skipping = line_no + 1, None
            if at_end:
                return
            block = block[newline + 1:]
        data = carry + block if carry else block
        if at_end:
            if data:
                yield "lines", line_no, data + b"\n"
            return
        cut = data.rfind(b"\n") + 1
        if cut:
            yield "lines", line_no, data[:cut]
            line_no += data.count(b"\n", 0, cut)
        carry = data[cut:]
        if len(carry) > MAX_LINE_BYTES + 1:
            skipping, carry = carry[:RAW_KEEP], b""


def _is_regular(piece: bytes) -> bool:
    """Every line starts with "{" and ends with "}" (no blank lines, no BOM): worth the fast path."""
    lines = piece.count(b"\n")
    return (piece[:1] == b"{" and (piece.endswith(b"}\n") or piece.endswith(b"}\r\n")) and BOM not in piece
            and piece.count(b"}\n{") + piece.count(b"}\r\n{") == lines - 1)


def _pieces(data: bytes) -> Iterator[tuple[bytes, int, bool]]:
    """(piece, line count, regular?) covering ``data``; a piece of many lines is at most 1 MiB."""
    position, size = 0, len(data)
    while position < size:
        end = data.rfind(b"\n", position, position + MAX_LINE_BYTES)
        if end < 0:  # one line of at least MAX_LINE_BYTES: the exact path measures it
            end = data.find(b"\n", position)
            piece = data[position:end + 1]
            yield piece, 1, False
        else:
            piece = data[position:end + 1]
            yield piece, piece.count(b"\n"), _is_regular(piece)
        position = end + 1


# ---------------------------------------------------------------- exact path

def _reject_constant(name: str):
    raise ValueError(f"{name} is not JSON")


def _quarantine(ctx: _Context, line_no: int, line: bytes, reason: str, fld: str | None, detail: str) -> None:
    ctx.quarantine.append({"source": ctx.source, "line": line_no, "reason": reason, "field": fld, "detail": detail,
                           "bytes": len(line), "raw": line[:RAW_KEEP].decode("utf-8", "backslashreplace")})


def _exact(ctx: _Context, piece: bytes, first_line: int) -> pa.Table:
    """Validate each line of ``piece`` on its own; rejected lines go to the quarantine."""
    rows = []
    lines = piece.split(b"\n")
    for offset, line in enumerate(lines[:-1] if piece.endswith(b"\n") else lines):
        line_no = first_line + offset
        if line.startswith(BOM):
            line = line[len(BOM):]
        if not line.strip(BLANK.encode()):
            continue
        ctx.read += 1
        body = line[:-1] if line.endswith(b"\r") else line
        if len(body) > MAX_LINE_BYTES:
            _quarantine(ctx, line_no, line, "line_too_long", None, f"{len(body)} bytes")
            continue
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError as exc:
            _quarantine(ctx, line_no, line, "invalid_utf8", None, f"byte {exc.start}")
            continue
        try:
            record = json.loads(text, parse_constant=_reject_constant)
        except (ValueError, RecursionError) as exc:
            _quarantine(ctx, line_no, line, "invalid_json", None, str(exc)[:120])
            continue
        try:
            row = validate(record, min_ts_ms=ctx.min_ts_ms, now_ms=ctx.now_ms, base_dir=ctx.base_dir)
        except Rejected as exc:
            _quarantine(ctx, line_no, line, exc.reason, exc.field, exc.detail)
            continue
        row["_file"], row["_line"] = ctx.file_index, line_no
        rows.append(row)
    return pa.Table.from_pylist(rows, schema=ROWS)


# ---------------------------------------------------------------- fast path

def _blank(values) -> pa.Array:
    return pc.equal(pc.utf8_length(pc.utf8_trim(values, BLANK)), 0)


def _all(*conditions) -> pa.Array:
    result = conditions[0]
    for condition in conditions[1:]:
        result = pc.and_kleene(result, condition)
    return pc.fill_null(result, False)


def _valid_rows(table: pa.Table, ts_ms: pa.Array, ctx: _Context) -> np.ndarray:
    """A mask of rows that :func:`bunjang_lab.events.validate` accepts (False when in doubt)."""
    kinds = table["type"]
    event_id = table["event_id"]
    checks = [pc.is_in(kinds, value_set=pa.array(list(TYPES))),
              pc.invert(_blank(event_id)), pc.less_equal(pc.utf8_length(event_id), MAX_EVENT_ID_CHARS),
              pc.invert(_blank(table["user_id"])),
              pc.greater_equal(ts_ms, ctx.min_ts_ms), pc.less_equal(ts_ms, ctx.now_ms + MAX_FUTURE_MS)]
    for name in TYPE_FIELDS:
        column, spec = table[name], FIELDS[name]
        present = pc.is_valid(column)
        allowed = [t for t in TYPES.values() if name in t.fields]
        required = [t.name for t in allowed if name in t.required]

        def absent_or(condition, present=present):
            return pc.or_kleene(pc.invert(present), pc.fill_null(condition, False))

        checks.append(absent_or(pc.is_in(kinds, value_set=pa.array([t.name for t in allowed]))))
        if required:
            checks.append(pc.or_(pc.invert(pc.is_in(kinds, value_set=pa.array(required))), present))
        if spec.kind in ("id", "string") and (required or spec.kind == "id"):
            checks.append(absent_or(pc.invert(_blank(column))))
        elif spec.kind == "choice":
            checks.append(absent_or(pc.is_in(column, value_set=pa.array(spec.choices))))
        elif spec.kind == "category":
            checks.append(absent_or(pc.match_substring_regex(column, CATEGORY_PATTERN)))
        elif spec.kind == "integer":
            maximum = ctx.max_birth_year if name == "birth_year" else spec.maximum
            checks.append(absent_or(pc.greater_equal(column, spec.minimum)))
            if maximum is not None:
                checks.append(absent_or(pc.less_equal(column, maximum)))
        elif spec.kind == "string_list" and pc.sum(pc.list_value_length(column)).as_py():
            values = pc.list_flatten(column)
            bad = pc.fill_null(pc.or_kleene(pc.is_null(values), _blank(values)), True)
            parents = pc.filter(pc.list_parent_indices(column), bad).to_numpy()
            row_ok = np.ones(table.num_rows, dtype=bool)
            row_ok[parents] = False
            checks.append(pa.array(row_ok))
    return _all(*checks).to_numpy(zero_copy_only=False)


def _resolve_images(images: pa.ChunkedArray, base_dir: str) -> pa.Array:
    images = images.combine_chunks()
    values = pc.replace_substring_regex(pc.list_flatten(images), r"^(\./)+", "")
    absolute = pc.match_substring_regex(values, ABSOLUTE_REF_PATTERN)
    joined = pc.binary_join_element_wise(base_dir.rstrip("/"), values, "/")
    resolved = pc.if_else(absolute, values, joined)
    offsets = pc.subtract(images.offsets, images.offsets[0])
    return pa.ListArray.from_arrays(offsets, resolved, mask=pc.is_null(images))


def _fast(ctx: _Context, data: bytes, first_line: int, lines: int) -> tuple[pa.Table, np.ndarray] | None:
    """(rows, per-row validity) for ``lines`` regular lines, or None when Arrow cannot read them."""
    ts_kind = "string" if _TS_IS_STRING.search(data, 0, data.find(b"\n")) else "integer"
    try:
        table = pj.read_json(io.BytesIO(data), parse_options=_PARSE[ts_kind],
                             read_options=pj.ReadOptions(block_size=1 << 20))
        if table.num_rows != lines:
            return None  # e.g. two objects on one line
        table.validate(full=True)  # raises on invalid UTF-8
        if ts_kind == "integer":
            ts_ms = table["ts"]
        else:
            wellformed = pc.match_substring_regex(table["ts"], TS_PATTERN)
            candidates = pc.if_else(wellformed, table["ts"], pa.scalar(None, pa.string()))
            ts_ms = pc.cast(pc.cast(candidates, pa.timestamp("ns", "UTC")), pa.timestamp("ms", "UTC"), safe=False)
            ts_ms = pc.cast(ts_ms, pa.int64())
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        return None
    valid = _valid_rows(table, ts_ms, ctx)
    columns = {name: table[name] for name in ("type", "event_id", "user_id", *TYPE_FIELDS)}
    columns["ts"] = pc.cast(ts_ms, lakelib.TS_TYPE)
    if table["images"].null_count < table.num_rows:
        columns["images"] = _resolve_images(table["images"], ctx.base_dir)
    favorite = pc.equal(table["type"], "favorite")
    columns["on"] = pc.if_else(favorite, pc.fill_null(table["on"], True), table["on"])
    columns["extra"] = pa.nulls(table.num_rows, pa.string())
    columns["_file"] = pa.array(np.full(table.num_rows, ctx.file_index, dtype=np.int32))
    columns["_line"] = pa.array(np.arange(first_line, first_line + table.num_rows, dtype=np.int64))
    return pa.table([columns[f.name] for f in ROWS], schema=ROWS), valid


def _run_batch(ctx: _Context, batch: list[tuple[bytes, int, int]], retry: bool = True) -> None:
    """Fast path over consecutive regular pieces; pieces with any doubtful row take the exact path."""
    first_line, lines = batch[0][1], sum(p[2] for p in batch)
    result = _fast(ctx, b"".join(p[0] for p in batch), first_line, lines)
    if result is None:
        if retry and len(batch) > 1:  # isolate the piece Arrow could not read
            for piece in batch:
                _run_batch(ctx, [piece], retry=False)
        else:
            for piece, piece_first, _ in batch:
                ctx.tables.append(_exact(ctx, piece, piece_first))
        return
    table, valid = result
    offset = 0
    for piece, piece_first, piece_lines in batch:
        if valid[offset:offset + piece_lines].all():
            ctx.read += piece_lines
            ctx.tables.append(table.slice(offset, piece_lines))
        else:
            ctx.tables.append(_exact(ctx, piece, piece_first))
        offset += piece_lines


def _ingest_file(ctx: _Context, path: Path) -> None:
    with _open(path) as stream:
        for kind, first_line, data in _regions(stream):
            if kind == "long":
                ctx.read += 1
                _quarantine(ctx, first_line, data, "line_too_long", None, f"more than {MAX_LINE_BYTES} bytes")
                continue
            batch: list[tuple[bytes, int, int]] = []
            size, line_no = 0, first_line
            for piece, lines, regular in _pieces(data):
                if regular:
                    batch.append((piece, line_no, lines))
                    size += len(piece)
                if batch and (not regular or size >= BATCH_BYTES):
                    _run_batch(ctx, batch)
                    batch, size = [], 0
                if not regular:
                    ctx.tables.append(_exact(ctx, piece, line_no))
                line_no += lines
            if batch:
                _run_batch(ctx, batch)


# ---------------------------------------------------------------- the run

def expand_inputs(paths: Sequence[str | os.PathLike]) -> list[Path]:
    """The files to read: each path as given, or the JSON Lines files inside a folder (sorted)."""
    files = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            files += sorted(p for p in path.iterdir() if p.is_file() and p.name.endswith(SUFFIXES))
        elif path.is_file():
            files.append(path)
        else:
            raise FileNotFoundError(2, "No such file or directory", str(path))
    return files


def _first_occurrences(event_ids: pa.ChunkedArray) -> np.ndarray:
    """True for the first row of each event_id (dictionary codes follow first appearance)."""
    codes = event_ids.combine_chunks().dictionary_encode().indices.to_numpy(zero_copy_only=False).astype(np.int64)
    if len(codes) == 0:
        return np.zeros(0, dtype=bool)
    seen_before = np.concatenate([[-1], np.maximum.accumulate(codes)[:-1]])
    return codes > seen_before


def _late_and_out_of_order(table: pa.Table, newest: dict[str, int]) -> tuple[int, int]:
    """Accepted events older than the lake's newest of their type by more than 1 h, and events
    older than an earlier accepted line of the same file."""
    ts = pc.cast(table["ts"], pa.int64()).to_numpy()
    files = table["_file"].to_numpy()
    late = 0
    for type_name, newest_ms in newest.items():
        of_type = pc.equal(table["type"], type_name).to_numpy(zero_copy_only=False)
        late += int(np.count_nonzero(ts[of_type] < newest_ms - LATE_MS))
    out_of_order = 0
    for file_index in np.unique(files):
        file_ts = ts[files == file_index]
        out_of_order += int(np.count_nonzero(file_ts[1:] < np.maximum.accumulate(file_ts)[:-1]))
    return late, out_of_order


def new_run_id() -> str:
    return f"{dt.datetime.now(dt.timezone.utc):%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:6]}"


def ingest_files(paths: Sequence[str | os.PathLike], lake, *, run_id: str | None = None,
                 media_root: str | os.PathLike | None = None, min_ts: str | int | dt.datetime = DEFAULT_MIN_TS,
                 now: str | int | dt.datetime | None = None) -> dict[str, Any]:
    """Ingest JSON Lines files (plain or .gz, or folders of them) into ``lake``; returns the run stats.

    ``media_root`` is the folder relative image paths are resolved against (default: the
    folder of the file carrying them). ``min_ts`` is the oldest accepted ts, ``now`` the
    clock the 24-hour future bound is measured from (both RFC 3339, epoch ms or datetime).
    """
    started = time.perf_counter()
    files = expand_inputs(paths)
    run_id = run_id or new_run_id()
    now_ms = to_epoch_ms(now if now is not None else dt.datetime.now(dt.timezone.utc))
    min_ts_ms = to_epoch_ms(min_ts)
    lakelib.clean_tmp(lake)
    contexts = []
    for index, path in enumerate(files):
        base = Path(media_root) if media_root is not None else path.parent
        ctx = _Context(index, str(path.resolve()), str(base.resolve()), min_ts_ms, now_ms)
        _ingest_file(ctx, path)
        contexts.append(ctx)
    rows = pa.concat_tables([t for c in contexts for t in c.tables] or [ROWS.empty_table()])
    known = lakelib.event_ids(lake)
    in_lake = (pc.is_in(rows["event_id"], value_set=known).to_numpy(zero_copy_only=False) if len(known)
               else np.zeros(rows.num_rows, dtype=bool))
    keep = _first_occurrences(rows["event_id"]) & ~in_lake
    accepted = rows.filter(pa.array(keep))
    late, out_of_order = _late_and_out_of_order(accepted, lakelib.latest_ts_by_type(lake))
    written = lakelib.write_events(lake, accepted.drop_columns(["_file", "_line"]), run_id=run_id)
    quarantine = [q for c in contexts for q in c.quarantine]
    quarantine_path = lakelib.write_quarantine(lake, run_id, quarantine)

    accepted_by_file = np.bincount(accepted["_file"].to_numpy(), minlength=len(files))
    valid_by_file = np.bincount(rows["_file"].to_numpy(), minlength=len(files))
    per_file = [{"path": c.source, "read": c.read, "accepted": int(accepted_by_file[i]),
                 "duplicates": int(valid_by_file[i] - accepted_by_file[i]), "quarantined": len(c.quarantine)}
                for i, c in enumerate(contexts)]
    by_type = {row["values"]: row["counts"] for row in pc.value_counts(accepted["type"]).to_pylist()}
    by_reason: dict[str, int] = {}
    for record in quarantine:
        by_reason[record["reason"]] = by_reason.get(record["reason"], 0) + 1
    span = accepted.group_by("type").aggregate([("ts", "min"), ("ts", "max")]).to_pylist()
    stats = {
        "read": sum(c.read for c in contexts), "accepted": accepted.num_rows,
        "duplicates": rows.num_rows - accepted.num_rows, "quarantined": len(quarantine),
        "by_type": dict(sorted(by_type.items())), "by_reason": dict(sorted(by_reason.items())),
        "late": late, "out_of_order": out_of_order, "run_id": run_id, "lake": str(lake), "files": per_file,
    }
    manifest = {
        **stats, "started_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "min_ts_ms": {r["type"]: to_epoch_ms(r["ts_min"]) for r in span},
        "max_ts_ms": {r["type"]: to_epoch_ms(r["ts_max"]) for r in span},
        "parts": written, "quarantine": quarantine_path,
        "seconds": round(time.perf_counter() - started, 3),
    }
    lakelib.write_manifest(lake, manifest)
    stats["seconds"] = manifest["seconds"]
    return stats


def run(argv: list[str]) -> int:
    from bunjang_lab import paths
    from bunjang_lab.cli import UserError, parser

    cli = parser("python -m bunjang_lab ingest", "Validate JSON Lines events (plain or .gz, or folders of them) into "
                 "the Parquet lake; bad records go to the lake's quarantine with a reason code.")
    cli.add_argument("files", nargs="+", metavar="FILE", help="JSON Lines file(s) or folder(s) of them")
    cli.add_argument("--lake", default=str(paths.lake_dir()), help="lake folder or fsspec URL (default: %(default)s)")
    cli.add_argument("--run-id", help="id of this run (default: UTC time plus a random suffix)")
    cli.add_argument("--media-root", help="folder relative image paths are resolved against (default: each file's folder)")
    cli.add_argument("--min-ts", default=DEFAULT_MIN_TS, help="oldest accepted event time (default: %(default)s)")
    cli.add_argument("--now", help="clock for the 24-hour future bound (default: the current time)")
    args = cli.parse_args(argv)
    try:
        min_ts = to_epoch_ms(args.min_ts)
        now = to_epoch_ms(args.now) if args.now else None
    except ValueError as exc:
        raise UserError(str(exc)) from None
    if args.run_id and not args.run_id.replace("-", "").replace("_", "").isalnum():
        raise UserError(f"--run-id may contain only letters, digits, '-' and '_': {args.run_id!r}")
    stats = ingest_files(args.files, args.lake, run_id=args.run_id, media_root=args.media_root, min_ts=min_ts, now=now)
    reasons = ", ".join(f"{k} {v}" for k, v in stats["by_reason"].items()) or "none"
    print(f"ingested {stats['read']} records from {len(stats['files'])} file(s) into {args.lake}: "
          f"{stats['accepted']} accepted, {stats['duplicates']} duplicates, {stats['quarantined']} quarantined "
          f"({reasons})", file=sys.stderr)
    print(json.dumps(stats, ensure_ascii=False))
    return 0
