"""``score cache info|keys|get``: what the serving cache holds, without opening SQLite or Redis.

- ``info``: the committed versions (run, publish time, keys and bytes of each), the current
  version's keys by kind (the part before the first ``:``) and the live key space;
- ``keys [--prefix P]``: keys of a version with their stored size;
- ``get KEY``: one key's value, as JSON.

``--version N`` looks at a kept older version, ``--live`` at the live key space (items sold
or flagged since the batch). Tables by default, ``--json`` for machines.
"""

from __future__ import annotations

import argparse
from collections import defaultdict
from typing import Iterable

from bunjang_lab.cli import UserError, parser
from bunjang_lab.serving.backends import open_cache
from bunjang_lab.serving.cache import Cache
from bunjang_lab.serving.commands.common import emit
from bunjang_lab.tables import text_table

PROG = "python -m bunjang_lab.score cache"
ACTIONS = ("info", "keys", "get")


def kind_of(key: str) -> str:
    """The kind of a key: what precedes its first ``:`` (``home:u1`` -> ``home``), else the key.

    >>> kind_of("home:u1"), kind_of("factor:recent_item=i9"), kind_of("_manifest")
    ('home', 'factor', '_manifest')
    """
    return key.split(":", 1)[0]


def totals(sizes: Iterable[tuple[str, int]]) -> tuple[dict[str, dict[str, int]], dict[str, int]]:
    """Keys and bytes per kind, and over all kinds."""
    kinds: dict[str, dict[str, int]] = defaultdict(lambda: {"keys": 0, "bytes": 0})
    for key, size in sizes:
        kinds[kind_of(key)]["keys"] += 1
        kinds[kind_of(key)]["bytes"] += size
    overall = {"keys": sum(k["keys"] for k in kinds.values()), "bytes": sum(k["bytes"] for k in kinds.values())}
    return dict(sorted(kinds.items())), overall


def info(cache: Cache) -> dict:
    """The versions with their totals, the current version's kinds and the live space."""
    versions = [{**v, **totals(cache.key_sizes(v["version"]))[1]} for v in cache.versions()]
    current = next((v["version"] for v in versions if v["current"]), None)
    kinds = totals(cache.key_sizes(current))[0] if current is not None else {}
    return {"url": cache.url, "current": current, "versions": versions, "kinds": kinds,
            "live": totals(cache.key_sizes(live=True))[1]}


def _checked_version(cache: Cache, args: argparse.Namespace) -> int | None:
    if args.version is not None and args.version not in [v["version"] for v in cache.versions()]:
        kept = ", ".join(str(v["version"]) for v in cache.versions()) or "none"
        raise UserError(f"--version {args.version} is not a committed version of {cache.url} (kept: {kept})")
    return args.version


def _print_info(found: dict) -> None:
    print(f"cache {found['url']}")
    if not found["versions"]:
        print("nothing published yet: python -m bunjang_lab publish RUN_DIR")
        return
    print(text_table([{"version": v["version"], "run": v["run"], "published at": v["published_at"],
                       "current": v["current"], "keys": v["keys"], "bytes": v["bytes"]} for v in found["versions"]]))
    print()
    print(f"version {found['current']} (current) by kind of key:")
    print(text_table([{"kind": kind, **counts} for kind, counts in found["kinds"].items()]))
    live = found["live"]
    print(f"\nlive keys (sold or flagged since the batch, kept across publishes): {live['keys']:,}, {live['bytes']:,} bytes")


def run(argv: list[str]) -> int:
    p = parser(PROG, "What the serving cache holds: versions, key counts and sizes, one key's value.")
    p.add_argument("action", choices=ACTIONS, help="info: versions and key counts; keys: keys and sizes; get: one value")
    p.add_argument("key", nargs="?", help="for get: the key (e.g. home:u0001, pop:all, _manifest)")
    p.add_argument("--prefix", default="", help="for keys: only keys starting with this (e.g. home:, pop:)")
    p.add_argument("--limit", type=int, default=100, help="for keys: list at most this many, 0 for all (default 100)")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--version", type=int, help="a kept older version instead of the current one")
    where.add_argument("--live", action="store_true", help="the live key space instead of a version")
    p.add_argument("--cache", default=None, help="cache URL (default: BUNJANG_CACHE_URL or sqlite:///var/cache.sqlite)")
    p.add_argument("--json", action="store_true", help="print JSON instead of tables")
    args = p.parse_args(argv)
    if (args.action == "get") != (args.key is not None):
        raise UserError("get takes one KEY; info and keys take none")
    if args.limit < 0:
        raise UserError("--limit must be 0 (all) or more")
    with open_cache(args.cache) as cache:
        if args.action == "info":
            found = info(cache)
            emit(found) if args.json else _print_info(found)
            return 0
        version = _checked_version(cache, args)
        if args.action == "keys":
            return _keys(cache.key_sizes(version, args.prefix, live=args.live), args)
        return _get(cache, version, args)


def _keys(sizes: Iterable[tuple[str, int]], args: argparse.Namespace) -> int:
    sizes = list(sizes)
    shown = sizes[:args.limit] if args.limit else sizes
    if args.json:
        for key, size in shown:
            emit({"key": key, "bytes": size})
        return 0
    if not sizes:
        print(f"no keys start with {args.prefix!r}" if args.prefix else "no keys")
        return 0
    print(text_table([{"key": key, "bytes": size} for key, size in shown]))
    if len(shown) < len(sizes):
        print(f"... {len(sizes) - len(shown):,} more of {len(sizes):,} (--limit 0 lists all, --prefix narrows)")
    return 0


def _get(cache: Cache, version: int | None, args: argparse.Namespace) -> int:
    with cache.snapshot(version) as snap:
        value = snap.live_many([args.key])[0] if args.live else snap.get(args.key)
        where = "the live key space" if args.live else f"version {snap.version}"
    if value is None:
        raise UserError(f"no key {args.key!r} in {where} (python -m bunjang_lab.score cache keys --prefix "
                        f"{kind_of(args.key)}: lists the keys of that kind)")
    emit(value)
    return 0
