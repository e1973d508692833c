"""``python -m bunjang_lab publish RUN_DIR [--cache URL] [--keep N]`` / ``publish --rollback``.

Loads what a run folder holds (the "Runs" contract in docs/architecture.md), writes it as
a new cache version and switches the current version in one atomic step; ``--rollback``
switches back to the previous kept version. The key layout is in docs/serving.md.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Iterable, Iterator

from bunjang_lab import paths, progress
from bunjang_lab.cli import UserError, parser
from bunjang_lab.errors import InvalidInput, MissingInput
from bunjang_lab.serving import keys
from bunjang_lab.serving.backends import open_cache

SUGGESTIONS_PER_BUCKET = 2000
"""Most popular queries kept per first-keystroke bucket, so a bucket stays well under the cap."""


def _table(path: Path, columns: list[str]):
    """The Parquet table at ``path`` (None if absent); unreadable or lacking columns is an error."""
    import pyarrow.parquet as pq

    if not path.exists():
        return None
    try:
        table = pq.read_table(path)
    except Exception as exc:  # pyarrow raises several types for a damaged file
        raise InvalidInput(f"{path}: not a readable Parquet file ({exc})") from None
    missing = [c for c in columns if c not in table.column_names]
    if missing:
        raise InvalidInput(f"{path}: missing column(s) {', '.join(missing)}")
    return table


def _python(column) -> list:
    """A column as Python values, ids as text and scores rounded (in Arrow, not per value)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if pa.types.is_floating(column.type):
        return pc.round(column.cast(pa.float64()), 6).to_pylist()
    if not pa.types.is_string(column.type) and not pa.types.is_large_string(column.type) and not pa.types.is_boolean(column.type):
        column = column.cast(pa.string())
    return column.to_pylist()


def _groups(table, by: str, order: str, columns: list[str]) -> Iterator[tuple[str, list[list]]]:
    """(key, [column values...]) per distinct ``by`` value, rows ordered by ``order``.

    >>> import pyarrow as pa
    >>> t = pa.table({"u": [2, 1, 2], "rank": [2, 1, 1], "item": ["b", "c", "a"], "score": [0.5, 1.0, 0.25]})
    >>> list(_groups(t, "u", "rank", ["item", "score"]))
    [('1', [['c'], [1.0]]), ('2', [['a', 'b'], [0.25, 0.5]])]
    """
    import numpy as np
    import pyarrow.compute as pc

    if table.num_rows == 0:
        return
    table = table.sort_by([(by, "ascending"), (order, "ascending")])
    ids = table.column(by)
    changed = pc.not_equal(ids.slice(1), ids.slice(0, len(ids) - 1)).to_numpy(zero_copy_only=False)
    bounds = [0, *(np.flatnonzero(changed) + 1).tolist(), len(ids)]
    keys, cols = _python(ids), [_python(table.column(c)) for c in columns]
    for start, end in zip(bounds[:-1], bounds[1:]):
        yield keys[start], [col[start:end] for col in cols]


def _scored(item_ids: list, scores: list, whys: list | None = None) -> list[tuple]:
    """``[item, score]`` pairs, or ``[item, score, why]`` when the list says why (JSON writes
    tuples as lists)."""
    return list(zip(item_ids, scores, whys)) if whys is not None else list(zip(item_ids, scores))


def _json(value: Any, default: Any) -> Any:
    if value is None or value == "":
        return default
    return json.loads(value) if isinstance(value, str) else value


FALLBACK_SOURCES = ("segment", "global")
"""Row sources of a home feed that are not personal (the products' candidate sources are:
related, category, popular: personal; segment, global: a thin history's fallback)."""


def feed_source(row_sources: list) -> str:
    """What a user's feed is, from the sources of its rows.

    >>> feed_source(["related", "segment"]), feed_source(["segment", "global"]), feed_source(["global"])
    ('personal', 'segment', 'global')
    """
    if any(s not in FALLBACK_SOURCES for s in row_sources):
        return "personal"
    return "segment" if "segment" in row_sources else "global"


def _whys(table, columns: list[str]) -> list[str]:
    """``columns`` plus the ``why`` column when the table has it (runs before reasons existed lack it)."""
    return [*columns, "why"] if "why" in table.column_names else columns


