"""``python -m bunjang_lab ingest``: parse the arguments, run :func:`ingest_files`, print the stats
(a table, or one JSON object with ``--json``).

An argument mistake raises :class:`bunjang_lab.cli.UserError`; an input that cannot be read
raises :class:`bunjang_lab.ingest.UnreadableInput`, one of the domain's errors. The dispatcher
prints either as one line with exit code 2.
"""

from __future__ import annotations

import json
import sys

from bunjang_lab import paths
from bunjang_lab.cli import UserError, parser
from bunjang_lab.events import DEFAULT_MIN_TS, to_epoch_ms
from bunjang_lab.ingest.runs import ingest_files


def run(argv: list[str]) -> int:
    cli = parser("python -m bunjang_lab ingest", "Validate JSON Lines events (plain or .gz, or folders of them) into "
                 "the Parquet lake; bad records go to the lake's quarantine with a reason code.")
    cli.add_argument("files", nargs="+", metavar="FILE", help="JSON Lines file(s) or folder(s) of them")
    cli.add_argument("--lake", default=str(paths.lake_dir()), help="lake folder or fsspec URL (default: %(default)s)")
    cli.add_argument("--run-id", help="id of this run (default: UTC time plus a random suffix)")
    cli.add_argument("--media-root", help="folder relative image paths are resolved against (default: each file's folder)")
    cli.add_argument("--min-ts", default=DEFAULT_MIN_TS, help="oldest accepted event time (default: %(default)s)")
    cli.add_argument("--now", help="clock for the 24-hour future bound (default: the current time)")
    cli.add_argument("--json", action="store_true", help="print the stats as one JSON object instead of a table")
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
    headline = (f"ingested {stats['read']:,} records from {len(stats['files'])} file(s) into {args.lake} as run "
                f"{stats['run_id']}: {stats['accepted']:,} accepted, {stats['duplicates']:,} duplicates, "
                f"{stats['quarantined']:,} quarantined ({reasons}); {stats['seconds']} s")
    if args.json:
        print(headline, file=sys.stderr)
        print(json.dumps(stats, ensure_ascii=False))
        return 0
    from bunjang_lab.tables import text_table

    print(headline)
    rows = [{"outcome": "accepted", "type or reason": name, "records": n} for name, n in stats["by_type"].items()]
    rows += [{"outcome": "quarantined", "type or reason": name, "records": n} for name, n in stats["by_reason"].items()]
    if rows:
        print(text_table(rows))
    print(f"late {stats['late']:,}, out of order {stats['out_of_order']:,}")
    return 0
