"""Benchmark and quality figures of the image fraud checks (docs/images.md, docs/benchmarks.md).

    .venv/bin/python benchmarks/images.py            # everything (several minutes: OCR)
    .venv/bin/python benchmarks/images.py --skip-ocr # hashing, index and matching only
    .venv/bin/python benchmarks/images.py --only-ocr # the OCR part alone (~5 min)
    .venv/bin/python benchmarks/images.py --only-seller-edits  # recall per seller edit (~6 min CPU)
    .venv/bin/python benchmarks/images.py --only-seller-edits --draws 1 --sample-queries 300  # ~3 min CPU
    # another version of the code on the same copies, compared pair by pair (docs/images.md):
    PYTHONPATH=OLD/src .venv/bin/python benchmarks/images.py --only-seller-edits --no-baselines --save old.json
    .venv/bin/python benchmarks/images.py --only-seller-edits --no-baselines --against old.json

1. hashing throughput (decode + all hashes) on the sample's pictures and on large photos;
2. exact range-query latency at 1,000,000 stored hashes, multi-index hashing beside the
   numpy full scan, same hashes and queries;
3. matching quality: recall of edited copies of real photographs (skimage.data) per edit,
   recall of the simulator's stolen copies, false-match rate over all pairs of distinct
   pictures (simulator sample + photographs), for the policy (candidate search + thumbnail
   verification) beside the previous round's hash-only rules, in the same run;
4. OCR: the text-line prefilter's recall and skip rate on the sample, seconds per picture,
   and how often the rules fire on contact details written in pictures (the simulator's
   and pictures rendered here with several fonts, sizes, colours and backgrounds);
5. seller edits (issue 20): recall per edit of the catalogue on every real photo the
   installed packages ship, through the index and ``find_matches`` as ``score image``
   runs them (regions and turns) beside the full frame alone and beside the policy
   without the details' agreement (verify.similarity's ``detail``), with bootstrap intervals,
   wrong matches among those copies, and the share of the simulator's pictures that match
   an unrelated picture.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import random
import resource
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import skimage.data
from PIL import Image, ImageDraw, ImageFont

os.environ.setdefault("OMP_THREAD_LIMIT", "1")
from bunjang_lab.fraud.images import ocr  # noqa: E402
from bunjang_lab.fraud.images.edits import FONTS, catalogue, jpeg  # noqa: E402
from bunjang_lab.fraud.images.hashing import hash_image, query_hashes  # noqa: E402
from bunjang_lab.fraud.images.index import N_SUBSTRINGS, ImageIndex, LinearScan, SortedBucketIndex  # noqa: E402
from bunjang_lab.fraud.images.loading import open_image  # noqa: E402
from bunjang_lab.fraud.images.matching import DEFAULT_POLICY, find_matches  # noqa: E402
from bunjang_lab.fraud.images.scan import text_reasons  # noqa: E402
from bunjang_lab.fraud.images.verify import Similarity, similarity  # noqa: E402
from bunjang_lab.intervals import paired_bootstrap, resample_means  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[1]
SAMPLE = REPO_ROOT / "data" / "sample"
#: The previous round's policy, recomputed as a same-run baseline: trimmed correlation
#: only behind agreeing hashes (no overlay arm).
PREVIOUS_POLICY = replace(DEFAULT_POLICY, overlay=float("inf"))
#: The policy without the details' agreement (issue 20, third round): what it costs and saves, same run.
WITHOUT_DETAIL = replace(DEFAULT_POLICY, detail=-1.0)
SCENES = ("astronaut", "camera", "chelsea", "coffee", "rocket", "moon", "coins", "clock",
          "hubble_deep_field", "immunohistochemistry", "retina", "page", "text", "cell")
TEXTURES = ("brick", "grass", "gravel")


def photographs(names) -> dict[str, Image.Image]:
    out = {n: Image.fromarray(getattr(skimage.data, n)()).convert("RGB") for n in names}
    if "camera" in names:
        out["motorcycle"] = Image.fromarray(skimage.data.stereo_motorcycle()[0])
    return out


def sample_labels() -> list[dict]:
    with open(SAMPLE / "labels" / "images.csv", newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


# --- 1. hashing ------------------------------------------------------------------------------

def bench_hashing() -> dict:
    files = [SAMPLE / r["image"] for r in sample_labels()[:400]]
    start, cpu = time.perf_counter(), time.process_time()
    for path in files:
        hash_image(open_image(path.read_bytes()))
    small, small_cpu = len(files) / (time.perf_counter() - start), len(files) / (time.process_time() - cpu)
    big = []
    for img in photographs(("astronaut", "retina", "hubble_deep_field", "coffee")).values():
        buffer = io.BytesIO()
        img.resize((img.width * 3, img.height * 3)).save(buffer, "JPEG", quality=90)  # 1.2-4.2k pixels wide
        big.append(buffer.getvalue())
    start, cpu = time.perf_counter(), time.process_time()
    for _ in range(5):
        for data in big:
            hash_image(open_image(data))
    large, large_cpu = 5 * len(big) / (time.perf_counter() - start), 5 * len(big) / (time.process_time() - cpu)
    return {"sample_images_per_s": round(small, 1), "sample_images_per_cpu_s": round(small_cpu, 1),
            "large_jpeg_images_per_s": round(large, 1), "large_jpeg_images_per_cpu_s": round(large_cpu, 1),
            "hash_rows_per_picture": 1 + len(hash_image(Image.new("L", (64, 64))).crops)}


# --- 2. index --------------------------------------------------------------------------------

def bench_index(n: int = 1_000_000, queries: int = 2000) -> dict:
    rng = np.random.default_rng(0)
    # clusters of near-duplicates (a stored picture's crop variants and reposts) on random centres
    centres = rng.integers(0, 2**63, n // 20, dtype=np.int64).astype(np.uint64) << np.uint64(1)
    hashes = np.repeat(centres, 20)
    for _ in range(6):
        hashes ^= (rng.random(n) < 0.5).astype(np.uint64) << rng.integers(0, 64, n).astype(np.uint64)
    picks = hashes[rng.integers(0, n, queries)]
    qs = [int(h) ^ (1 << int(b)) for h, b in zip(picks, rng.integers(0, 64, queries))]
    out = {"stored_hashes": n}
    start = time.perf_counter()
    mih = SortedBucketIndex(N_SUBSTRINGS).add(hashes)  # multi-index hashing as the image index's tables
    mih.query(0, 8)
    out["mih_build_s"] = round(time.perf_counter() - start, 2)
    scan = LinearScan().add(hashes)
    for r in (8, 10, DEFAULT_POLICY.search):
        times, cpu_times, hits = [], [], 0
        for q in qs:
            t, c = time.perf_counter(), time.process_time()
            hits += len(mih.query(q, r)[0])
            cpu_times.append(time.process_time() - c)
            times.append(time.perf_counter() - t)
        scan_times = []
        for q in qs[:100]:
            t = time.perf_counter()
            rows = scan.query(q, r)[0]
            scan_times.append(time.perf_counter() - t)
            assert rows.tolist() == mih.query(q, r)[0].tolist(), "multi-index hashing missed a hash"
        out[f"r{r}"] = {
            "mih_median_ms": round(1000 * statistics.median(times), 3),
            "mih_p99_ms": round(1000 * float(np.percentile(times, 99)), 3),
            "mih_cpu_median_ms": round(1000 * statistics.median(cpu_times), 3),
            "mih_cpu_p99_ms": round(1000 * float(np.percentile(cpu_times, 99)), 3),
            "scan_median_ms": round(1000 * statistics.median(scan_times), 3),
            "scan_p99_ms": round(1000 * float(np.percentile(scan_times, 99)), 3),
            "mean_hits": round(hits / len(qs), 1),
        }
    return out


# --- 3. matching quality ----------------------------------------------------------------------

def hash_evidence(queries, stored) -> dict:
    """Over every (query, stored picture) pair, brute force over all variant pairs: the
    nearest single hash (what the index's candidate search sees), whether the hashes agree
    by the policy, and the previous round's hash-only rules (the same-run baselines)."""
    q = np.array([h.query_variants() for h in queries], dtype=np.uint64)      # n, 2, 2
    s = np.array([h.stored_variants() for h in stored], dtype=np.uint64)      # m, v, 2
    shape = (len(queries), len(stored))
    out = {"nearest": np.full(shape, 64), "agree": np.zeros(shape, bool),
           "hashes (8, 16) alone": np.zeros(shape, bool), "hashes, distance <= 16": np.zeros(shape, bool),
           "phash<=8 only": np.zeros(shape, bool)}
    for qv in range(q.shape[1]):
        for sv in range(s.shape[1]):
            p = np.bitwise_count(q[:, qv, 0][:, None] ^ s[:, sv, 0][None, :])
            d = np.bitwise_count(q[:, qv, 1][:, None] ^ s[:, sv, 1][None, :])
            accepted = DEFAULT_POLICY.accepts(p, d)
            out["nearest"] = np.minimum(out["nearest"], np.minimum(p, d))
            out["agree"] |= accepted
            out["hashes (8, 16) alone"] |= accepted
            out["hashes, distance <= 16"] |= accepted & (p + d <= 16)
            out["phash<=8 only"] |= p <= 8
    return out


def judged(queries, stored, evidence, pairs) -> dict:
    """For (query, stored) index pairs: matched and strongly matched by the full policy
    (candidate search at ``search`` bits, then thumbnail verification), plus the baselines."""
    out = {k: np.array([evidence[k][i, j] for i, j in pairs], bool)
           for k in ("hashes (8, 16) alone", "hashes, distance <= 16", "phash<=8 only")}
    found = np.array([evidence["nearest"][i, j] <= DEFAULT_POLICY.search for i, j in pairs], bool)
    scores = Similarity(*(np.zeros(len(pairs), np.float32) for _ in Similarity._fields))
    by_query = {}
    for n, (i, j) in enumerate(pairs):
        if found[n]:
            by_query.setdefault(i, []).append((n, j))
    for i, items in by_query.items():
        at = [n for n, _ in items]
        for column, values in zip(scores, similarity(queries[i].thumbnail, np.stack([stored[j].thumbnail for _, j in items]))):
            column[at] = values
    agree = np.array([evidence["agree"][i, j] for i, j in pairs], bool)
    matched, strong = DEFAULT_POLICY.judge(agree, scores)
    before, strong_before = PREVIOUS_POLICY.judge(agree, scores)
    return {"policy": found & matched, "strong matches": found & strong,
            "previous policy": found & before, "previous strong": found & strong_before, **out, "candidates": found}


def bench_matching(repeats: int = 4) -> dict:
    rng = random.Random(1)
    out = {"policy": {k: getattr(DEFAULT_POLICY, k) for k in ("close", "loose", "search", "verified", "verified_trimmed", "overlay", "kept_contrast", "supported")}}
    for group, names in (("scenes", SCENES), ("textures", TEXTURES)):
        photos = photographs(names)
        originals = list(photos)
        stored = [hash_image(photos[n]) for n in originals]
        table = {}
        for name, edit in catalogue(rng).items():
            queries, owners = [], []
            for number, photo in enumerate(originals):
                for _ in range(repeats if "crop" in name or "mirror+" in name or "random" in name else 1):
                    queries.append(hash_image(edit(photos[photo])))
                    owners.append(number)
            result = judged(queries, stored, hash_evidence(queries, stored), list(enumerate(owners)))
            table[name] = {k: round(float(v.mean()), 3) for k, v in result.items()
                           if k in ("policy", "strong matches", "previous policy", "hashes (8, 16) alone", "phash<=8 only")} | {"copies": len(queries)}
        out[f"recall_{group}"] = table
    labels = sample_labels()
    hashes = [hash_image(open_image((SAMPLE / r["image"]).read_bytes())) for r in labels]
    position = {r["image"]: i for i, r in enumerate(labels)}
    copies = [(i, position[r["copy_of"]]) for i, r in enumerate(labels) if r["copy_of"]]
    result = judged(hashes, hashes, hash_evidence(hashes, hashes), copies)
    out["recall_simulator_copies"] = {k: round(float(v.mean()), 3) for k, v in result.items() if k != "candidates"} | {"copies": len(copies)}
    related = {frozenset(p) for p in copies}
    everything = hashes + [hash_image(p) for p in photographs(SCENES + TEXTURES).values()]
    out["false_match_rate"] = false_match_rate(everything, related)
    return out


def false_match_rate(hashes, related) -> dict:
    """Over all unordered pairs of distinct pictures: either one matches the other."""
    n = len(hashes)
    evidence = hash_evidence(hashes, hashes)
    upper = np.triu(np.ones((n, n), bool), 1)
    for a, b in related:
        upper[min(a, b), max(a, b)] = False
    unrelated = upper | upper.T
    pairs = [(int(i), int(j)) for i, j in np.argwhere(unrelated & ((evidence["nearest"] <= DEFAULT_POLICY.search)
                                                                  | evidence["phash<=8 only"]))]
    cpu = time.process_time()
    result = judged(hashes, hashes, evidence, pairs)
    cpu = time.process_time() - cpu
    total = int(upper.sum())
    verified = int(result["candidates"].sum())
    out = {"pictures": n, "pairs": total, "candidates_per_picture": round(verified / n, 1),
           "verification_cpu_ms_per_candidate": round(1000 * cpu / verified, 2)}
    rows, cols = np.array(pairs).T
    for name, hits in result.items():
        if name == "candidates":
            continue
        matrix = np.zeros((n, n), bool)
        matrix[rows[hits], cols[hits]] = True
        false = (matrix | matrix.T) & upper
        out[name] = {"false_matches": int(false.sum()), "rate": float(false.sum()) / total,
                     "pictures_with_a_false_match": round(float((false | false.T).any(axis=1).mean()), 4)}
    return out


# --- 4. OCR ----------------------------------------------------------------------------------

KOREAN_FONTS = ("nanum/NanumGothic.ttf", "nanum/NanumMyeongjo.ttf", "nanum/NanumBarunGothic.ttf",
                "nanum/NanumSquareR.ttf", "nanum/NanumGothicBold.ttf")
LATIN_FONTS = ("dejavu/DejaVuSans.ttf", "dejavu/DejaVuSerif.ttf", "liberation/LiberationSans-Regular.ttf",
               "liberation/LiberationMono-Regular.ttf")


def rendered_contacts(count: int, seed: int = 1) -> list[tuple[Image.Image, str, dict]]:
    """Contact details drawn on plain, gradient and photo backgrounds."""
    rng = random.Random(seed)
    photos = [np.asarray(p) for p in photographs(("astronaut", "coffee", "chelsea", "rocket")).values()]
    out = []
    for _ in range(count):
        phone = f"010-{rng.randint(1000, 9999)}-{rng.randint(1000, 9999)}"
        handle = "".join(rng.choice("abcdefghjkmnpqrstuvwxyz") for _ in range(5)) + str(rng.randint(10, 999))
        text, korean = rng.choice([(f"카톡 {handle}", True), (f"문의 {phone}", True), (f"카카오톡 ID: {handle}", True),
                                   (f"텔레그램 @{handle}", True), (f"kakao: {handle}", False), (f"call {phone}", False),
                                   (f"telegram @{handle}", False), (phone, False)])
        font_name = rng.choice(KOREAN_FONTS if korean else KOREAN_FONTS + LATIN_FONTS)
        size = rng.choice([14, 18, 24, 32, 40])
        width, height = rng.choice([(400, 300), (640, 480), (512, 512), (800, 600)])
        background = rng.choice(["plain", "gradient", "photo"])
        if background == "plain":
            img = Image.new("RGB", (width, height), tuple(rng.randint(0, 255) for _ in range(3)))
        elif background == "gradient":
            a = np.linspace(0, 1, width)[None, :, None]
            c1, c2 = (np.array([rng.randint(0, 255) for _ in range(3)]) for _ in range(2))
            img = Image.fromarray((c1 * (1 - a) + c2 * a).repeat(height, 0).astype(np.uint8))
        else:
            img = Image.fromarray(rng.choice(photos)).resize((width, height))
        draw = ImageDraw.Draw(img)
        font = ImageFont.truetype(str(FONTS / font_name), size)
        while draw.textlength(text, font=font) > width - 10:
            size -= 2
            font = ImageFont.truetype(str(FONTS / font_name), size)
        text_width = int(draw.textlength(text, font=font))
        x, y = rng.randint(5, max(6, width - text_width - 5)), rng.randint(5, height - size - 10)
        local = np.asarray(img.convert("L").crop((x, y, x + text_width, y + size))).mean()
        colour = tuple(rng.randint(0, 70) for _ in range(3)) if local > 128 else tuple(rng.randint(190, 255) for _ in range(3))
        outline = background == "photo" and rng.random() < 0.3
        draw.text((x, y), text, font=font, fill=colour, stroke_width=2 if outline else 0,
                  stroke_fill=tuple(255 - c for c in colour))
        out.append((jpeg(img, 85), text, {"font": font_name, "size": size, "background": background}))
    return out


def _cpu_with_children() -> float:
    """CPU seconds of this process and its finished children (tesseract runs as one)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _recovered(img, colour_lines: int) -> tuple[bool, float, float]:
    """Whether the rules fire on the picture's text, wall and CPU seconds of reading it."""
    start, cpu = time.perf_counter(), _cpu_with_children()
    text = ocr.read_text(img, boxes=ocr.text_lines(img), colour_lines=colour_lines)
    return (any(r["code"] == "image_text" for r in text_reasons(text)), time.perf_counter() - start,
            _cpu_with_children() - cpu)


def _reading_figures(pictures, meta=None) -> dict:
    """Rules-fire rate and cost of reading ``pictures``, with the colour-split page and,
    in the same run, without it (the previous round's reading)."""
    out = {}
    for name, colour_lines in (("grey_only", 0), ("with_colour_split", ocr.COLOUR_LINES)):
        results = [_recovered(img, colour_lines) for img in pictures]
        figures = {"rules_fire": round(statistics.mean(ok for ok, _, _ in results), 3),
                   "s_per_picture_wall": round(statistics.mean(t for _, t, _ in results), 2),
                   "s_per_picture_cpu": round(statistics.mean(c for _, _, c in results), 2)}
        if meta is not None:
            for key, values in (("background", ("plain", "gradient", "photo")), ("size", sorted({m["size"] for m in meta}))):
                figures[f"by_{key}"] = {v: round(statistics.mean(ok for (ok, _, _), m in zip(results, meta) if m[key] == v), 3)
                                        for v in values}
        out[name] = figures
    return out


def bench_ocr(rendered: int = 60) -> dict:
    labels = sample_labels()
    start = time.perf_counter()
    found = [(r, bool(ocr.text_lines(Image.open(SAMPLE / r["image"]).convert("RGB")))) for r in labels]
    prefilter_ms = 1000 * (time.perf_counter() - start) / len(found)
    contact = [r for r, _ in found if "image_text" in r["fraud_types"]]
    out = {"prefilter": {
        "ms_per_picture": round(prefilter_ms, 1),
        "recall_contact_pictures": round(sum(f for r, f in found if "image_text" in r["fraud_types"]) / len(contact), 3),
        "recall_any_text": round(sum(f for r, f in found if r["text_in_image"]) / sum(1 for r, _ in found if r["text_in_image"]), 3),
        "skip_rate_no_text": round(sum(not f for r, f in found if not r["text_in_image"]) / sum(1 for r, _ in found if not r["text_in_image"]), 3),
        "skip_rate_all": round(sum(not f for _, f in found) / len(found), 3),
    }}
    out["simulator"] = {"pictures": len(contact),
                        **_reading_figures([Image.open(SAMPLE / r["image"]).convert("RGB") for r in contact])}
    if not rendered:
        return out
    cases = rendered_contacts(rendered)
    out["rendered"] = {"pictures": len(cases), **_reading_figures([img for img, _, _ in cases], [m for _, _, m in cases])}
    return out


# --- 5. seller edits ------------------------------------------------------------------------

def real_photos() -> dict[str, Image.Image]:
    """Every photograph the installed packages ship: scikit-image's scenes (not its
    textures, scans or microscopy), scikit-learn's two sample images and matplotlib's
    sample photos."""
    import matplotlib.cbook
    import sklearn.datasets

    out = photographs(("astronaut", "camera", "chelsea", "coffee", "rocket", "coins", "moon", "retina",
                       "hubble_deep_field"))
    for name, pixels in zip(("china", "flower"), sklearn.datasets.load_sample_images().images):
        out[name] = Image.fromarray(pixels)
    for name in ("grace_hopper.jpg", "Minduka_Present_Blue_Pack.png"):
        out[name.split(".")[0]] = Image.open(matplotlib.cbook.get_sample_data(name)).convert("RGB")
    return out


def _interval(values) -> dict:
    means = resample_means(np.asarray(values, dtype=float))
    return {"mean": round(float(np.mean(values)), 3), "low": round(float(np.percentile(means, 2.5)), 3),
            "high": round(float(np.percentile(means, 97.5)), 3), "n": len(values)}


def _paired_change(now: list[bool], before: list[bool]) -> dict:
    """The mean of ``now`` minus ``before`` (the same copies, in the same order) with its
    paired bootstrap 95% interval."""
    if len(now) != len(before):
        raise ValueError(f"the saved run has {len(before)} outcomes here, this one {len(now)}: not the same copies")
    return {k: round(v, 4) for k, v in paired_bootstrap(np.array(now, float), np.array(before, float)).items()}


def _add_photos_and_sample(index: ImageIndex, photos: dict, labels: list[dict]) -> None:
    index.add({"image": n, "listing": n, "seller": "photos", "key": n, "hashes": hash_image(p)} for n, p in photos.items())
    index.add({"image": r["image"], "listing": r["image"], "seller": r["seller_id"], "key": r["image"],
               "hashes": hash_image(open_image((SAMPLE / r["image"]).read_bytes()))} for r in labels)


def bench_seller_edits(repeats: int = 2, sample_queries: int = 600, seed: int = 20, index_dir: str | None = None,
                       only: tuple[str, ...] = (), baselines: bool = True, save: str | None = None,
                       against: str | None = None) -> dict:
    """Recall per edit (any match to the photo), the copies' wrong matches, and the share of
    sample pictures with a match to an unrelated picture (their precision at the policy's
    fixed thresholds); ``full frame only`` is the previous round's query and
    ``without_detail`` the policy without the details' agreement, same index, same copies;
    ``index_dir``: the index of the photos and the sample kept there (built when empty),
    ``only``: these edits alone; ``baselines``: also the full frame alone and the policy
    without the details (three queries a copy); ``save``: write every copy's and sample
    query's outcome to this JSON file; ``against``: such a file of another version of the
    code on the same copies (same seed, draws, edits and sample queries), compared pair by
    pair (``vs_saved``: this run's recall minus the file's, paired bootstrap)."""
    photos = real_photos()
    labels = sample_labels()
    index = ImageIndex(Path(index_dir or __import__("tempfile").mkdtemp()))
    if not index.pictures_of("astronaut"):
        _add_photos_and_sample(index, photos, labels)
    others = list(photographs(("immunohistochemistry", "page", "text", "brick", "grass")).values())  # not indexed
    rng = random.Random(seed)
    out, seconds = {"photos": sorted(photos), "sample_pictures_indexed": len(labels)}, []
    outcomes: dict = {}
    saved = json.loads(Path(against).read_text()) if against else {}
    for name, edit in catalogue(rng, others).items():
        if only and name not in only:
            continue
        found, before, no_detail, wrong_copies, wrong_no_detail = [], [], [], [], 0
        for photo_name, photo in photos.items():
            for _ in range(repeats):
                copy = edit(photo)
                start = time.process_time()
                query = query_hashes(copy)
                matches = find_matches(index, query)
                seconds.append(time.process_time() - start)
                found.append(any(m["listing"] == photo_name for m in matches))
                wrong_copies.append(any(m["listing"] != photo_name for m in matches))
                if not baselines:
                    continue
                full_frame = find_matches(index, hash_image(copy, crops=(), with_boxes=False))
                before.append(any(m["listing"] == photo_name for m in full_frame))
                baseline = find_matches(index, query, WITHOUT_DETAIL)
                no_detail.append(any(m["listing"] == photo_name for m in baseline))
                wrong_no_detail += any(m["listing"] != photo_name for m in baseline)
        outcomes[name] = {"found": found, "wrong": wrong_copies}
        out[name] = {"recall": _interval(found), "wrong_matches": sum(wrong_copies)}
        if baselines:
            found_, before_, no_detail_ = (np.array(v, float) for v in (found, before, no_detail))
            out[name].update({"full_frame_only": round(float(np.mean(before)), 3),
                              "gain": {k: round(v, 3) for k, v in paired_bootstrap(found_, before_).items()},
                              "without_detail": round(float(np.mean(no_detail)), 3),
                              "detail_gain": {k: round(v, 3) for k, v in paired_bootstrap(found_, no_detail_).items()},
                              "wrong_matches_without_detail": wrong_no_detail})
        if name in saved:
            out[name]["vs_saved"] = _paired_change(found, saved[name]["found"])
            out[name]["saved_recall"] = round(float(np.mean(saved[name]["found"])), 3)
            out[name]["saved_wrong_matches"] = sum(saved[name]["wrong"])
        print(f"  {name}: {json.dumps(out[name])}", flush=True)
    related = {}
    for r in labels:
        if r["copy_of"]:
            related.setdefault(r["image"], set()).add(r["copy_of"])
            related.setdefault(r["copy_of"], set()).add(r["image"])
    false_any, false_strong, false_no_detail = [], [], []
    for r in labels[:sample_queries]:
        query = query_hashes(open_image((SAMPLE / r["image"]).read_bytes()))
        same_photo = {r["image"], *related.get(r["image"], ())}
        matches = [m for m in find_matches(index, query) if m["listing"] not in same_photo]
        false_any.append(bool(matches))
        false_strong.append(any(m["strong"] for m in matches))
        if baselines:
            false_no_detail.append(any(m["listing"] not in same_photo for m in find_matches(index, query, WITHOUT_DETAIL)))
    falses = out["sample_pictures_with_a_false_match"] = {"any": _interval(false_any), "strong": _interval(false_strong)}
    if baselines:
        falses.update({"any_without_detail": _interval(false_no_detail),
                       "detail_change": _paired_change(false_any, false_no_detail)})
    outcomes["sample_false_any"] = {"found": false_any, "wrong": []}
    if "sample_false_any" in saved:
        falses["vs_saved"] = _paired_change(false_any, saved["sample_false_any"]["found"])
        falses["saved_any"] = _interval(saved["sample_false_any"]["found"])
    if save:
        Path(save).write_text(json.dumps(outcomes))
    out["query_cpu_ms"] = {"median": round(1000 * statistics.median(seconds), 1),
                           "p99": round(1000 * float(np.percentile(seconds, 99)), 1)}
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--skip-ocr", action="store_true")
    p.add_argument("--only-ocr", action="store_true", help="the OCR part alone")
    p.add_argument("--only-seller-edits", action="store_true", help="the seller-edit recall alone")
    p.add_argument("--rendered", type=int, default=60, help="rendered OCR pictures")
    p.add_argument("--draws", type=int, default=2, help="seller edits: copies of each photo per edit")
    p.add_argument("--sample-queries", type=int, default=600, help="seller edits: sample pictures asked for false matches")
    p.add_argument("--seed", type=int, default=20, help="seller edits: the edits' random parameters")
    p.add_argument("--index", help="seller edits: keep the index of the photos and the sample in this folder (reused)")
    p.add_argument("--edits", nargs="*", default=(), help="seller edits: only these edits (names of edits.catalogue)")
    p.add_argument("--no-baselines", action="store_true",
                   help="seller edits: the policy's query only (not also the full frame alone and without the details)")
    p.add_argument("--save", help="seller edits: write every copy's outcome to this JSON file")
    p.add_argument("--against", help="seller edits: a --save file of another version on the same copies, compared paired")
    args = p.parse_args()
    report = {}
    benches = () if args.only_ocr else (("hashing", bench_hashing), ("index", bench_index), ("matching", bench_matching),
                                         ("seller_edits", bench_seller_edits))
    if args.only_seller_edits:
        benches = (("seller_edits", lambda: bench_seller_edits(args.draws, args.sample_queries, args.seed, args.index,
                                                               tuple(args.edits), not args.no_baselines, args.save,
                                                               args.against)),)
    for name, bench in benches:
        start, cpu = time.perf_counter(), time.process_time()
        report[name] = bench()
        print(f"{name} ({time.perf_counter() - start:.0f} s wall, {time.process_time() - cpu:.0f} s CPU): "
              f"{json.dumps(report[name], ensure_ascii=False)}", flush=True)
    if not args.skip_ocr and not args.only_seller_edits:
        report["ocr"] = bench_ocr(args.rendered)
        print(f"ocr: {json.dumps(report['ocr'], ensure_ascii=False)}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
