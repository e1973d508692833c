"""Ingestion throughput against the raw ``pyarrow.json.read_json`` parse rate of the same file.

Generates realistic events (all nine types, Korean titles, RFC 3339 timestamps with the
KST offset, about 1% re-sent duplicates), then measures in one run:

* raw: ``pyarrow.json.read_json`` of the file (schema inference, multi-threaded; it needs a
  clean file, so the file has no bad lines);
* ingest: ``ingest_files`` into an empty lake (validation, dedup, Parquet write), alternating
  with the raw parse for ``--rounds`` rounds, each into a fresh lake; the best of each counts,
  and the ratio of each round's pair (run back to back, so under the same load) is printed too;
* re-ingest: the same file again (everything is a duplicate);
* dirty: a copy with 0.1% truncated lines scattered through it, into another empty lake.

    .venv/bin/python benchmarks/ingest.py [--events 1000000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import shutil
import tempfile
import time
from pathlib import Path

import pyarrow.json as pj

from bunjang_lab.ingest import ingest_files

CATEGORIES = ["신발>스니커즈", "의류>아우터", "디지털>휴대폰", "가방>백팩", "스타굿즈>앨범", "디지털>노트북"]
BRANDS = ["나이키", "아디다스", "애플", "삼성", "구찌", None]
WORDS = ["새상품", "정품", "급처", "한번착용", "풀박스", "미개봉", "택포", "직거래", "빈티지", "한정판"]
SURFACES = ["home", "search", "related", "popular"]
KST = dt.timezone(dt.timedelta(hours=9))


def generate(path: Path, events: int, seed: int = 7, bad: float = 0.0) -> None:
    """Write ``events`` JSON lines to ``path``: 1% re-sent duplicates and a ``bad`` share of truncated lines."""
    rng = random.Random(seed)
    start = dt.datetime(2026, 10, 1, tzinfo=KST)
    users, items = max(events // 50, 10), max(events // 20, 10)
    weights = {"impression": 50, "click": 15, "favorite": 4, "search": 10, "listing": 5, "listing_status": 2,
               "chat": 6, "purchase": 1, "signup": 1}
    kinds = rng.choices(list(weights), weights=list(weights.values()), k=events)
    with open(path, "w", encoding="utf-8") as out:
        for n, kind in enumerate(kinds):
            ts = start + dt.timedelta(seconds=n * 0.5 + rng.random())
            event = {"event_id": f"e{n:09d}", "type": kind, "ts": ts.isoformat(timespec="milliseconds"),
                     "user_id": f"u{rng.randrange(users)}"}
            item = f"i{rng.randrange(items)}"
            if kind == "signup":
                event |= {"gender": rng.choice(["M", "F", None]), "birth_year": rng.randint(1960, 2008)}
            elif kind == "listing":
                event |= {"item_id": item, "title": " ".join(rng.sample(WORDS, 3)), "price": rng.randrange(1, 500) * 1000,
                          "category": rng.choice(CATEGORIES), "description": "상태 좋습니다. 문의 주세요.",
                          "images": [f"images/{item}-{k}.jpg" for k in range(rng.randint(1, 3))]}
                if (brand := rng.choice(BRANDS)) is not None:
                    event["brand"] = brand
            elif kind == "listing_status":
                event |= {"item_id": item, "status": rng.choice(["reserved", "sold", "removed", "active"])}
            elif kind == "impression":
                event |= {"item_id": item, "surface": rng.choice(SURFACES), "position": rng.randrange(40)}
            elif kind == "click":
                event |= {"item_id": item, "surface": rng.choice(SURFACES)}
            elif kind == "favorite":
                event |= {"item_id": item, "on": rng.random() < 0.9}
            elif kind == "search":
                event |= {"query": rng.choice(WORDS) + " " + rng.choice(["나이키", "아이폰", "패딩"])}
            elif kind == "chat":
                event |= {"item_id": item, "to_user_id": f"u{rng.randrange(users)}", "text": "안녕하세요 아직 판매중인가요?"}
            else:
                event |= {"item_id": item, "price": rng.randrange(1, 500) * 1000}
            line = json.dumps(event, ensure_ascii=False, separators=(",", ":"))
            roll = rng.random()
            if roll < bad:
                line = line[: len(line) // 2]  # truncated write
            elif roll < bad + 0.01 and n:
                line = line.replace(f"e{n:09d}", f"e{n - 1:09d}")  # a retried send
            out.write(line + "\n")


def measure(run) -> tuple[object, float, float]:
    """(what ``run()`` returns, its wall seconds, its CPU seconds over every thread)."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = run()
    return result, time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    cli = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    cli.add_argument("--events", type=int, default=1_000_000)
    cli.add_argument("--rounds", type=int, default=3, help="alternating raw-parse / ingest rounds (best of each)")
    args = cli.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-ingest-"))
    try:
        source = work / "events.jsonl"
        t0 = time.perf_counter()
        generate(source, args.events)
        size_mb = source.stat().st_size / 1e6
        print(f"generated {args.events:,} events ({size_mb:.0f} MB) in {time.perf_counter() - t0:.1f}s")
        # Alternate the two, each into a fresh lake, and keep the best of each: the same number
        # of tries and the same cache warmth for both (the machine is shared and noisy).
        raw, raw_cpu, ingest_wall, ingest_cpu_times = [], [], [], []
        for attempt in range(args.rounds):
            rows, wall, cpu = measure(lambda: pj.read_json(source).num_rows)
            raw.append(wall)
            raw_cpu.append(cpu)
            lake = work / f"lake-{attempt}"
            stats, wall, cpu = measure(lambda: ingest_files([source], lake, now="2026-12-01T00:00:00Z"))
            ingest_wall.append(wall)
            ingest_cpu_times.append(cpu)
        raw_rate = rows / min(raw)
        ingest_seconds, ingest_cpu = min(ingest_wall), min(ingest_cpu_times)
        rate = stats["read"] / ingest_seconds
        t0 = time.perf_counter()
        again = ingest_files([source], work / "lake-0", now="2026-12-01T00:00:00Z")
        again_rate = again["read"] / (time.perf_counter() - t0)
        print(f"raw pyarrow.json.read_json: {raw_rate:,.0f} events/s ({min(raw):.2f}s, best of {args.rounds}: "
              f"{', '.join(f'{x:.2f}' for x in raw)})")
        print(f"ingest (empty lake):        {rate:,.0f} events/s ({ingest_seconds:.2f}s, best of {args.rounds}: "
              f"{', '.join(f'{x:.2f}' for x in ingest_wall)}) "
              f"accepted {stats['accepted']:,} duplicates {stats['duplicates']:,} quarantined {stats['quarantined']:,}")
        print(f"re-ingest (all duplicates): {again_rate:,.0f} events/s, accepted {again['accepted']}")
        dirty = work / "dirty.jsonl"
        generate(dirty, args.events, bad=0.001)
        t0 = time.perf_counter()
        bad = ingest_files([dirty], work / "lake-dirty", now="2026-12-01T00:00:00Z")
        dirty_rate = bad["read"] / (time.perf_counter() - t0)
        print(f"ingest, 0.1% bad lines:     {dirty_rate:,.0f} events/s, quarantined {bad['quarantined']:,}")
        paired = sorted(r / i for r, i in zip(raw, ingest_wall))
        print(f"ratio ingest / raw parse:   {rate / raw_rate:.2f} (best against best; round by round "
              f"{', '.join(f'{x:.2f}' for x in paired)}, median {paired[len(paired) // 2]:.2f})")
        print(f"CPU seconds (both cores):   raw {min(raw_cpu):.2f}, ingest {ingest_cpu:.2f} "
              f"(ratio {min(raw_cpu) / ingest_cpu:.2f}); load average {os.getloadavg()[0]:.1f}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
