"""Resident memory per picture and query CPU of the image index ``fraud_scan`` and
``score image`` open, for this tree's code and an older one, in the same run.

    git archive <commit> src | tar -x -C /tmp/base          # the code to compare with
    .venv/bin/python benchmarks/image_index_memory.py --limit 1300 --baseline-src /tmp/base/src [--synthetic 20000]

The sample's pictures (``--sample``, the repo's ``data/sample`` by default; its first
``--limit``) are hashed first, as the batch path stores them, and ``--queries`` of them as
``score image`` asks them (stolen copies first); ``--pictures FILE`` keeps these hashes in a
pickle that later runs reuse (default: hashed again each run). ``--synthetic N`` stores N
pictures instead: the sample's pictures again and again, each copy with its
hash rows and PDQ words moved by a few random bits (the same rows per picture as the sample,
so the same table sizes; the thumbnails are the originals'). Each code builds its index in
its own folder (timed), then a fresh process opens it, matches the query pictures
with :func:`~bunjang_lab.fraud.images.matching.find_matches` and reports the resident memory
it gained (anonymous memory, and file pages mapped in) per stored picture after opening and
after matching, and the CPU time of each match (``time.process_time``: the machine is
shared). The two codes answer the same queries, so their CPU times are paired: the median
difference gets a bootstrap 95% interval. Both codes must match alike (checked).
"""

from __future__ import annotations

import argparse
import csv
import ctypes
import gc
import json
import os
import pickle
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

SRC = Path(__file__).resolve().parents[1] / "src"
SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample"


def memory() -> dict:
    """Resident anonymous memory and resident mapped file pages of this process, in bytes."""
    values = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(("RssAnon:", "RssFile:")):
            values[line.split(":")[0]] = int(line.split()[1]) * 1024
    return {"anon": values["RssAnon"], "file": values["RssFile"]}


