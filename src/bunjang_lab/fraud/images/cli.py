"""``python -m bunjang_lab images``: maintain the perceptual-hash index of listing images.

    images index DIR_OR_LAKE [--index PATH]   add the pictures of a folder, a simulator
                                              output or a lake's listings (progress bar)
    images compact [--index PATH]             merge its segments into shards, delete stray files
    images stats [--index PATH]               size of the index

Each prints one line for people, or one JSON object with ``--json``.

Adding is incremental and idempotent: a picture already stored for the same listing is
skipped, so an interrupted run can simply be repeated.
"""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

from bunjang_lab import paths
from bunjang_lab.cli import UserError, parser

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".gif", ".webp", ".bmp", ".tif", ".tiff"}
BATCH = 2000  # pictures per add: bounds the work lost to an interruption


def default_index() -> Path:
    return paths.home() / "image_index"


def run(argv: list[str]) -> int:
    p = parser("python -m bunjang_lab images", "Maintain the perceptual-hash index of listing images.")
    sub = p.add_subparsers(dest="action", required=True)
    add = sub.add_parser("index", help="add the pictures of a folder, simulator output or lake")
    add.add_argument("source", help="a folder of images, a simulator output folder (labels/images.csv) or a lake")
    add.add_argument("--index", default=None, help=f"index folder, relative to BUNJANG_HOME (default: {default_index()})")
    add.add_argument("--no-progress", action="store_true", help="no progress bar (drawn only in a terminal anyway)")
    for name, text in (("compact", "merge the segments into shards, delete stray files"), ("stats", "print the index size")):
        sub.add_parser(name, help=text).add_argument("--index", default=None, help="index folder")
    for action in sub.choices.values():
        action.add_argument("--json", action="store_true", help="print the summary as one JSON object instead of a line")
    args = p.parse_args(argv)
    index_path = paths.in_home(args.index) if args.index else default_index()
    if args.action == "index":
        summary = index_source(args.source, index_path, progress=not args.no_progress)
        print(json.dumps(summary, ensure_ascii=False) if args.json else
              f"indexed {summary['source']} into {summary['index']}: {summary['seen']:,} pictures seen, "
              f"{summary['added']:,} added, {summary['errors']:,} unreadable; {summary['images']:,} pictures in the index")
        return 0
    from bunjang_lab.fraud.images.scan import open_index

    index = open_index(index_path, must_exist=True)
    if args.action == "compact":
        index.compact()
    summary = {"index": str(index_path), "images": len(index), "hash_rows": index.rows, "segments": index.shard_count}
    print(json.dumps(summary) if args.json else
          f"{'compacted ' if args.action == 'compact' else ''}index {summary['index']}: "
          f"{summary['images']:,} pictures, {summary['hash_rows']:,} hash rows in {summary['segments']} segments")
    return 0


def index_source(source, index_path, progress: bool = False) -> dict:
    """Add every picture of ``source`` to the index at ``index_path``; per-file errors are
    printed on stderr and counted, never fatal. Returns a summary dict.

    A lake's references obey the image roots; a folder named here is one more root.
    """
    from dataclasses import replace

    from bunjang_lab import progress as bars
    from bunjang_lab.fraud.images.scan import analyse, open_index
    from bunjang_lab.fraud.images.sources import ImageSources

    entries = list(discover(source))
    sources = ImageSources.from_env()
    if "://" not in str(source) and not (Path(source) / "events").is_dir():
        sources = replace(sources, roots=(*sources.roots, str(source)))
    index = open_index(index_path)
    added = errors = 0
    batch = []
    for entry in bars.bar(entries, "hashing", unit="img") if progress else entries:
        if index.contains_file(entry["image"], entry["item_id"]):
            continue
        analysed = analyse(entry["image"], query=False, sources=sources)
        if analysed.error:
            errors += 1
            print(f"{entry['image']}: {analysed.error}", file=sys.stderr)
            continue
        batch.append({"image": entry["image"], "listing": entry["item_id"], "seller": entry["seller_id"],
                      "key": analysed.key, "hashes": analysed.hashes})
        if len(batch) >= BATCH:
            added += index.add(batch)
            batch = []
    added += index.add(batch) if batch else 0
    return {"index": str(index_path), "source": str(source), "seen": len(entries), "added": added,
            "errors": errors, "images": len(index)}


def discover(source) -> list[dict]:
    """``{"image", "item_id", "seller_id"}`` for every picture of ``source``."""
    root = Path(source)
    if "://" not in str(source) and not root.exists():
        raise UserError(f"{source}: no such folder")
    labels = root / "labels" / "images.csv"
    if labels.exists():  # simulator output
        with open(labels, newline="", encoding="utf-8") as handle:
            return [{"image": str(root / r["image"]), "item_id": r["item_id"], "seller_id": r["seller_id"]}
                    for r in csv.DictReader(handle)]
    if (root / "events").is_dir() or "://" in str(source):  # a lake
        from bunjang_lab.fraud.images.scan import plan_shards

        return [e for shard in plan_shards(str(source), None, None, 10_000) for e in shard]
    if not root.is_dir():
        raise UserError(f"{source}: not a folder")
    return [{"image": str(p), "item_id": str(p.relative_to(root)), "seller_id": None}
            for p in sorted(root.rglob("*")) if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()]