def _home(table) -> Iterable[tuple[str, Any]]:
    for user, (items, scores, sources, *whys) in _groups(table, "user_id", "rank", _whys(table, ["item_id", "score", "source"])):
        yield keys.home(user), {"source": feed_source(sources), "items": _scored(items, scores, *whys)}


def _candidates(table) -> Iterable[tuple[str, Any]]:
    """``cand:<user>``: the candidate ids, and ``{"why": {item: reason}}`` beside them when known,
    so a real-time re-ranking keeps each item's reason."""
    for user, (items, *whys) in _groups(table, "user_id", "item_id", _whys(table, ["item_id"])):
        yield keys.candidates(user), items if not whys else {"items": items, "why": dict(zip(items, whys[0]))}


def _popular(table) -> Iterable[tuple[str, Any]]:
    for segment, (items, scores) in _groups(table, "segment", "rank", ["item_id", "score"]):
        yield keys.popular(segment), _scored(items, scores)


def _related(table) -> Iterable[tuple[str, Any]]:
    for item, (related, scores, *whys) in _groups(table, "item_id", "rank", _whys(table, ["related_item_id", "score"])):
        yield keys.related(item), _scored(related, scores, *whys)


_PER_SECOND = {"s": 1, "ms": 10**3, "us": 10**6, "ns": 10**9}


def _items(table) -> Iterable[tuple[str, Any]]:
    """``item:<id>`` = {"title", "category", "price", "listed_at": Unix seconds} per live listing."""
    import pyarrow as pa
    import pyarrow.compute as pc

    listed = table.column("listed_at")
    if pa.types.is_timestamp(listed.type):
        listed_at = pc.divide(pc.cast(listed, pa.int64()).cast(pa.float64()), _PER_SECOND[listed.type.unit]).to_pylist()
    else:
        listed_at = _python(listed)
    columns = [_python(table.column(c)) for c in ("item_id", "title", "category", "price")]
    for (item, title, category, price), at in zip(zip(*columns), listed_at):
        yield keys.item(item), {"title": title, "category": category, "price": price, "listed_at": at}


def _suggest(table) -> Iterable[tuple[str, Any]]:
    columns = ["query", "keystrokes", "chosung", "score", "categories"]
    for bucket, values in _groups(table, "bucket", "query", columns):
        entries = [dict(zip(columns, row)) for row in zip(*values)]
        entries.sort(key=lambda e: -float(e["score"]))
        yield keys.suggestions(bucket), [
            {**e, "score": float(e["score"]), "categories": _json(e["categories"], {})} for e in entries[:SUGGESTIONS_PER_BUCKET]
        ]


def _users(table) -> Iterable[tuple[str, Any]]:
    rows = zip(*(table.column(c).to_pylist() for c in ["user_id", "segment", "recent_categories", "recent_items"]))
    for user, segment, categories, items in rows:
        yield keys.user(str(user)), {
            "segment": segment,
            "recent_categories": _json(categories, {}),
            "recent_items": _json(items, {}),
        }


# part name -> (file in the run folder, required columns, key/value generator)
PARTS = {
    "home": ("products/home.parquet", ["user_id", "rank", "item_id", "score", "source"], _home),
    "candidates": ("products/candidates.parquet", ["user_id", "item_id"], _candidates),
    "popular": ("products/popular.parquet", ["segment", "rank", "item_id", "score"], _popular),
    "related": ("products/related.parquet", ["item_id", "rank", "related_item_id", "score"], _related),
    "suggest": ("products/suggest.parquet", ["bucket", "query", "keystrokes", "chosung", "score", "categories"], _suggest),
    "users": ("products/users.parquet", ["user_id", "segment", "recent_categories", "recent_items"], _users),
    "items": ("products/items.parquet", ["item_id", "title", "category", "price", "listed_at"], _items),
}


