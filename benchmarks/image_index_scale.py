"""The image index at ten million pictures: resident memory, build time, query latency.

    .venv/bin/python benchmarks/image_index_scale.py --json                    # 10,000,000 pictures (~31 GB of thumbnails on disk, deleted after)
    .venv/bin/python benchmarks/image_index_scale.py --pictures 300000 --json  # a quick look
    .venv/bin/python benchmarks/image_index_scale.py --folder /tmp/index-10m   # kept, and reused by the next run with that folder

Builds a :class:`~bunjang_lab.fraud.images.sharded.ShardedImageIndex` in a temporary
folder from synthetic pictures made on the fly: a random 64-bit pHash and a thumbnail of
8x8 random colour blocks each. Planted among them, at the end: for ``--planted`` random
pictures, a *copy* (its hash up to ``--radius`` bits away, its thumbnail with noise and a
brightness shift) and a *decoy* (a hash up to ``--radius`` bits from the copy's, an
unrelated thumbnail: what verification must reject). Each copy is then looked up as a
new upload would be (:meth:`~ShardedImageIndex.find`: range query on every shard, then
the thumbnails of the candidates read from the mapped files and verified), and as many
fresh pictures that match nothing; the planted original must be found each time, and
nothing but the original and the copy itself.

Resident memory is the process's RSS after building and querying minus before (the
benchmark's own bookkeeping, the planted pictures, is made before), per picture. The
baseline, in the same run on the same hashes and queries: the numpy full scan
(:class:`~bunjang_lab.fraud.images.index.LinearScan`, the hashes in one array, no
tables) with the same verification, on the first ``--baseline-queries`` planted copies;
the latency difference comes with a paired bootstrap interval over those queries.

The last line is ``{"pictures", "resident_bytes_per_picture", "p50_ms", "p99_ms",
"recall_planted"}``. Wall-clock timings depend on the machine's load (printed beside them); each query's CPU
time (``time.thread_time``) is printed too, the steady figure on a shared machine.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from bunjang_lab.fraud.images.index import LinearScan  # noqa: E402
from bunjang_lab.fraud.images.matching import DEFAULT_POLICY  # noqa: E402
from bunjang_lab.fraud.images.sharded import ShardedImageIndex  # noqa: E402
from bunjang_lab.fraud.images.verify import SIDE, correlation  # noqa: E402
from bunjang_lab.intervals import paired_bootstrap  # noqa: E402

CHUNK = 1 << 16  # pictures made and appended at a time (200 MB of thumbnails)
PLANTED = "planted.npz"  # the planted copies, kept beside an index built into --folder


def resident_bytes() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def block_thumbnails(rng, n: int) -> np.ndarray:
    """``n`` thumbnails of 8x8 random colour blocks (structure for the correlation)."""
    return np.repeat(np.repeat(rng.integers(0, 256, (n, 8, 8, 3), dtype=np.uint8), SIDE // 8, 1), SIDE // 8, 2)


def flip_bits(rng, hashes: np.ndarray, radius: int) -> np.ndarray:
    """Each hash with 1 to ``radius`` distinct random bits flipped."""
    out = hashes.copy()
    for k, flips in enumerate(rng.integers(1, radius + 1, len(hashes))):
        for bit in rng.choice(64, flips, replace=False):
            out[k] ^= np.uint64(1) << np.uint64(bit)
    return out


def edited(rng, thumbs: np.ndarray) -> np.ndarray:
    """Re-encoded copies: noise of up to 12 levels and a brightness shift of up to 20."""
    shift = rng.integers(-20, 21, (len(thumbs), 1, 1, 1))
    return np.clip(thumbs.astype(np.int16) + shift + rng.integers(-12, 13, thumbs.shape), 0, 255).astype(np.uint8)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pictures", type=int, default=10_000_000)
    parser.add_argument("--planted", type=int, default=2000, help="copies (and as many decoys) planted")
    parser.add_argument("--radius", type=int, default=DEFAULT_POLICY.close, help="pHash search radius (bits)")
    parser.add_argument("--shard-size", type=int, default=1 << 22)
    parser.add_argument("--baseline-queries", type=int, default=50)
    parser.add_argument("--folder", help="where to build the index and keep it; an index already built there (with its "
                        "planted copies) is reused, --pictures, --planted, --radius and --seed as when built "
                        "(default: a temporary folder, deleted)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--save-times", help="write each query's wall and CPU seconds to this .npz (to pair two runs)")
    parser.add_argument("--json", action="store_true", help="end with the one-line JSON summary")
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    planted, n = args.planted, args.pictures
    plain = n - 2 * planted  # then the decoys, then the copies
    originals = np.sort(rng.choice(plain, planted, replace=False))
    original_hashes = np.empty(planted, dtype=np.uint64)
    original_thumbs = np.empty((planted, SIDE, SIDE, 3), dtype=np.uint8)
    folder = Path(args.folder or tempfile.mkdtemp(prefix="image-index-scale-", dir=os.environ.get("TMPDIR", "/tmp")))
    before = resident_bytes()

    started = time.perf_counter()
    reused = (folder / PLANTED).exists()  # built by an earlier run with --folder
    if reused:
        saved = np.load(folder / PLANTED)
        originals, copies, copy_hashes, copy_thumbs = (saved[k] for k in ("originals", "copies", "copy_hashes", "copy_thumbs"))
        index = ShardedImageIndex(folder)
        print(f"  reusing the index in {folder} ({len(index):,} pictures)", file=sys.stderr)
    else:
        index = ShardedImageIndex(folder, shard_size=args.shard_size)
        for start in range(0, plain, CHUNK):
            size = min(CHUNK, plain - start)
            hashes, thumbs = rng.integers(0, 2**64 - 1, size, dtype=np.uint64, endpoint=True), block_thumbnails(rng, size)
            mine = originals[(originals >= start) & (originals < start + size)]
            where = np.searchsorted(originals, mine)
            original_hashes[where], original_thumbs[where] = hashes[mine - start], thumbs[mine - start]
            index.add(hashes, thumbs)
            del hashes, thumbs
            if start // CHUNK % 16 == 0:
                print(f"  {start + size:,} pictures in {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
        copy_hashes, copy_thumbs = flip_bits(rng, original_hashes, args.radius), edited(rng, original_thumbs)
        decoy_hashes = flip_bits(rng, copy_hashes, args.radius)
        index.add(decoy_hashes, block_thumbnails(rng, planted))
        copies = index.add(copy_hashes, copy_thumbs)
        if args.folder:
            np.savez(folder / PLANTED, originals=originals, copies=copies, copy_hashes=copy_hashes, copy_thumbs=copy_thumbs)
    index.query(0, args.radius)  # sorts every shard's tables
    build_seconds = time.perf_counter() - started

    fresh = np.random.default_rng([args.seed, 1])  # the same fresh queries whether built or reused
    fresh_hashes = fresh.integers(0, 2**64 - 1, planted, dtype=np.uint64, endpoint=True)
    fresh_thumbs = block_thumbnails(fresh, planted)
    seconds, cpu_seconds, found_original, wrong = [], [], [], 0
    queries = [(h, t, {o, c}) for h, t, o, c in zip(copy_hashes.tolist(), copy_thumbs, originals.tolist(), copies.tolist())]
    queries += [(h, t, set()) for h, t in zip(fresh_hashes.tolist(), fresh_thumbs)]
    for number, (phash, thumb, expected) in enumerate(queries):
        tic, cpu = time.perf_counter(), time.thread_time()
        found = {picture for picture, _, _ in index.find(phash, thumb, radius=args.radius)}
        seconds.append(time.perf_counter() - tic)
        cpu_seconds.append(time.thread_time() - cpu)
        if number < planted:
            found_original.append(int(originals[number]) in found)
        wrong += len(found - expected)
    after = resident_bytes()
    if args.save_times:
        np.savez(args.save_times, seconds=np.array(seconds), cpu_seconds=np.array(cpu_seconds))

    # the baseline: every hash in one array, scanned in full, the same verification
    all_hashes = np.concatenate([np.fromfile(folder / f"shard-{s:05d}.hashes", dtype="<u8") for s in range(index.shard_count)])
    scan, scan_seconds = LinearScan().add(all_hashes), []
    for phash, thumb, _ in queries[: args.baseline_queries]:
        tic = time.perf_counter()
        rows = scan.query(phash, args.radius)[0]
        correlation(thumb, index.thumbnails(rows)) >= DEFAULT_POLICY.verified
        scan_seconds.append(time.perf_counter() - tic)
    paired = paired_bootstrap(np.array(seconds[: len(scan_seconds)]) * 1e3, np.array(scan_seconds) * 1e3)
    disk = sum(path.stat().st_size for path in folder.iterdir())
    if not args.folder:
        shutil.rmtree(folder)

    ms = np.array(seconds) * 1e3
    summary = {"pictures": len(index), "resident_bytes_per_picture": round((after - before) / len(index), 1),
               "p50_ms": round(float(np.percentile(ms, 50)), 3), "p99_ms": round(float(np.percentile(ms, 99)), 3),
               "recall_planted": round(float(np.mean(found_original)), 4)}
    print(f"pictures {len(index):,} in {index.shard_count} shards of {index.shard_size:,}; "
          f"{'opened (built earlier) and sorted' if reused else 'built'} in {build_seconds:.0f} s "
          f"(thumbnails made on the fly and written: {disk / 1e9:.1f} GB on disk)")
    print(f"resident: {summary['resident_bytes_per_picture']} B/picture by RSS ({(after - before) / 2**20:.0f} MiB), "
          f"tables {index.nbytes / len(index):.1f} B/picture")
    print(f"queries: {len(queries)} ({planted} planted copies beside a decoy each, {planted} fresh); radius {args.radius}; "
          f"find() p50 {summary['p50_ms']} ms, p99 {summary['p99_ms']} ms, max {ms.max():.2f} ms; "
          f"its CPU time p50 {np.percentile(cpu_seconds, 50) * 1e3:.3f} ms, p99 {np.percentile(cpu_seconds, 99) * 1e3:.3f} ms; "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"planted originals found: {sum(found_original)}/{planted}; wrong matches (decoys or others): {wrong}")
    print(f"baseline, full numpy scan of the same hashes, same verification, first {len(scan_seconds)} queries: "
          f"p50 {np.percentile(scan_seconds, 50) * 1e3:.1f} ms; sharded minus scan "
          f"{paired['diff']:+.2f} ms [{paired['low']:+.2f}, {paired['high']:+.2f}] (95% paired bootstrap)")
    if args.json:
        print(json.dumps(summary))


if __name__ == "__main__":
    main()
