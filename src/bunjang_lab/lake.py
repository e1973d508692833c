"""The Parquet event lake: atomic partition writes, run manifests, quarantine and loading.

Layout under the lake root (a local path or an fsspec URL such as ``memory://lake``)::

    events/type=<type>/date=YYYY-MM-DD/part-<run_id>-<attempt>-<n>.parquet   (date: UTC date of ts)
    _manifests/<run_id>.json     what one ingest run read, added and rejected; its parts
    _quarantine/<run_id>.jsonl   rejected records with reason codes
    _tmp/                        files being written; never read, removed by the next writer

A reader sees a file whole or not at all: on a local disk every file is written under
``_tmp/`` and then renamed into place; an object store (S3, GCS, fsspec's memory) shows an
object only once its upload completes, so there files are written in place, with no rename
(which an object store would do as a copy). A run commits with its manifest, written last:
the lake's events are the parts its manifests list and its quarantine the files of runs with
a manifest. What a run killed before that left behind is never read, and the next writer
removes it (:func:`discard_unfinished`), so the manifests always add up to the lake.

>>> import pyarrow as pa
>>> table = pa.table({"event_id": ["e1"], "type": ["click"], "ts": pa.array([1714521600000], pa.timestamp("ms", "UTC")),
...                   "user_id": ["u1"], "item_id": ["i1"]})
>>> lake = f"memory://doctest-{uuid.uuid4().hex}"
>>> parts = write_events(lake, table, run_id="r1")
>>> [p["rows"] for p in parts], len(read_events(lake))  # written, not yet committed
([1], 0)
>>> _ = write_manifest(lake, {"run_id": "r1", "parts": parts})
>>> read_events(lake, types=["click"], start="2024-05-01")[["event_id", "item_id"]].to_dict("records")
[{'event_id': 'e1', 'item_id': 'i1'}]
>>> read_events(lake, types=["search"]).columns.tolist()
['event_id', 'type', 'ts', 'user_id', 'query', 'extra']
"""

from __future__ import annotations

import datetime as dt
import json
import posixpath
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Iterable, Iterator, Sequence

import fsspec
from fsspec.implementations.local import LocalFileSystem
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from bunjang_lab.errors import InvalidInput, MissingInput
from bunjang_lab.events import COMMON, FIELDS, TYPE_FIELDS, TYPES
from bunjang_lab.storage import storage_options

EVENTS, MANIFESTS, QUARANTINE, TMP = "events", "_manifests", "_quarantine", "_tmp"
TS_TYPE = pa.timestamp("ms", tz="UTC")
_ARROW_TYPES = {"id": pa.string(), "string": pa.string(), "category": pa.string(), "choice": pa.string(),
                "integer": pa.int64(), "boolean": pa.bool_(), "string_list": pa.list_(pa.string()),
                "timestamp": TS_TYPE}
# Every column an event can have in the lake, in contract order (``type`` comes from the path).
SCHEMA = pa.schema([(name, _ARROW_TYPES[FIELDS[name].kind]) for name in COMMON if name != "type"]
                   + [(name, _ARROW_TYPES[FIELDS[name].kind]) for name in TYPE_FIELDS]
                   + [("extra", pa.string())])
_EPOCH_DAY = dt.date(1970, 1, 1)
# Free text and ids: a file's min/max of them spans nearly every value, so statistics would
# prune nothing and cost 10% of the write (memcmp over every value).
_NO_STATISTICS = {"event_id", "user_id", "item_id", "to_user_id", "images", "title", "description", "text", "extra"}
# Columns with few distinct values, where a Parquet dictionary pays off. Ids repeat too
# little in a day's file: zstd alone stores them smaller and writes them faster.
_DICTIONARY = {"gender", "category", "brand", "status", "surface", "query"}
PARTITIONING = ds.partitioning(pa.schema([("type", pa.string()), ("date", pa.string())]), flavor="hive")


