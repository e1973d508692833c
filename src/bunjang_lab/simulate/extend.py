"""Add the simulator's later event streams to a world written before they existed.

The committed sample (``data/sample``) was simulated before reports and moderator decisions
were; simulating it again would also change its texts and pictures, which tests, the README
and the documented figures rest on. :func:`add_feedback` replays the world's listings and
chat messages, with their labels, through the simulator's own :class:`~bunjang_lab.simulate.feedback.Feedback`
(as the engine feeds it while simulating) and writes the ``report`` and ``moderation``
events it draws into the day files, leaving every other line as it was. Running it again
first drops what an earlier run added, so it is idempotent.
"""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import json
from pathlib import Path

from bunjang_lab.simulate.feedback import Feedback
from bunjang_lab.simulate.market import DAY_MS, FeedbackConfig

FEEDBACK_TYPES = ("report", "moderation")


def _ms(ts: str) -> int:
    return int(dt.datetime.fromisoformat(ts).timestamp() * 1000)


def _day_files(out: Path) -> list[Path]:
    return sorted([*out.glob("????-??-??.jsonl.gz"), *out.glob("????-??-??.jsonl")])


def _read_lines(path: Path) -> list[str]:
    opened = gzip.open(path, "rt", encoding="utf-8") if path.suffix == ".gz" else open(path, encoding="utf-8")
    with opened as f:
        return [line.rstrip("\n") for line in f if line.strip()]


def _write_lines(path: Path, lines: list[str]) -> None:
    body = ("\n".join(lines) + "\n").encode()
    if path.suffix == ".gz":  # the engine's fixed header: same bytes for the same lines
        with open(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, filename="", compresslevel=3) as gz:
            gz.write(body)
    else:
        path.write_bytes(body)


def _fraud_types(path: Path, key: str) -> dict[str, list[str]]:
    with open(path, encoding="utf-8", newline="") as f:
        return {row[key]: [t for t in row["fraud_types"].split(";") if t] for row in csv.DictReader(f)}


def add_feedback(out: str | Path, seed: int = 7, config: FeedbackConfig | None = None) -> dict:
    """Write the reports and decisions of the world in ``out`` into its day files (replacing
    any written before); ``{"report": n, "moderation": n}``. Decisions due after the last
    day are left out (still pending), as the engine does."""
    out = Path(out)
    files = _day_files(out)
    if not files:
        raise FileNotFoundError(f"{out} holds no day files (YYYY-MM-DD.jsonl[.gz])")
    listing_types = _fraud_types(out / "labels" / "listings.csv", "item_id")
    message_types = _fraud_types(out / "labels" / "messages.csv", "event_id")
    users = [json.loads(line)["user_id"] for line in open(out / "labels" / "users.jsonl", encoding="utf-8")]
    days = {path: [line for line in _read_lines(path)
                   if json.loads(line)["type"] not in FEEDBACK_TYPES] for path in files}
    feedback, last_number, prefix = Feedback(config or FeedbackConfig(), seed), 0, f"s{seed}"
    # the engine's call order is its emission order, which the world's own event ids number
    # (other steps' events, ``s<seed>ads-...``, are numbered apart and draw nothing here)
    events = sorted((e for lines in days.values() for e in map(json.loads, lines)
                     if e["event_id"].rsplit("-", 1)[0] == prefix), key=lambda e: int(e["event_id"].rsplit("-", 1)[1]))
    for e in events:
        last_number = max(last_number, int(e["event_id"].rsplit("-", 1)[1]))
        if e["type"] == "listing":
            feedback.listing(_ms(e["ts"]), e["item_id"], users, f"{e['title']}\n{e['description']}",
                             listing_types.get(e["item_id"], []))
        elif e["type"] == "chat":
            feedback.message(_ms(e["ts"]), e["event_id"], e["to_user_id"], e["text"], message_types.get(e["event_id"], []))
    counts = dict.fromkeys(FEEDBACK_TYPES, 0)
    for path, lines in days.items():
        day_start = _ms(f"{path.name[:10]}T00:00:00+09:00")
        added = []
        for ms, kind, user_id, fields in feedback.due(day_start + DAY_MS):
            last_number += 1
            ts = dt.datetime.fromtimestamp(ms / 1000, dt.timezone(dt.timedelta(hours=9))).isoformat(timespec="milliseconds")
            added.append((ms, json.dumps({"event_id": f"{prefix}-{last_number:09d}", "type": kind, "ts": ts,
                                          "user_id": user_id, **fields}, ensure_ascii=False, separators=(",", ":"))))
            counts[kind] += 1
        merged = sorted([(_ms(json.loads(line)["ts"]), line) for line in lines] + added, key=lambda pair: pair[0])
        _write_lines(path, [line for _, line in merged])
    return counts