def _seller_verdicts(run_dir: Path) -> dict[str, dict]:
    """Every scored seller: user_id -> {"risk", "flagged", "anomaly_score", "reasons"}."""
    sellers = _table(run_dir / "fraud/sellers.parquet", ["user_id", "risk", "flagged", "anomaly_score", "reasons"])
    if sellers is None:
        return {}
    columns = (sellers.column(c).to_pylist() for c in ["user_id", "risk", "flagged", "anomaly_score", "reasons"])
    return {str(user): {"risk": float(risk), "flagged": bool(flagged), "reasons": _json(reasons, []),
                        "anomaly_score": None if anomaly is None or anomaly != anomaly else round(float(anomaly), 4)}
            for user, risk, flagged, anomaly, reasons in zip(*columns)}


def _fraud_flags(run_dir: Path, sellers: dict[str, dict]) -> dict[str, dict]:
    """Flagged listings, plus every listing of a flagged seller: item_id -> {"risk", "reasons"}."""
    flags: dict[str, dict] = {}
    listings = _table(run_dir / "fraud/listings.parquet", ["item_id", "seller_id", "risk", "flagged", "reasons"])
    if listings is not None:
        columns = ["item_id", "seller_id", "risk", "flagged", "reasons"]
        for item, seller, risk, flagged, reasons in zip(*(listings.column(c).to_pylist() for c in columns)):
            verdict = sellers.get(str(seller))
            if flagged:
                flags[str(item)] = {"risk": float(risk), "reasons": _json(reasons, [])}
            elif verdict and verdict["flagged"]:
                flags[str(item)] = {"risk": verdict["risk"], "reasons": verdict["reasons"]}
    return flags


def _vector_lists(column) -> list[list[float]]:
    """A list<float> column as Python lists, rounded to 7 digits in Arrow (float32 exports
    would otherwise print as 0.10000000149011612)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    column = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    values = pc.round(column.flatten().cast(pa.float64()), 7)
    if pa.types.is_fixed_size_list(column.type):
        return pa.FixedSizeListArray.from_arrays(values, column.type.list_size).to_pylist()
    offsets = pc.subtract(column.offsets, column.offsets[0])  # a sliced array's offsets start later
    return pa.ListArray.from_arrays(offsets, values).to_pylist()


def _item_facts(run_dir: Path, items, run_info: dict) -> dict[str, dict]:
    """item_id -> {"c": category, "s": seller} for real-time updates (recent categories) and
    the feed's seller and category caps. Sources, later ones winning: the listing events of
    the run's lake (``run.json`` products.lake), fraud/listings.parquet (sellers), a
    ``category`` column of vectors/items.parquet."""
    facts: dict[str, dict] = {}
    lake = (run_info.get("products") or {}).get("lake")
    if lake:
        from bunjang_lab.lake import read_events

        listings = read_events(lake, types=["listing"], columns=["item_id", "category", "user_id"])
        for item, category, seller in zip(listings["item_id"], listings["category"], listings["user_id"]):
            facts[str(item)] = {"c": category, "s": str(seller)}  # events in time order: the last listing wins
    sellers = _table(run_dir / "fraud/listings.parquet", ["item_id", "seller_id"])
    if sellers is not None:
        for item, seller in zip(sellers.column("item_id").to_pylist(), sellers.column("seller_id").to_pylist()):
            facts.setdefault(str(item), {})["s"] = str(seller)
    if "category" in items.column_names:
        for item, category in zip(items.column("item_id").to_pylist(), items.column("category").to_pylist()):
            if category:
                facts.setdefault(str(item), {})["c"] = category
    return facts


def _vectors(run_dir: Path, run_info: dict) -> Iterator[tuple[str, Any]] | None:
    """Cache entries of ``products/vectors/`` (the FM split written by the ranker's
    ``export_vectors``), or None when the run has none:

    - users.parquet (user_id, vector, bias) -> ``uvec:<user>`` = the static vector
    - items.parquet (item_id, vector, bias) -> ``ivec:<item>`` = {"v", "b", "c": category, "s": seller}
    - factors.parquet (key, vector) -> ``factor:<key>`` (recent_category=..., recent_item=...)
    - meta.json ``recent_params`` -> ``realtime_params`` (half-life, top-n... as in training)
    """
    folder = run_dir / "products/vectors"
    if not folder.is_dir():
        return None
    users = _table(folder / "users.parquet", ["user_id", "vector"])
    items = _table(folder / "items.parquet", ["item_id", "bias", "vector"])
    factors = _table(folder / "factors.parquet", ["key", "vector"])
    meta_path = folder / "meta.json"
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8")) if meta_path.exists() else {}
    except ValueError as exc:
        raise InvalidInput(f"{meta_path}: invalid JSON ({exc})") from None
    facts = _item_facts(run_dir, items, run_info) if items is not None else {}

    def entries() -> Iterator[tuple[str, Any]]:
        if meta.get("recent_params"):
            yield keys.REALTIME_PARAMS, meta["recent_params"]
        if factors is not None:
            for key, vector in zip(factors.column("key").to_pylist(), _vector_lists(factors.column("vector"))):
                yield keys.factor(str(key)), vector
        if users is not None:
            for user, vector in zip(users.column("user_id").to_pylist(), _vector_lists(users.column("vector"))):
                yield keys.user_vector(str(user)), vector
        if items is not None:
            rows = zip(_python(items.column("item_id")), _vector_lists(items.column("vector")), _python(items.column("bias")))
            for item, vector, bias in rows:
                known = {k: v for k, v in facts.get(item, {}).items() if v is not None}
                yield keys.item_vector(item), {"v": vector, "b": bias, **known}

    return entries()


def _run_info(path: Path) -> dict:
    """run.json (run id, lake, model...), empty when absent; unreadable is a one-line error."""
    if not path.exists():
        return {}
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise InvalidInput(f"{path}: invalid JSON ({exc})") from None
    if not isinstance(info, dict):
        raise InvalidInput(f"{path}: expected a JSON object")
    return info


def _decisions(lake: str) -> list[dict]:
    """The lake's ``moderation`` events as :func:`~bunjang_lab.serving.blocklist.rebuild` takes them."""
    from bunjang_lab.lake import read_events

    frame = read_events(lake, types=["moderation"])
    fields = ["target_kind", "target_id", "decision", "target_text"]
    return [{**{f: (None if value != value else value) for f, value in zip(fields, values)},  # NaN: absent
             "fraud_categories": [str(c) for c in categories] if categories is not None and len(categories) else [],
             "ts": ts.timestamp()}
            for *values, categories, ts in zip(*(frame[f] for f in fields), frame["fraud_categories"], frame["ts"])]


