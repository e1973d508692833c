"""The production image index at ten million pictures: resident memory, build time, query latency.

    .venv/bin/python benchmarks/image_index_scale.py --folder /work/h25-index --json   # 10,000,000 pictures (~37 GB on disk, kept)
    .venv/bin/python benchmarks/image_index_scale.py --pictures 300000 --json          # a quick look (a temporary folder, deleted)

Builds an :class:`~bunjang_lab.fraud.images.index.ImageIndex` through its public
:meth:`~ImageIndex.add` (batches of ``--batch`` pictures; segments up to ``--shard-size``)
from synthetic pictures made on the fly: random 64-bit pHash and dHash, four random PDQ
words of quality 90 and a thumbnail of 8x8 random colour blocks each, so one hash row and
one thumbnail per picture, what ``add`` stores for a picture without crops or content boxes
(a photo hashed by the scan stores ~40 rows and several thumbnails). Planted: ``--planted``
of them are *originals*; each has a *copy*, the upload to look up (its pHash, dHash and
PDQ words up to 8, 8 and 6 bits a word away, its thumbnail with noise and a brightness
shift, not stored), and a *decoy*, stored last (hashes and PDQ as close to the copy's as the
copy is to its original, an unrelated thumbnail: what verification must reject). Each copy
is looked up as ``score image`` does (:func:`~bunjang_lab.fraud.images.matching.find_matches`:
range queries on every segment's mapped tables for the hashes as is and mirrored, the PDQ
search, then the candidates' thumbnails read from the mapped files and verified), then as
many fresh pictures that match nothing. The original must be found for every copy, and
nothing else (a decoy or any other picture found is a wrong match).

The build runs in a child process; this process then opens the index, asks the queries,
and reports what it gained in resident memory per stored picture (``/proc/self/status``):
``RssAnon`` (its own memory: nothing per picture is held) and ``RssFile`` (the pages of
the mapped tables, rows and thumbnails the queries read, which the kernel may drop and
processes mapping the same files share). ``resident_bytes_per_picture`` is their sum, the
growth of ``VmRSS``: the conservative figure, what ``ps`` shows. Latency: wall time
(``perf_counter``) and the thread's CPU time of each ``find_matches`` (the machine is
shared: CPU time is the steadier figure). The baseline, same run, same queries (the
first ``--baseline-queries``): the same ``find_matches`` over the same rows with the
pHash, dHash and PDQ searches made by a numpy full scan of every hash; the latency
difference gets a paired bootstrap 95% interval.

The last line is ``{"pictures", "resident_bytes_per_picture", "p50_ms", "p99_ms",
"recall_planted"}`` (wall milliseconds).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from bunjang_lab.fraud.images.hashing import ImageHashes  # noqa: E402
from bunjang_lab.fraud.images.index import ImageIndex, LinearScan  # noqa: E402
from bunjang_lab.fraud.images.matching import find_matches  # noqa: E402
from bunjang_lab.fraud.images.verify import SIDE  # noqa: E402
from bunjang_lab.intervals import paired_bootstrap  # noqa: E402

PLANTED = "planted.npz"  # the planted copies, kept beside an index built into --folder
PROGRESS = "build.json"  # what is being built there, and the seconds spent so far
PDQ_QUALITY = 90  # above the policy's floor: every query runs the PDQ search, as for a photo
COPY_FLIPS, COPY_PDQ_FLIPS = 8, 6  # at most, per hash and per PDQ word: within the policy's `close`


def block_thumbnails(rng, n: int) -> np.ndarray:
    """``n`` thumbnails of 8x8 random colour blocks (structure for the correlation)."""
    blocks, side = rng.integers(0, 256, (n, 8, 8, 3), dtype=np.uint8), SIDE // 8
    thumbs = np.empty((n, 8, side, 8, side, 3), dtype=np.uint8)
    thumbs[:] = blocks[:, :, None, :, None, :]  # each block's pixel repeated, in one pass
    return thumbs.reshape(n, SIDE, SIDE, 3)


def random_hashes(rng, shape) -> np.ndarray:
    return rng.integers(0, 2**64 - 1, shape, dtype=np.uint64, endpoint=True)


def flip_bits(rng, hashes: np.ndarray, at_most: int) -> np.ndarray:
    """Each hash (any shape) with 1 to ``at_most`` of its bits flipped."""
    wanted = rng.integers(1, at_most + 1, hashes.shape)
    masks = np.zeros(hashes.shape, dtype=np.uint64)
    for step in range(at_most):  # a bit drawn twice is flipped once: still at least one
        bits = np.uint64(1) << rng.integers(0, 64, hashes.shape).astype(np.uint64)
        masks |= np.where(step < wanted, bits, np.uint64(0))
    return hashes ^ masks


def edited(rng, thumbs: np.ndarray) -> np.ndarray:
    """Re-encoded copies: noise of up to 12 levels and a brightness shift of up to 20."""
    shift = rng.integers(-20, 21, (len(thumbs), 1, 1, 1))
    return np.clip(thumbs.astype(np.int16) + shift + rng.integers(-12, 13, thumbs.shape), 0, 255).astype(np.uint8)


def synthetic(rng, n: int) -> dict:
    """The hashes and thumbnails of ``n`` unrelated pictures."""
    return {"phash": random_hashes(rng, n), "dhash": random_hashes(rng, n), "pdq": random_hashes(rng, (n, 4)),
            "thumbs": block_thumbnails(rng, n)}


def as_pictures(arrays: dict, first: int) -> list[dict]:
    """Pictures to store (numbered from ``first``: their names and listing say so)."""
    pdqs = [(*words, PDQ_QUALITY) for words in arrays["pdq"].tolist()]
    return [{"image": f"p{number}.jpg", "listing": f"l{number}", "seller": f"s{number % 50_000}", "key": f"{number:064x}",
             "hashes": ImageHashes(phash, dhash, 0, 0, thumbnail=thumb, pdq=(pdq,))}
            for number, phash, dhash, thumb, pdq in zip(range(first, first + len(pdqs)), arrays["phash"].tolist(),
                                                        arrays["dhash"].tolist(), arrays["thumbs"], pdqs)]


def as_queries(rng, arrays: dict) -> list[ImageHashes]:
    """Uploads to look up (their mirrored hashes random: searched, matching nothing)."""
    n = len(arrays["pdq"])
    return [ImageHashes(phash, dhash, mirror_p, mirror_d, thumbnail=thumb, pdq=((*words, PDQ_QUALITY),))
            for phash, dhash, mirror_p, mirror_d, thumb, words in
            zip(arrays["phash"].tolist(), arrays["dhash"].tolist(), random_hashes(rng, n).tolist(),
                random_hashes(rng, n).tolist(), arrays["thumbs"], arrays["pdq"].tolist())]


def build(folder: Path, pictures: int, planted: int, batch: int, shard_size: int, seed: int) -> None:
    """Store ``pictures`` synthetic pictures (the decoys last) and save the planted copies.
    A build stopped midway (killed: every add is atomic) resumes after the last batch stored."""
    rng = np.random.default_rng(seed)
    plain = pictures - planted
    originals = np.sort(rng.choice(plain, planted, replace=False))
    settings = {"pictures": pictures, "planted": planted, "seed": seed}
    progress = json.loads((folder / PROGRESS).read_text()) if (folder / PROGRESS).exists() else {**settings, "seconds": 0.0}
    if {k: progress[k] for k in settings} != settings:
        raise SystemExit(f"{folder} holds a build of {progress}, not of {settings}")
    index = ImageIndex(folder, shard_size=shard_size)
    index.compact()  # deletes what a killed add left unlisted
    started = time.perf_counter() - progress["seconds"]
    for start in range(min(len(index), plain) // batch * batch, plain, batch):
        arrays = synthetic(np.random.default_rng([seed, start]), min(batch, plain - start))
        index.add(as_pictures(arrays, start))
        del arrays
        (folder / PROGRESS).write_text(json.dumps({**settings, "seconds": time.perf_counter() - started}))
        print(f"  {len(index):,} pictures in {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
    # the originals as stored (one row and one thumbnail a picture: numbered like the pictures)
    kept = {"phash": index.phash.hashes[originals], "dhash": index.dhash.hashes[originals],
            "pdq": index.pdq.hashes[originals], "thumbs": index.thumbnails[originals]}
    copies = {"phash": flip_bits(rng, kept["phash"], COPY_FLIPS), "dhash": flip_bits(rng, kept["dhash"], COPY_FLIPS),
              "pdq": flip_bits(rng, kept["pdq"], COPY_PDQ_FLIPS), "thumbs": edited(rng, kept["thumbs"])}
    decoys = {k: flip_bits(rng, copies[k], COPY_PDQ_FLIPS if k == "pdq" else COPY_FLIPS) for k in ("phash", "dhash", "pdq")}
    index.add(as_pictures({**decoys, "thumbs": block_thumbnails(rng, planted)}, plain))
    np.savez(folder / PLANTED, originals=originals, seconds=time.perf_counter() - started,
             **{f"copy_{k}": v for k, v in copies.items()})


def planted_queries(folder: Path, seed: int) -> tuple[list[ImageHashes], list[set]]:
    """The planted copies, then as many fresh pictures (the same whether the index was built
    now or earlier), and the picture each must find: its original, nothing."""
    saved = np.load(folder / PLANTED)
    rng = np.random.default_rng([seed, 1])
    queries = as_queries(rng, {k: saved[f"copy_{k}"] for k in ("phash", "dhash", "pdq", "thumbs")})
    queries += as_queries(rng, synthetic(rng, len(saved["originals"])))
    return queries, [{int(o)} for o in saved["originals"]] + [set()] * len(saved["originals"])


class FullScanIndex:
    """The baseline: ``index`` with its pHash, dHash and PDQ searches made by a numpy scan of
    every hash (loaded into memory), all else (rows, thumbnails, verification) the index's."""

    def __init__(self, index: ImageIndex):
        self._index = index
        everything = np.arange(index.rows)
        self.phash, self.dhash = LinearScan().add(index.phash.hashes[everything]), LinearScan().add(index.dhash.hashes[everything])
        self._pdq = index.pdq.hashes[np.arange(len(index.pdq))]
        self.pdq = self

    def query(self, words, r: int) -> tuple[np.ndarray, np.ndarray]:  # the PDQ search
        distances = np.bitwise_count(self._pdq ^ np.asarray(words, dtype=np.uint64)).sum(axis=1).astype(np.int64)
        rows = np.flatnonzero(distances <= r)
        return rows, distances[rows]

    def __getattr__(self, name):
        return getattr(self._index, name)