def type_schema(type_name: str) -> pa.Schema:
    """The columns stored in the files of one event type."""
    keep = set(TYPES[type_name].fields)
    return pa.schema([f for f in SCHEMA if f.name in keep or f.name in COMMON or f.name == "extra"])


def filesystem(lake: str | Any) -> tuple[fsspec.AbstractFileSystem, str]:
    """(fsspec filesystem, root path) for a local path or URL."""
    fs, root = fsspec.core.url_to_fs(str(lake), **storage_options(str(lake)))
    return fs, root.rstrip("/") or "/"


def _arrow_fs(fs: fsspec.AbstractFileSystem):
    """Arrow's native filesystem for local paths (faster than going through fsspec)."""
    return pafs.LocalFileSystem() if isinstance(fs, LocalFileSystem) else fs


def _staging_path(fs, root: str, final_path: str) -> str:
    """Where a file is written before :func:`_publish` shows it at ``final_path``: a temporary
    name on a local disk, the final path itself on an object store. Its folder exists."""
    staged = final_path
    if isinstance(fs, LocalFileSystem):
        staged = f"{root}/{TMP}/{uuid.uuid4().hex}{posixpath.splitext(final_path)[1]}"
    fs.makedirs(posixpath.dirname(staged), exist_ok=True)
    return staged


def _publish(fs, staged_path: str, final_path: str) -> None:
    if staged_path != final_path:
        fs.makedirs(posixpath.dirname(final_path), exist_ok=True)
        fs.mv(staged_path, final_path)


def write_bytes_atomic(lake, relative_path: str, data: bytes) -> str:
    """Write ``data`` to ``lake/relative_path``, seen whole or not at all (see the module)."""
    fs, root = filesystem(lake)
    final = f"{root}/{relative_path}"
    staged = _staging_path(fs, root, final)
    with fs.open(staged, "wb") as out:
        out.write(data)
    _publish(fs, staged, final)
    return final


def _part_name(part: dict[str, Any]) -> str:
    """A part's path inside ``events/`` (from its type, date and file name, so a lake may move)."""
    return f"type={part['type']}/date={part['date']}/{posixpath.basename(part['path'])}"


def _committed(root: str, manifests: Sequence[dict[str, Any]]) -> list[str]:
    """Paths of the parts the manifests list."""
    return [f"{root}/{EVENTS}/{_part_name(part)}" for manifest in manifests for part in manifest.get("parts", [])]


def discard_unfinished(lake) -> int:
    """Remove what runs killed before their manifest left: temporary files, parts and quarantine
    files no manifest lists. Returns how many files; call it only when no other run writes."""
    fs, root = filesystem(lake)
    manifests = read_manifests(lake)
    parts = {_part_name(part) for manifest in manifests for part in manifest.get("parts", [])}
    quarantines = {f"{manifest['run_id']}.jsonl" for manifest in manifests}

    def unfinished(folder: str, path: str) -> bool:  # compared by their ends: fsspec may spell the root otherwise
        names = path.split("/")
        return (folder == TMP or (folder == EVENTS and "/".join(names[-3:]) not in parts)
                or (folder == QUARANTINE and names[-1] not in quarantines))

    leftovers = [path for folder in (TMP, EVENTS, QUARANTINE) if fs.exists(f"{root}/{folder}")
                 for path in fs.find(f"{root}/{folder}") if unfinished(folder, path)]
    if leftovers:
        fs.rm(leftovers)
    return len(leftovers)