def _blocklist_lake(lake: str | None, run_info: dict) -> str | None:
    """The lake whose decisions the blocklist is rebuilt from: ``lake``, else the run's, else
    the home's (``BUNJANG_LAKE`` or ``BUNJANG_HOME/lake``) when there is one."""
    lake = lake or (run_info.get("products") or {}).get("lake")
    if lake:
        return str(lake)
    home = paths.lake_dir()
    return home if "://" in home or Path(home).is_dir() else None


def publish_run(run_dir: str | Path, cache_url: str | None = None, keep: int = 3, lake: str | None = None,
                image_index: str | Path | None = None) -> dict:
    """Publish ``run_dir`` as a new version of the cache at ``cache_url`` and make it current,
    then rebuild the confirmed-scam blocklist (live keys) from the moderators' decisions in the
    lake (see :func:`_blocklist_lake`), with the listings' pictures from ``image_index``
    (default ``BUNJANG_HOME/image_index`` when built): idempotent, and a new cache gets it.

    Returns ``{"version", "run", "counts": {part: keys}, "seconds", "versions", "blocklist"}``.
    Parts absent from the run are absent from the new version (a run folder is complete).
    """
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise MissingInput(f"run folder not found: {run_dir}")
    if keep < 0:
        raise InvalidInput("keep must be 0 or more")
    started = time.perf_counter()
    run_info = _run_info(run_dir / "run.json")
    run_id = str(run_info.get("run_id") or run_dir.name)
    tables = {name: _table(run_dir / path, columns) for name, (path, columns, _) in PARTS.items()}
    sellers = _seller_verdicts(run_dir)
    flags = _fraud_flags(run_dir, sellers)
    vectors = _vectors(run_dir, run_info)
    if all(t is None for t in tables.values()) and not flags and vectors is None and not (run_dir / "fraud").is_dir():
        raise MissingInput(f"{run_dir} holds no products/ or fraud/ results to publish")
    counts: dict[str, int] = {}
    # at a terminal a bar counts the parts written, then the blocklist
    parts = sum(t is not None for t in tables.values()) + 1 + (vectors is not None) + 1
    with open_cache(cache_url, create=True) as cache, progress.Steps("publish", total=parts, unit="part") as done:
        with cache.new_version(run=run_id, keep=keep) as writer:
            for name, table in tables.items():
                if table is not None:
                    counts[name] = writer.put_many(PARTS[name][2](table))
                    done(f"{name}: {counts[name]:,} keys")
            counts["fraud_flags"] = writer.put_many((keys.flag(item), flag) for item, flag in flags.items())
            counts["sellers"] = writer.put_many((keys.seller(user), verdict) for user, verdict in sellers.items())
            done(f"fraud flags and sellers: {counts['fraud_flags'] + counts['sellers']:,} keys")
            if vectors is not None:
                counts["vectors"] = writer.put_many(vectors)
                done(f"vectors: {counts['vectors']:,} keys")
            manifest = {"run": run_id, "run_dir": str(run_dir.resolve()), "counts": counts, "model": (run_info.get("products") or {}).get("model")}
            writer.put(keys.MANIFEST, manifest)
        version = writer.version
        kept = [v["version"] for v in cache.versions()]
        decisions_lake = _blocklist_lake(lake, run_info)
        blocklist = {"lake": None, "decisions": 0}
        if decisions_lake is not None:
            from bunjang_lab.fraud.images.cli import default_index
            from bunjang_lab.serving.blocklist import index_pictures, rebuild

            blocklist = {"lake": decisions_lake, **rebuild(cache, _decisions(decisions_lake),
                                                           index_pictures(image_index or default_index()))}
        done("blocklist rebuilt")
    return {"version": version, "run": run_id, "counts": counts, "seconds": round(time.perf_counter() - started, 3),
            "versions": kept, "blocklist": blocklist}