def hash_sample(folder: Path, out: Path, limit: int | None, queries: int) -> None:
    """The stored hashes of the first ``limit`` pictures, and the query hashes (as
    ``score image`` makes them) of ``queries`` of them: stolen copies first, then others."""
    from bunjang_lab.fraud.images.scan import analyse

    with open(folder / "labels" / "images.csv", newline="", encoding="utf-8") as handle:
        labels = list(csv.DictReader(handle))[:limit]
    stored = []
    for r in labels:
        analysed = analyse(str(folder / r["image"]), store=True, query=False)
        if analysed.hashes is not None:
            stored.append({"image": r["image"], "listing": r["item_id"], "seller": r["seller_id"],
                           "key": analysed.key, "hashes": analysed.hashes})
    copies = [r for r in labels if r["copy_of"]][: queries // 2]
    asked = copies + [r for r in labels if not r["copy_of"]][: queries - len(copies)]
    asked = [analyse(str(folder / r["image"]), store=False, query=True).hashes for r in asked]
    out.write_bytes(pickle.dumps({"stored": stored, "queries": [h for h in asked if h is not None]}))


def stored_pictures(pictures: list[dict], synthetic: int) -> list[dict]:
    """The pictures to store: the sample's, or ``synthetic`` moved copies of them."""
    if not synthetic:
        return pictures
    from dataclasses import replace

    rng = np.random.default_rng(0)

    def flips(shape) -> np.ndarray:
        """Random masks with each bit set with probability 1/16 (four bits on average)."""
        words = [rng.integers(0, 2**64 - 1, shape, dtype=np.uint64, endpoint=True) for _ in range(4)]
        return words[0] & words[1] & words[2] & words[3]

    def moved(pairs) -> tuple:
        values = np.array(pairs, dtype=np.uint64).reshape(-1, 2)
        return tuple(tuple(pair) for pair in (values ^ flips(values.shape)).tolist())

    out = []
    for number in range(synthetic):
        p = pictures[number % len(pictures)]
        h = p["hashes"]
        pdq = np.array([q[:4] for q in h.pdq], dtype=np.uint64).reshape(-1, 4)
        pdq = tuple((*words, q[4]) for words, q in zip((pdq ^ flips(pdq.shape)).tolist(), h.pdq))
        full = moved([(h.phash, h.dhash)])[0]
        hashes = replace(h, phash=full[0], dhash=full[1], crops=moved(h.crops), boxes=moved(h.boxes),
                         deep=moved(h.deep), pdq=pdq, views=())
        out.append({**p, "image": f"{number}/{p['image']}", "listing": f"s{number}", "key": f"{number}-{p['key']}",
                    "hashes": hashes})
    return out


def build(index_path: str, pictures_file: str, synthetic: int) -> dict:
    from bunjang_lab.fraud.images.index import ImageIndex

    pictures = stored_pictures(pickle.loads(Path(pictures_file).read_bytes())["stored"], synthetic)
    started = time.process_time()
    index = ImageIndex(index_path)
    for start in range(0, len(pictures), 2000):  # the batches of `images index`
        index.add(pictures[start: start + 2000])
    return {"build_cpu_s": time.process_time() - started, "pictures": len(index), "rows": index.rows}


def measure(index_path: str, pictures_file: str) -> dict:
    from bunjang_lab.fraud.images.matching import find_matches

    from bunjang_lab.fraud.images.index import ImageIndex

    asked = pickle.loads(Path(pictures_file).read_bytes())["queries"]
    # the stored pictures just unpickled are freed; their memory is handed back, or the
    # index's allocations would reuse it unseen (every code then measured ~260 B a picture)
    gc.collect()
    ctypes.CDLL(None).malloc_trim(0)
    before = memory()
    index = ImageIndex(index_path)
    opened = memory()
    cpu, answers = [], []
    for hashes in asked:
        started = time.process_time()
        found = find_matches(index, hashes)
        cpu.append(time.process_time() - started)
        answers.append([(m["image"], m["distance"], m["similarity"], m["strong"]) for m in found])
    matched = memory()
    n = len(index)
    return {"pictures": n, "opened_anon_B": (opened["anon"] - before["anon"]) / n,
            "opened_file_B": (opened["file"] - before["file"]) / n,
            "matched_anon_B": (matched["anon"] - before["anon"]) / n, "matched_file_B": (matched["file"] - before["file"]) / n,
            "cpu_ms": [c * 1e3 for c in cpu], "answers": answers}


def run(src: Path, *args: str) -> dict:
    env = {**os.environ, "PYTHONPATH": str(src)}
    done = subprocess.run([sys.executable, __file__, *args], env=env, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.splitlines()[-1])


def paired_interval(a: np.ndarray, b: np.ndarray, rounds: int = 2000) -> tuple[float, float, float]:
    """Median of ``b - a`` and its bootstrap 95% interval (queries resampled)."""
    rng = np.random.default_rng(1)
    differences = b - a
    medians = [np.median(differences[rng.integers(0, len(differences), len(differences))]) for _ in range(rounds)]
    return float(np.median(differences)), *np.percentile(medians, [2.5, 97.5]).tolist()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sample", default=str(SAMPLE), help="a simulator output whose pictures to hash")
    parser.add_argument("--pictures", help="keep the sample's hashes in this pickle, reused when it exists "
                        "(default: hashed again, into a temporary file)")
    parser.add_argument("--baseline-src", help="the src folder of the code to compare with")
    parser.add_argument("--synthetic", type=int, default=0, help="store this many moved copies instead")
    parser.add_argument("--queries", type=int, default=40, help="sample pictures hashed as queries (with --hash)")
    parser.add_argument("--limit", type=int, help="only the first LIMIT pictures of the sample")
    parser.add_argument("--worker", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        step, *rest = args.worker
        result = build(rest[0], args.pictures, args.synthetic) if step == "build" else measure(rest[0], args.pictures)
        print(json.dumps(result))
        return
    codes = {"this tree": SRC, **({"baseline": Path(args.baseline_src)} if args.baseline_src else {})}
    results = {}
    with tempfile.TemporaryDirectory() as scratch:
        args.pictures = args.pictures or str(Path(scratch) / "pictures.pkl")
        if not Path(args.pictures).exists():
            started = time.process_time()
            hash_sample(Path(args.sample), Path(args.pictures), args.limit, args.queries)
            print(f"hashed {args.sample} in {time.process_time() - started:.0f} CPU s", flush=True)
        for name, src in codes.items():
            folder = str(Path(scratch) / name.replace(" ", "-"))
            built = run(src, "--pictures", args.pictures, "--synthetic", str(args.synthetic), "--worker", "build", folder)
            measured = run(src, "--pictures", args.pictures, "--worker", "measure", folder)
            disk = sum(f.stat().st_size for f in Path(folder).iterdir())
            results[name] = {**built, **measured, "disk_B": disk / built["pictures"]}
    for name, r in results.items():
        cpu = np.array(r["cpu_ms"])
        print(f"{name}: {r['pictures']:,} pictures, {r['rows']:,} hash rows, build {r['build_cpu_s']:.1f} CPU s, "
              f"{r['disk_B']:,.0f} B/picture on disk")
        print(f"  resident per picture: opened {r['opened_anon_B']:,.0f} B anonymous + {r['opened_file_B']:,.0f} B "
              f"of mapped files; after {len(cpu)} matches {r['matched_anon_B']:,.0f} + {r['matched_file_B']:,.0f} B")
        print(f"  find_matches CPU: p50 {np.percentile(cpu, 50):.1f} ms, p99 {np.percentile(cpu, 99):.1f} ms, "
              f"mean {cpu.mean():.1f} ms")
    if len(results) == 2:
        now, base = results["this tree"], results["baseline"]
        print(f"same answers: {now['answers'] == base['answers']}")
        median, low, high = paired_interval(np.array(base["cpu_ms"]), np.array(now["cpu_ms"]))
        print(f"find_matches CPU, this tree minus baseline: median {median:+.2f} ms [{low:+.2f}, {high:+.2f}]")


if __name__ == "__main__":
    main()