def _conform(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """``table`` with exactly ``schema``'s columns; missing ones are null."""
    columns = [table[f.name] if f.name in table.column_names else pa.nulls(table.num_rows, f.type) for f in schema]
    return pa.table(columns, schema=schema)


def write_events(lake, table: pa.Table, *, run_id: str, rows: np.ndarray | None = None) -> list[dict[str, Any]]:
    """Write events (lake columns plus ``type``; only the ``rows`` indexes when given)
    partitioned by type and UTC date.

    Returns one ``{"path", "type", "date", "rows"}`` per file written. Rows keep their
    input order inside each file.
    """
    rows = np.arange(table.num_rows) if rows is None else np.asarray(rows)
    if len(rows) == 0:
        return []
    fs, root = filesystem(lake)
    # Taking rows from a column of many chunks costs about as much as joining them first, and
    # every partition takes from every column: join them once (1M events: 0.8 s -> 0.1 s).
    table = table.combine_chunks()
    types = table["type"].combine_chunks().dictionary_encode()
    days = pc.cast(table["ts"], pa.int64()).to_numpy()[rows] // 86_400_000
    codes = types.indices.to_numpy(zero_copy_only=False)[rows].astype(np.int64)
    first_day, day_span = int(days.min()), int(days.max() - days.min()) + 1
    type_names = types.dictionary.to_pylist()
    # A partition's number among all (type, day) pairs of the run's span; counting them is
    # cheaper than hashing, and the span is short (what is older than the ingest's lower bound
    # was rejected), but any span works.
    cell = codes * day_span + (days - first_day)
    sizes = np.bincount(cell, minlength=len(type_names) * day_span)
    cells = np.flatnonzero(sizes)
    group = np.zeros(len(sizes), dtype=np.int64)
    group[cells] = np.arange(len(cells))
    group = group[cell]
    if len(cells) <= 1 << 16:
        group = group.astype(np.uint16)  # numpy's stable sort of 16-bit keys is a radix sort
    attempt = uuid.uuid4().hex[:8]  # a retried run with the same id never replaces a file
    order = rows[np.argsort(group, kind="stable")]
    starts = np.concatenate([[0], np.cumsum(sizes[cells])])

    def write(number: int) -> dict[str, Any]:
        type_name = type_names[int(cells[number] // day_span)]
        date = (_EPOCH_DAY + dt.timedelta(days=first_day + int(cells[number] % day_span))).isoformat()
        schema = type_schema(type_name)
        part = _conform(table.select([n for n in schema.names if n in table.column_names])
                        .take(pa.array(order[starts[number]:starts[number + 1]])), schema)
        final = f"{root}/{EVENTS}/type={type_name}/date={date}/part-{run_id}-{attempt}-{number:04d}.parquet"
        staged = _staging_path(fs, root, final)
        dictionary = [n for n in schema.names if n in _DICTIONARY]
        statistics = [n for n in schema.names if n not in _NO_STATISTICS]
        # Times in a file are nearly sorted: delta encoding halves their encoding time and stores them smaller.
        pq.write_table(part, staged, filesystem=_arrow_fs(fs), compression="zstd", use_dictionary=dictionary,
                       write_statistics=statistics, column_encoding={"ts": "DELTA_BINARY_PACKED"})
        _publish(fs, staged, final)
        return {"path": final, "type": type_name, "date": date, "rows": part.num_rows}

    # Parquet encoding releases the GIL. Largest partitions first, so neither thread is left
    # writing a big one alone at the end; results keep the partition order.
    largest_first = np.argsort(-np.diff(starts), kind="stable").tolist()
    with ThreadPoolExecutor(max_workers=2) as pool:
        written = dict(zip(largest_first, pool.map(write, largest_first)))
    return [written[number] for number in range(len(cells))]


def _dataset(lake) -> ds.Dataset | None:
    """The committed parts as one dataset (None when there are none)."""
    fs, root = filesystem(lake)
    parts = _committed(root, read_manifests(lake))
    if not parts:
        return None
    schema = pa.unify_schemas([SCHEMA, PARTITIONING.schema])
    return ds.dataset(parts, format="parquet", filesystem=_arrow_fs(fs), partitioning=PARTITIONING,
                      partition_base_dir=f"{root}/{EVENTS}", schema=schema)


def _as_utc(value) -> pd.Timestamp:
    stamp = pd.Timestamp(value)
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def event_ids(lake) -> pa.Array:
    """Every event_id in the lake (only that column is read)."""
    dataset = _dataset(lake)
    if dataset is None:
        return pa.array([], pa.string())
    return dataset.to_table(columns=["event_id"]).column("event_id").combine_chunks()


def event_id_batches(lake, batch_rows: int = 1 << 20) -> Iterator[pa.Array]:
    """The lake's event ids a batch of at most ``batch_rows`` at a time (only that column of
    one row group is read and held at once): the duplicate check never holds them all."""
    fs, root = filesystem(lake)
    arrow_fs = _arrow_fs(fs)
    for path in _committed(root, read_manifests(lake)):
        with (arrow_fs.open_input_file(path) if arrow_fs is not fs else fs.open(path, "rb")) as handle:
            for batch in pq.ParquetFile(handle).iter_batches(batch_size=batch_rows, columns=["event_id"]):
                yield batch.column(0)


def columns_for(types: Iterable[str] | None) -> list[str]:
    """The DataFrame columns :func:`read_events` returns for these types (all when None)."""
    chosen = list(TYPES) if types is None else list(types)
    fields = {f for t in chosen for f in TYPES[t].fields}
    return [*COMMON, *(f for f in TYPE_FIELDS if f in fields), "extra"]


def _to_pandas(table: pa.Table) -> pd.DataFrame:
    mapping = {pa.int64(): pd.Int64Dtype(), pa.bool_(): pd.BooleanDtype()}
    return table.to_pandas(types_mapper=mapping.get)


def read_events(lake, types: Sequence[str] | str | None = None, start=None, end=None,
                columns: Sequence[str] | None = None) -> pd.DataFrame:
    """Events of the chosen types with ``start <= ts < end`` as a pandas DataFrame.

    ``start``/``end`` accept strings, datetimes or Timestamps (naive means UTC). Only the
    partitions of the chosen types and dates are opened. Columns: ``event_id, type, ts
    (datetime64[ms, UTC]), user_id``, the fields of the chosen types, ``extra``; integers
    are nullable ``Int64``. Rows are ordered by ts. An empty lake or no match gives an
    empty DataFrame with the same columns.
    """
    types = [types] if isinstance(types, str) else None if types is None else list(types)
    unknown = sorted(set(types or ()) - set(TYPES))
    if unknown:
        raise InvalidInput(f"unknown event types {unknown}; known: {', '.join(TYPES)}")
    wanted = columns_for(types)
    if columns is not None:
        missing = [c for c in columns if c not in wanted]
        if missing:
            raise InvalidInput(f"no such columns for these types: {missing}")
        wanted = list(columns)
    condition = None
    clauses = []
    if types is not None:
        clauses.append(ds.field("type").isin(types))
    if start is not None:
        start = _as_utc(start)
        clauses += [ds.field("date") >= start.strftime("%Y-%m-%d"), ds.field("ts") >= pa.scalar(start, TS_TYPE)]
    if end is not None:
        end = _as_utc(end)
        clauses += [ds.field("date") <= end.strftime("%Y-%m-%d"), ds.field("ts") < pa.scalar(end, TS_TYPE)]
    for clause in clauses:
        condition = clause if condition is None else condition & clause
    dataset = _dataset(lake)
    read = list(dict.fromkeys([*wanted, "ts"]))
    if dataset is None:
        table = pa.table({c: pa.array([], SCHEMA.field(c).type if c != "type" else pa.string()) for c in read})
    else:
        table = dataset.to_table(columns=read, filter=condition)
    table = table.sort_by([("ts", "ascending")]).select(wanted)
    if "type" in wanted:
        table = table.set_column(table.schema.get_field_index("type"), "type", table["type"].cast(pa.string()))
    return _to_pandas(table)


def require_events(lake, types: Sequence[str] | str | None = None, start=None, end=None,
                   columns: Sequence[str] | None = None) -> pd.DataFrame:
    """:func:`read_events`, where a missing lake or a window without events is :class:`MissingInput`."""
    fs, root = filesystem(lake)
    if not fs.exists(root):
        raise MissingInput(f"lake not found: {lake} (run `python -m bunjang_lab ingest` first)")
    events = read_events(lake, types, start, end, columns)
    if events.empty:
        window = "".join(f" {word} {value}" for word, value in (("from", start), ("before", end)) if value is not None)
        raise MissingInput(f"no events in {lake}{window} (run `python -m bunjang_lab ingest` first)")
    return events


def write_manifest(lake, manifest: dict[str, Any]) -> str:
    """Record what a run did and commit it: its ``parts`` and its quarantine become the lake's."""
    data = json.dumps(manifest, ensure_ascii=False, indent=1).encode()
    return write_bytes_atomic(lake, f"{MANIFESTS}/{manifest['run_id']}.json", data)


def read_manifests(lake) -> list[dict[str, Any]]:
    """Every run's manifest, oldest first."""
    fs, root = filesystem(lake)
    paths = sorted(fs.glob(f"{root}/{MANIFESTS}/*.json"))
    manifests = [json.loads(fs.cat_file(p)) for p in paths]
    return sorted(manifests, key=lambda m: (m.get("started_at", ""), m["run_id"]))


def unused_run_id(lake, run_id: str) -> str:
    """``run_id``, or ``run_id.2``, ``run_id.3``... when a manifest already uses it."""
    fs, root = filesystem(lake)
    candidate, n = run_id, 1
    while fs.exists(f"{root}/{MANIFESTS}/{candidate}.json"):
        n += 1
        candidate = f"{run_id}.{n}"
    return candidate


def manifest_table(lake) -> pd.DataFrame:
    """One row per ingest run: run_id, started_at, read, accepted, duplicates, quarantined, late,
    out_of_order, seconds, files (count)."""
    columns = ["run_id", "started_at", "read", "accepted", "duplicates", "quarantined", "late", "out_of_order",
               "seconds"]
    rows = [{**{c: m.get(c) for c in columns}, "files": len(m.get("files", []))} for m in read_manifests(lake)]
    return pd.DataFrame(rows, columns=[*columns, "files"])


def write_quarantine(lake, run_id: str, records: Sequence[dict[str, Any]]) -> str | None:
    if not records:
        return None
    data = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records).encode()
    return write_bytes_atomic(lake, f"{QUARANTINE}/{run_id}.jsonl", data)


def read_quarantine(lake, run_id: str | None = None) -> pd.DataFrame:
    """Rejected records (``run_id, source, line, reason, field, detail, raw``) of one or every
    committed run, oldest run first."""
    fs, root = filesystem(lake)
    rows = []
    for manifest in read_manifests(lake):
        name = manifest["run_id"]
        if not manifest.get("quarantined") or run_id not in (None, name):
            continue
        text = fs.cat_file(f"{root}/{QUARANTINE}/{name}.jsonl").decode()
        rows += [{"run_id": name, **json.loads(line)} for line in text.splitlines() if line]
    return pd.DataFrame(rows, columns=["run_id", "source", "line", "reason", "field", "detail", "raw"])


def latest_ts_by_type(lake) -> dict[str, int]:
    """The newest ts (epoch ms) ingested so far per type, from the manifests (cheap)."""
    newest: dict[str, int] = {}
    for manifest in read_manifests(lake):
        for type_name, ts_ms in manifest.get("max_ts_ms", {}).items():
            newest[type_name] = max(ts_ms, newest.get(type_name, ts_ms))
    return newest


def lake_summary(lake) -> dict[str, Any]:
    """Totals over all runs: events by type, duplicates, quarantined by reason, late events."""
    summary: dict[str, Any] = {"runs": 0, "read": 0, "accepted": 0, "duplicates": 0, "quarantined": 0,
                               "late": 0, "out_of_order": 0, "by_type": {}, "by_reason": {}}
    for manifest in read_manifests(lake):
        summary["runs"] += 1
        for key in ("read", "accepted", "duplicates", "quarantined", "late", "out_of_order"):
            summary[key] += manifest.get(key, 0)
        for group in ("by_type", "by_reason"):
            for name, count in manifest.get(group, {}).items():
                summary[group][name] = summary[group].get(name, 0) + count
    return summary

