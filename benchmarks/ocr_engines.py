"""Contact details drawn onto busy real photos, read by each OCR engine (docs/images.md).

    .venv/bin/python benchmarks/ocr_engines.py                  # 80 pictures, every engine (~5 min CPU)
    .venv/bin/python benchmarks/ocr_engines.py --pictures 40 --engines ppocr+tesseract
    # on a loaded machine, one process per engine, then their paired figures:
    .venv/bin/python benchmarks/ocr_engines.py --engines tesseract --save t.json --no-whole-process
    .venv/bin/python benchmarks/ocr_engines.py --merge t.json p.json ...

Phone numbers, bank account numbers (with the bank's name or 계좌/입금) and messenger
IDs (카톡, 텔레그램, kakao, telegram, 라인...) are drawn straight onto the photographs the
installed packages ship (scikit-image, scikit-learn, matplotlib: ``images.real_photos``),
with no box behind them: every font on the machine that writes the line (Nanum, DejaVu,
Liberation), sizes of 1/32 to 1/12 of the width, seven colours, outlines of 0-3 pixels,
turns of up to 8 degrees, JPEG at 75-92. The seed differs from the one the engines were
tuned on. Per engine, the same pictures:

* ``flagged``: the share whose answer carries the ``image_text`` reason (the target: 0.90),
  per kind, with bootstrap intervals, and the paired difference to the previous default
  (tesseract on the prefilter's lines);
* ``read``: the share whose detail is in the read text whole (digits for numbers);
* ``leaked``: answers whose ``ocr_text`` shows the detail unmasked (must be 0);
* CPU ms per picture (this process and tesseract's; the models' one-off load apart);
* false flags on the real photos without text and on sample pictures without text;
* wall seconds of a whole ``score image`` process on a normal photo and on a picture of
  55 lines of text (the target: under 5 s).

Timings come from a shared machine (2 cores, other jobs running): compare engines
within one run.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

os.environ.setdefault("OMP_THREAD_LIMIT", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))
from images import SAMPLE, _interval, real_photos  # noqa: E402

from bunjang_lab.fraud.images import ocr  # noqa: E402
from bunjang_lab.fraud.images.edits import FONTS, jpeg  # noqa: E402
from bunjang_lab.fraud.images.scan import mask_read_text, text_reasons  # noqa: E402
from bunjang_lab.intervals import paired_bootstrap  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[1]
KOREAN_FONTS = sorted((FONTS / "nanum").glob("*.ttf"))
LATIN_FONTS = [p for p in sorted((FONTS / "dejavu").glob("*.ttf")) + sorted((FONTS / "liberation").glob("*.ttf"))
               if "Math" not in p.name]
BANKS = ("국민", "신한", "우리", "하나", "농협", "기업", "카카오뱅크", "토스뱅크")
COLOURS = ((255, 255, 255), (0, 0, 0), (255, 230, 0), (255, 40, 40), (30, 90, 255), (40, 200, 90), (255, 120, 180))
KINDS = ("phone", "account", "messenger")


def contact_line(rng: random.Random) -> tuple[str, str, str]:
    """``(kind, detail, line)``: a contact detail and the line that writes it."""
    kind = rng.choice(KINDS)
    four = lambda: f"{rng.randint(0, 9999):04d}"  # noqa: E731
    if kind == "phone":
        detail = rng.choice([f"010-{four()}-{four()}", f"010 {four()} {four()}", f"010{four()}{four()}", f"010.{four()}.{four()}"])
        line = rng.choice(["{}", "문의 {}", "전화 {}", "연락처 {}", "call {}", "☎ {}", "TEL {}"]).format(detail)
    elif kind == "account":
        detail = rng.choice([f"{rng.randint(100, 999)}-{rng.randint(10, 99)}-{rng.randint(100000, 999999)}",
                             f"{rng.randint(1000, 1002)}-{rng.randint(100, 999)}-{rng.randint(100000, 999999)}",
                             f"{rng.randint(100000, 999999)}-{rng.randint(10, 99)}-{rng.randint(100000, 999999)}"])
        line = rng.choice(["{b} {d}", "{b}은행 {d}", "계좌 {b} {d}", "입금 {d} {b}", "{b} {d} 예금주 김민수"]).format(
            b=rng.choice(BANKS), d=detail)
    else:
        detail = "".join(rng.choice("abcdefghjkmnpqrstuvwxyz") for _ in range(rng.randint(4, 7))) + str(rng.randint(1, 999))
        line = rng.choice(["카톡 {}", "카카오톡 ID: {}", "카톡아이디 {}", "텔레그램 @{}", "kakao: {}", "telegram @{}", "라인 {}",
                           "KakaoTalk {}"]).format(detail)
    return kind, detail, line


def honest_line(rng: random.Random) -> str:
    """A line an honest seller writes on a listing photo with numbers in it that are no
    contact detail: prices, sizes, dates, model and serial numbers, parcel and order
    numbers (not a shop's registration number, 123-45-67890: the text rules take it for a phone)."""
    digits = lambda n: "".join(str(rng.randint(0, 9)) for _ in range(n))  # noqa: E731
    sep = rng.choice("-.")
    date = f"20{rng.randint(18, 26)}{sep}{rng.randint(1, 12):02d}{sep}{rng.randint(1, 28):02d}"
    price = f"{rng.randint(5, 2500) * 1000:,}"
    templates = [
        f"정가 {price}원", f"{price}원 택포", f"사이즈 {rng.choice([230, 245, 260, 270, 280, 95, 100, 105])}",
        f"구매일 {date}", f"{date} 구매", f"모델명 SM-{rng.choice('GSAN')}{digits(3)}N", f"품번 DV{digits(4)}-{digits(3)}",
        f"운송장번호 {digits(4)}-{digits(4)}-{digits(4)}", f"송장 {digits(12)}", f"주문번호 {date[:4]}{digits(4)}-{digits(7)}",
        f"S/N {digits(4)}-{digits(6)}-{digits(3)}",
        f"{rng.randint(2015, 2025)}년식 주행 {rng.randint(1, 99)},{digits(3)}km", f"{rng.randint(20, 120)}x{rng.randint(20, 120)}x{rng.randint(5, 60)}cm",
        f"용량 {rng.choice([64, 128, 256, 512])}GB 배터리 {rng.randint(78, 100)}%", f"{date} {rng.randint(10, 23)}:{digits(2)} 촬영",
    ]
    return rng.choice(templates)


def drawn(photo: Image.Image, line: str, rng: random.Random) -> tuple[Image.Image, dict]:
    """``line`` drawn onto ``photo`` (no box behind it), and how."""
    korean = any("가" <= ch <= "힣" for ch in line)
    font_path = rng.choice(KOREAN_FONTS if korean else KOREAN_FONTS + LATIN_FONTS)
    width = rng.choice([480, 640, 800, 1024])
    img = photo.resize((width, round(photo.height * width / photo.width))).convert("RGBA")
    size = max(12, round(width * rng.uniform(1 / 32, 1 / 12)))
    layer = Image.new("RGBA", img.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    font = ImageFont.truetype(str(font_path), size)
    while draw.textlength(line, font=font) > 0.9 * width:
        size -= 2
        font = ImageFont.truetype(str(font_path), size)
    text_width = int(draw.textlength(line, font=font))
    x, y = rng.randint(5, max(6, width - text_width - 5)), rng.randint(5, img.height - 2 * size)
    colour = rng.choice(COLOURS)
    outline = rng.choice([0, 1, 2, 2, 3])
    draw.text((x, y), line, font=font, fill=colour + (255,), stroke_width=outline,
              stroke_fill=(0, 0, 0, 255) if sum(colour) > 380 else (255, 255, 255, 255))
    angle = rng.uniform(-8, 8)
    layer = layer.rotate(angle, resample=Image.Resampling.BICUBIC, center=(x + text_width / 2, y + size / 2))
    out = jpeg(Image.alpha_composite(img, layer).convert("RGB"), rng.choice([75, 85, 92]))
    return out, {"font": font_path.name, "size": size, "outline": outline, "angle": round(angle, 1)}


def busy_contacts(count: int, seed: int) -> list[dict]:
    rng = random.Random(seed)
    photos = list(real_photos().items())
    cases = []
    for _ in range(count):
        kind, detail, line = contact_line(rng)
        name, photo = rng.choice(photos)
        img, how = drawn(photo, line, rng)
        cases.append({"img": img, "kind": kind, "detail": detail, "line": line, "photo": name, **how})
    return cases


def busy_honest(count: int, seed: int) -> list[Image.Image]:
    """Honest lines with numbers (:func:`honest_line`) drawn onto busy photos as
    :func:`busy_contacts` draws contact details: none may be flagged."""
    rng = random.Random(seed + 1)
    photos = list(real_photos().values())
    return [drawn(rng.choice(photos), honest_line(rng), rng)[0] for _ in range(count)]


def recovered(kind: str, detail: str, text: str) -> bool:
    """Whether ``text`` holds the detail whole (numbers: their digits in a row)."""
    if kind in ("phone", "account"):
        return re.sub(r"\D", "", detail) in re.sub(r"\D", "", text)
    return detail.lower() in text.lower().replace(" ", "")


def leaked(kind: str, detail: str, text: str) -> bool:
    """Whether the masked answer still shows the detail (its digits, or the ID) whole."""
    return recovered(kind, detail, mask_read_text(text))


def _cpu_with_children() -> float:
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def flags(text: str) -> bool:
    return any(r["code"] == "image_text" for r in text_reasons(text))


def bench_engine(name: str, cases: list[dict], clean: list[Image.Image], honest: list[Image.Image] = ()) -> dict:
    reader = ocr.Reader(engine=ocr.make_engine(name))
    start = _cpu_with_children()
    reader.read(clean[0])  # loads the models, if any: once per process, reported apart
    load = _cpu_with_children() - start
    results, seconds = [], []
    for case in cases:
        start = _cpu_with_children()
        reading = reader.read(case["img"])
        seconds.append(_cpu_with_children() - start)
        results.append({"flagged": flags(reading.text), "read": recovered(case["kind"], case["detail"], reading.text),
                        "leaked": leaked(case["kind"], case["detail"], reading.text), "capped": reading.capped,
                        "text": reading.text, "cpu_s": seconds[-1]})
    false_flags = [flags(reader.read(img).text) for img in clean]
    out = {"flagged": _interval([r["flagged"] for r in results]), "read": _interval([r["read"] for r in results])}
    for kind in KINDS:
        mine = [r for r, c in zip(results, cases) if c["kind"] == kind]
        if mine:
            out[kind] = {"flagged": _interval([r["flagged"] for r in mine]), "read": _interval([r["read"] for r in mine])}
    out["leaked"] = sum(r["leaked"] for r in results)
    out["capped"] = sum(bool(r["capped"]) for r in results)
    out["cpu_ms_per_picture"] = {"mean": round(1000 * statistics.mean(seconds)), "median": round(1000 * statistics.median(seconds)),
                                 "p90": round(1000 * float(np.percentile(seconds, 90))), "max": round(1000 * max(seconds))}
    out["model_load_cpu_ms"] = round(1000 * load)
    out["false_flags_on_pictures_without_text"] = {"flagged": int(sum(false_flags)), "of": len(false_flags)}
    if honest:
        honest_texts = [reader.read(img).text for img in honest]
        out["false_flags_on_honest_numbers"] = {"flagged": sum(map(flags, honest_texts)), "of": len(honest_texts)}
        for text in honest_texts:
            if flags(text):
                print(f"    false flag on honest numbers -> {mask_read_text(text)[:100]!r}")
    return out, results


def score_image_seconds(engine: str | None, picture: Path, index: Path, repeats: int = 3) -> dict:
    """Wall and CPU seconds (the process and its tesseract children) of whole ``score
    image`` processes on ``picture``, the OCR cache emptied before each; ``engine`` None:
    ``--no-ocr``, the same run's baseline."""
    wall, cpu = [], []
    for _ in range(repeats):
        (index / "ocr_cache.sqlite").unlink(missing_ok=True)
        start, start_cpu = time.perf_counter(), _children_cpu()
        done = subprocess.run([sys.executable, "-m", "bunjang_lab.score", "image", str(picture), "--index", str(index),
                               *(["--no-ocr"] if engine is None else [])],
                              capture_output=True, text=True, env={**os.environ, ocr.ENGINE_SETTING: engine or ocr.DEFAULT_ENGINE})
        wall.append(round(time.perf_counter() - start, 2))
        cpu.append(round(_children_cpu() - start_cpu, 2))
        if done.returncode != 0:
            raise RuntimeError(done.stderr[-2000:])
    return {"wall_s": wall, "cpu_s": cpu}


def _children_cpu() -> float:
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return children.ru_utime + children.ru_stime


def whole_process(engines, repeats: int) -> dict:
    folder = Path(tempfile.mkdtemp(prefix="ocr-bench-"))
    try:
        photos = folder / "photos"
        photos.mkdir()
        real_photos()["chelsea"].save(photos / "chelsea.jpg", quality=90)
        subprocess.run([sys.executable, "-m", "bunjang_lab", "images", "index", str(photos), "--index", str(folder / "ix"),
                        "--no-progress"], check=True, capture_output=True)
        normal = folder / "coffee.jpg"
        real_photos()["coffee"].save(normal, quality=90)
        lines = Image.new("RGB", (900, 1700), "white")
        draw = ImageDraw.Draw(lines)
        font = ImageFont.truetype(str(FONTS / "nanum/NanumGothic.ttf"), 22)
        for n in range(55):
            draw.text((20, 10 + 30 * n), f"{n} 카톡 seller{n:03d} 문의 010-{1000 + n}-{5000 + n} 택배비 포함 네고 불가", font=font, fill="black")
        lines.save(folder / "lines.png")
        out = {}
        for engine in [None, *engines]:
            name = engine or "no OCR"
            out[name] = {"normal_photo": score_image_seconds(engine, normal, folder / "ix", repeats),
                         "55_lines": score_image_seconds(engine, folder / "lines.png", folder / "ix", repeats)}
            print(f"  score image, {name}: {json.dumps(out[name])}", flush=True)
        done = subprocess.run([sys.executable, "-m", "bunjang_lab.score", "image", str(folder / "lines.png"), "--index",
                               str(folder / "ix")], capture_output=True, text=True)
        out["55_lines_answer"] = {k: v for k, v in json.loads(done.stdout).items() if k in ("ocr_capped", "flagged", "ocr_text")}
        return out
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def pictures_without_text(count: int) -> list[Image.Image]:
    with open(SAMPLE / "labels" / "images.csv", newline="", encoding="utf-8") as handle:
        labels = [r for r in csv.DictReader(handle) if not r["text_in_image"]][:count]
    return list(real_photos().values()) + [Image.open(SAMPLE / r["image"]).convert("RGB") for r in labels]


def within_the_rules(cases: list[dict], flagged: dict) -> dict:
    """The flagged shares among the pictures whose drawn line the text rules flag when
    read perfectly (``라인 abc123`` is not flagged by the rules: 라인 is a common word),
    per kind, and paired against tesseract there."""
    fair = np.array([flags(case["line"]) for case in cases])
    out = {"drawn_lines_the_rules_flag": {"all": f"{int(fair.sum())}/{len(fair)}",
                                          **{k: f"{sum(f for f, c in zip(fair, cases) if c['kind'] == k)}/"
                                                f"{sum(c['kind'] == k for c in cases)}" for k in KINDS}}}
    for engine, values in flagged.items():
        out[engine] = {"all": _interval(values[fair]),
                       **{k: _interval(values[fair & np.array([c["kind"] == k for c in cases])]) for k in KINDS}}
    if "tesseract" in flagged:
        out["against_tesseract"] = paired_against_tesseract({k: v[fair] for k, v in flagged.items()})
    return out


def paired_against_tesseract(flagged: dict) -> dict:
    """Each engine's flagged share minus tesseract's on the same pictures, with its interval."""
    return {engine: {k: round(v, 3) for k, v in paired_bootstrap(flags, flagged["tesseract"]).items()}
            for engine, flags in flagged.items() if engine != "tesseract"}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--pictures", type=int, default=80)
    p.add_argument("--seed", type=int, default=2026, help="the engines were tuned on seed 7")
    p.add_argument("--engines", nargs="+", default=list(ocr.ENGINES))
    p.add_argument("--without-text", type=int, default=30, help="sample pictures without text, for false flags")
    p.add_argument("--honest", type=int, default=0, help="honest lines with numbers on busy photos, for false flags")
    p.add_argument("--repeats", type=int, default=2, help="whole score image processes per picture and engine")
    p.add_argument("--no-whole-process", action="store_true", help="skip the whole score image timings")
    p.add_argument("--save", help="write each picture's flag per engine to this JSON file")
    p.add_argument("--merge", nargs="+", help="only pair the flags saved by earlier runs (same pictures and seed)")
    args = p.parse_args()
    if args.merge:
        flagged = {}
        for path in args.merge:
            flagged.update({k: np.array(v, dtype=float) for k, v in json.loads(Path(path).read_text())["flagged"].items()})
        print(json.dumps(within_the_rules(busy_contacts(len(next(iter(flagged.values()))), args.seed), flagged)))
        return
    cases = busy_contacts(args.pictures, args.seed)
    clean = pictures_without_text(args.without_text)
    honest = busy_honest(args.honest, args.seed)
    report, flagged, cpu = {"pictures": len(cases), "seed": args.seed, "kinds": {k: sum(c["kind"] == k for c in cases) for k in KINDS}}, {}, {}
    for engine in args.engines:
        start = time.perf_counter()
        report[engine], results = bench_engine(engine, cases, clean, honest)
        flagged[engine] = np.array([r["flagged"] for r in results], dtype=float)
        cpu[engine] = [round(r["cpu_s"], 4) for r in results]
        print(f"{engine} ({time.perf_counter() - start:.0f} s wall): {json.dumps(report[engine], ensure_ascii=False)}", flush=True)
        for case, result in zip(cases, results):
            if not result["flagged"]:
                print(f"    missed {case['kind']} {case['line']!r} on {case['photo']} -> {mask_read_text(result['text'])[:100]!r}")
    if args.save:
        Path(args.save).write_text(json.dumps({"seed": args.seed, "flagged": {k: v.tolist() for k, v in flagged.items()},
                                               "cpu_s": cpu}))
    if "tesseract" in flagged:
        report["flagged_against_tesseract"] = paired_against_tesseract(flagged)
        print(f"flagged, paired against tesseract: {json.dumps(report['flagged_against_tesseract'])}", flush=True)
    if not args.no_whole_process:
        report["score_image_whole_process"] = whole_process(args.engines, args.repeats)
    print(json.dumps(report, ensure_ascii=False), flush=True)


if __name__ == "__main__":
    main()