def memory() -> dict:
    """This process's resident anonymous memory and resident mapped file pages, in bytes."""
    values = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(("RssAnon:", "RssFile:")):
            values[line.split(":")[0]] = int(line.split()[1]) * 1024
    return {"anon": values["RssAnon"], "file": values["RssFile"]}


def timed_matches(index, queries: list[ImageHashes]) -> tuple[list[set], np.ndarray, np.ndarray]:
    """The pictures each query matched, and its wall and CPU seconds."""
    found, wall, cpu = [], [], []
    for hashes in queries:
        tic, tic_cpu = time.perf_counter(), time.thread_time()
        matches = find_matches(index, hashes)
        wall.append(time.perf_counter() - tic)
        cpu.append(time.thread_time() - tic_cpu)
        found.append({m["position"] for m in matches})
    return found, np.array(wall), np.array(cpu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pictures", type=int, default=10_000_000)
    parser.add_argument("--planted", type=int, default=2000, help="copies looked up (and as many decoys stored, fresh queries)")
    parser.add_argument("--batch", type=int, default=1 << 19, help="pictures a call to ImageIndex.add stores")
    parser.add_argument("--shard-size", type=int, default=1 << 20)
    parser.add_argument("--queries", type=int, help="ask only the first QUERIES planted copies and as many fresh "
                        "pictures (default: all of them)")
    parser.add_argument("--baseline-queries", type=int, default=50)
    parser.add_argument("--folder", help="where to build the index and keep it; an index already built there (with its "
                        "planted copies) is reused as built (default: a temporary folder, deleted)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--save-times", help="write each query's wall and CPU seconds to this .npz (to pair two runs)")
    parser.add_argument("--json", action="store_true", help="end with the one-line JSON summary")
    args = parser.parse_args()
    folder = Path(args.folder or tempfile.mkdtemp(prefix="image-index-scale-", dir=os.environ.get("TMPDIR", "/tmp")))
    reused = (folder / PLANTED).exists()
    if not reused:
        child = multiprocessing.get_context("spawn").Process(
            target=build, args=(folder, args.pictures, args.planted, args.batch, args.shard_size, args.seed))
        child.start()
        child.join()
        if child.exitcode:
            raise SystemExit(f"the build failed (exit code {child.exitcode})")
    queries, expected = planted_queries(folder, args.seed)
    planted, build_seconds = len(queries) // 2, float(np.load(folder / PLANTED)["seconds"])
    asked = args.queries or planted
    queries, expected = queries[:asked] + queries[planted: planted + asked], expected[:asked] + expected[planted: planted + asked]

    before = memory()
    index = ImageIndex(folder)
    opened = memory()
    found, wall, cpu = timed_matches(index, queries)
    after = memory()
    if args.save_times:
        np.savez(args.save_times, wall=wall, cpu=cpu)
    recall = float(np.mean([e <= f for e, f in zip(expected[:asked], found)]))
    wrong = sum(len(f - e) for e, f in zip(expected, found))

    baseline = FullScanIndex(index)
    scanned = queries[: args.baseline_queries]
    scan_found, scan_wall, scan_cpu = timed_matches(baseline, scanned)
    same = sum(a == b for a, b in zip(scan_found, found))
    paired_wall = paired_bootstrap(wall[: len(scanned)] * 1e3, scan_wall * 1e3)
    paired_cpu = paired_bootstrap(cpu[: len(scanned)] * 1e3, scan_cpu * 1e3)
    disk = sum(path.stat().st_size for path in folder.iterdir())
    if not args.folder:
        shutil.rmtree(folder)

    n, ms, cpu_ms = len(index), wall * 1e3, cpu * 1e3
    grown = {k: (after[k] - before[k]) / n for k in before}
    summary = {"pictures": n, "resident_bytes_per_picture": round(grown["anon"] + grown["file"], 1),
               "p50_ms": round(float(np.percentile(ms, 50)), 3), "p99_ms": round(float(np.percentile(ms, 99)), 3),
               "recall_planted": round(recall, 4)}
    print(f"pictures {n:,} in {index.shard_count} segments (shards of {index.shard_size:,}), {index.rows:,} rows; "
          f"{'built earlier in' if reused else 'built in'} {build_seconds:.0f} s, {disk / 1e9:.1f} GB on disk "
          f"({disk / n:.0f} B/picture)")
    print(f"resident memory gained per picture after opening: anon {(opened['anon'] - before['anon']) / n:.2f} B, "
          f"file {(opened['file'] - before['file']) / n:.2f} B; after the queries: anon {grown['anon']:.2f} B, "
          f"file {grown['file']:.2f} B (VmRSS {summary['resident_bytes_per_picture']} B; "
          f"{(after['anon'] + after['file'] - before['anon'] - before['file']) / 2**20:.0f} MiB)")
    print(f"queries: {len(queries)} ({asked} planted copies, a decoy stored beside each original, {asked} fresh); find_matches wall p50 {summary['p50_ms']} ms, p99 {summary['p99_ms']} ms, "
          f"max {ms.max():.2f} ms; CPU p50 {np.percentile(cpu_ms, 50):.3f} ms, p99 {np.percentile(cpu_ms, 99):.3f} ms; "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"planted originals found: {round(recall * asked)}/{asked}; wrong matches (decoys or others): {wrong}")
    print(f"baseline, the same find_matches with full numpy scans of every hash, first {len(scanned)} queries "
          f"(same answers: {same}/{len(scanned)}): wall p50 {np.percentile(scan_wall, 50) * 1e3:.1f} ms, "
          f"CPU p50 {np.percentile(scan_cpu, 50) * 1e3:.1f} ms; index minus scan, wall {paired_wall['diff']:+.2f} ms "
          f"[{paired_wall['low']:+.2f}, {paired_wall['high']:+.2f}], CPU {paired_cpu['diff']:+.2f} ms "
          f"[{paired_cpu['low']:+.2f}, {paired_cpu['high']:+.2f}] (95% paired bootstrap)")
    if args.json:
        print(json.dumps(summary))


if __name__ == "__main__":
    main()