def rollback(cache_url: str | None = None) -> dict:
    """Make the previous kept version current again; returns ``{"from_version", "version", "run"}``."""
    with open_cache(cache_url) as cache:
        return cache.rollback()


def run(argv: list[str]) -> int:
    p = parser("python -m bunjang_lab publish", "Publish a run to the serving cache as a new version, or roll back.")
    p.add_argument("run_dir", nargs="?", help="run folder written by `recommend --out` / `fraud --out` (relative to BUNJANG_HOME)")
    p.add_argument("--cache", default=None, help="cache URL (default: BUNJANG_CACHE_URL or sqlite:///var/cache.sqlite)")
    p.add_argument("--keep", type=int, default=3, help="previous versions kept for rollback (default 3)")
    p.add_argument("--rollback", action="store_true", help="make the previous kept version current again")
    p.add_argument("--lake", default=None, help="lake whose moderation decisions rebuild the blocklist (default: "
                   "the run's, else BUNJANG_LAKE or BUNJANG_HOME/lake)")
    p.add_argument("--index", default=None, help="image index of the confirmed listings' pictures "
                   "(default: BUNJANG_HOME/image_index when built)")
    p.add_argument("--json", action="store_true", help="print the result as one JSON object instead of a table")
    args = p.parse_args(argv)
    if args.rollback == bool(args.run_dir):
        raise UserError("give either RUN_DIR or --rollback")
    result = rollback(args.cache) if args.rollback else publish_run(paths.in_home(args.run_dir), args.cache, keep=args.keep,
                                                                    lake=args.lake, image_index=args.index)
    if args.json:
        print(json.dumps(result, ensure_ascii=False))
    elif args.rollback:
        print(f"rolled back from version {result['from_version']} to version {result['version']} (run {result['run']})")
    else:
        from bunjang_lab.tables import text_table

        blocklist = result["blocklist"]
        print(f"published run {result['run']} as version {result['version']} (current) in {result['seconds']} s; "
              f"versions kept: {', '.join(map(str, result['versions']))}; blocklist: "
              + (f"{blocklist['entries']} entries from {blocklist['decisions']} decisions in the lake"
                 if blocklist["lake"] else "no lake to rebuild it from"))
        print(text_table([{"part": name, "keys": n} for name, n in result["counts"].items()]))
    return 0
