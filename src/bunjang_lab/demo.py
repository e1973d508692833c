"""``python -m bunjang_lab demo``: the whole pipeline on the sample data, then what to try.

What ``make demo`` runs. The same task functions the DAGs call (``bunjang_lab.pipeline``),
in the order a day runs: ingest the sample day files into the lake, train the fraud text
classifier and seller model on the sample's labels (once), hash and OCR the
newest day's listing images and score its listings, chats and sellers, train the FM and
gate it, compute the recommendation products, publish them with the fraud flags to the
serving cache, and write the batch report. Everything goes under ``BUNJANG_HOME``.

Running it again is cheap and changes nothing: ingest counts every event as a duplicate,
a trained day is reused, and the cache gets an identical new version.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bunjang_lab import paths, pipeline, progress, stages
from bunjang_lab.cli import UserError, parser
from bunjang_lab.fraud import store

SCORE = "python -m bunjang_lab.score"


def _python() -> str:
    """How to call this interpreter in a printed command (the repo's venv when inside it)."""
    exe = Path(sys.executable)
    try:
        return str(exe.relative_to(Path.cwd()))
    except ValueError:
        return str(exe)


def run_demo(sample: str | Path, *, day: str | None = None, labels: str | Path | None = None,
             report: Callable[[str], None] = print) -> dict:
    """Run every stage on ``sample`` (day files, ``images/``, ``labels/``) and return a summary.

    ``day`` is the batch day to score, train and publish (default: the newest day with
    marketplace activity in the lake). ``report`` receives one progress line per stage.
    """
    from bunjang_lab.ingest import expand_inputs, ingest_files, new_run_id

    sample = Path(sample)
    files = [f for f in expand_inputs([sample])] if sample.is_dir() else []
    if not files:
        raise UserError(f"no JSON Lines day files in {sample} (generate some with `python -m bunjang_lab simulate --out {sample}`)")
    labels = Path(labels) if labels else sample / "labels"
    _allow_pictures_in(sample)
    lake, runs, models, reports = str(paths.lake_dir()), str(paths.runs_dir()), str(paths.models_dir()), str(paths.reports_dir())
    image_index, cache = str(paths.home() / "image_index"), paths.cache_url()
    summary: dict[str, Any] = {"home": str(paths.home()), "seconds": {}}

    def stage(name: str, what: str, call: Callable[[], Any]) -> Any:
        report(f"[{name}] {what} ...")
        started = time.perf_counter()
        result = call()
        summary["seconds"][name] = round(time.perf_counter() - started, 3)
        return result

    ingested = stage("ingest", f"{len(files)} day files into {lake}",
                     lambda: ingest_files(files, lake, run_id=f"demo-{new_run_id()}"))
    summary["ingest"] = {k: ingested[k] for k in ("read", "accepted", "duplicates", "quarantined")}
    day = pipeline.as_day(day or pipeline.latest_activity_day(lake)).isoformat()
    summary["day"] = day
    run = pipeline.run_dir(runs, day)
    # the day's tasks keep their own times; ingest and fraud training are the demo's, so it keeps theirs
    stages.record(run, "ingest", summary["seconds"]["ingest"])

    def fraud() -> dict:
        shards = pipeline.plan_image_shards(lake, [day])
        parts = [pipeline.scan_image_shard(shard, runs, image_index)
                 for shard in progress.bar(shards, "images (shards)", unit="shard")]
        return pipeline.scan_fraud_days(lake, runs, [day], image_index, parts, models=models)[day]

    def train_fraud() -> dict:
        from bunjang_lab.fraud.train import train_models  # seconds of imports: the stage's, after its line

        return train_models(lake, labels, models)

    if labels.is_dir() and store.latest(models) is None:  # trained once; a re-run keeps the model
        summary["fraud_models"] = stage("fraud-train", f"text classifier and seller anomaly model on {labels}", train_fraud)
        stages.record(run, "fraud-train", summary["seconds"]["fraud-train"])
    summary["fraud"] = stage("fraud", f"images, listings, chats and sellers of the {pipeline.FRAUD_LOOKBACK_DAYS} days up to {day}", fraud)
    candidate = stage("train", f"FM on events up to the end of {day}", lambda: pipeline.train_candidate(lake, models, day, runs=runs))
    summary["gate"] = stage("gate", "candidate against the model in production",
                            lambda: pipeline.gate_candidate(candidate, models, lake, runs, day))
    summary["products"] = stage("products", "home feeds, popular lists, related items, suggestions",
                                lambda: pipeline.compute_day_products(lake, models, runs, day))
    summary["publish"] = stage("publish", f"run {day} to {cache}", lambda: pipeline.publish_day(runs, day, cache))
    summary["ads"] = stage("ads", f"the ads ledger of {day}, the click-through calibration, the campaigns into the cache",
                           lambda: ads_day(lake, runs, day, cache))
    summary["report"] = stage("report", f"batch report of {day}",
                              lambda: pipeline.build_day_report(lake, runs, reports, day, models=models,
                                                                labels=str(labels) if labels.is_dir() else None))
    summary["try"] = try_next(run)
    return summary


def ads_day(lake: str, runs: str, day: str, cache: str) -> dict:
    """What the ads DAGs do for the day (``ads_billing``, the publish DAG's ``ad_calibration``),
    and the campaigns into the new cache, which never received their events in real time."""
    from bunjang_lab.errors import NotEnoughData

    billing = pipeline.bill_ads_day(lake, runs, day)
    if not billing["ad_events"]:   # a sample simulated without ads
        return {"billing": billing}
    try:
        calibration = pipeline.calibrate_ads(lake, runs, day, cache)
    except NotEnoughData as exc:   # a small sample: the auction ranks by the prior pCTR, as the DAG skips
        calibration = {"skipped": str(exc)}
    return {"billing": billing, "calibration": calibration, "campaigns": pipeline.load_ad_campaigns(lake, cache, day)}


def _allow_pictures_in(sample: Path) -> None:
    """Make the sample folder named here one more image root for this process (its listings'
    pictures lie in it; ``docs/images.md``, "Image references and bad input")."""
    from bunjang_lab.fraud.images.sources import ImageSources

    roots = ImageSources.from_env().roots
    os.environ["BUNJANG_IMAGE_ROOTS"] = os.pathsep.join([*roots, str(sample.resolve())])


def try_next(run: Path) -> list[list[str]]:
    """Serving commands (argv after ``python -m bunjang_lab.score``) that answer from this run;
    the lists are explained (title, category, price, age and why of each item)."""
    import pandas as pd

    from bunjang_lab.text.hangul import latin_of_jamo

    products = run / "products"
    tries: list[list[str]] = []
    home = pd.read_parquet(products / "home.parquet", columns=["user_id"])
    if len(home):
        tries.append(["recommend", "--user", str(home["user_id"].iloc[0]), "--k", "5", "--explain"])
    tries.append(["recommend", "--user", "someone-new", "--gender", "F", "--birth-year", "1998", "--k", "5", "--explain"])
    related = pd.read_parquet(products / "related.parquet", columns=["item_id"])
    if len(related):
        tries.append(["related", "--item", str(related["item_id"].iloc[0]), "--k", "5", "--explain"])
    suggest = pd.read_parquet(products / "suggest.parquet")
    if len(suggest):
        top = str(suggest.sort_values("score", ascending=False)["query"].iloc[0])
        tries.append(["suggest", "--prefix", top[:1]])
        if latin_of_jamo(top):  # the same query typed with the keyboard left in English mode
            tries.append(["suggest", "--prefix", latin_of_jamo(top)])
    tries.append(["popular", "--gender", "M", "--k", "5", "--explain"])
    tries.append(["text", "카톡 아이디 abc123 로 연락주세요, 선입금 후 택배 거래만 해요"])
    return tries


def _preview(argv: list[str]) -> str:
    """What a serving command answers, in a line a person can judge: the first items' titles
    and reasons, the suggested queries, or the answer's first line."""
    proc = subprocess.run([sys.executable, "-m", "bunjang_lab.score", *argv], capture_output=True, text=True, timeout=60)
    text = (proc.stdout if proc.returncode == 0 else proc.stderr).strip().splitlines()
    line = text[0] if text else ""
    try:
        answer = json.loads(line) if proc.returncode == 0 else {}
    except ValueError:
        answer = {}
    items = answer.get("items") if isinstance(answer, dict) else None
    if items and "title" in items[0]:
        line = "; ".join(_described(i) for i in items[:3])
    elif isinstance(answer, dict) and answer.get("suggestions"):
        line = ", ".join(f"{s['query']} ({s['match']})" for s in answer["suggestions"][:5])
    return line if len(line) <= 160 else line[:157] + "..."


def _described(item: dict) -> str:
    """``title (price, age) — why`` of an explained item; a promoted one says whose ad it is.

    >>> _described({"title": "니트", "price": 27000.0, "age_hours": 48, "why": "new in 니트"})
    '니트 (27,000원, 2 d old) — new in 니트'
    >>> _described({"title": "유모차", "ad": True, "campaign_id": "c00091", "billing": "cpc"})
    '유모차 — ad (campaign c00091, cpc)'
    """
    facts = ([f"{item['price']:,.0f}원"] if item.get("price") is not None and not item.get("ad") else []) + \
            ([f"{item['age_hours'] / 24:.0f} d old"] if item.get("age_hours") is not None and not item.get("ad") else [])
    why = f"ad (campaign {item.get('campaign_id')}, {item.get('billing')})" if item.get("ad") else item.get("why", "")
    return f"{item['title']} ({', '.join(facts)}) — {why}" if facts else f"{item['title']} — {why}"


def print_summary(summary: dict) -> None:
    ingest, gate, publish = summary["ingest"], summary["gate"], summary["publish"]
    print()
    print(f"Done in {sum(summary['seconds'].values()):.0f} s; everything is under {summary['home']}")
    print(f"  lake      {ingest['accepted']} new events, {ingest['duplicates']} duplicates, {ingest['quarantined']} quarantined")
    print(f"  day       {summary['day']} (the batch day scored, trained and published)")
    fraud = summary["fraud"]
    print(f"  fraud     flagged {fraud.get('flagged_listings')} of {fraud.get('listings')} listings, "
          f"{fraud.get('flagged_messages')} of {fraud.get('messages')} chat messages, "
          f"{fraud.get('flagged_sellers')} of {fraud.get('sellers')} sellers ({fraud.get('images')} images checked)")
    print(f"  model     {gate.get('candidate')}: {'promoted to latest' if gate.get('promoted') else 'kept the current model'} ({gate.get('reason')})")
    print(f"  cache     version {publish.get('version')} of run {publish.get('run')}: "
          + ", ".join(f"{k} {v}" for k, v in sorted(publish.get("counts", {}).items())))
    billing = (summary.get("ads") or {}).get("billing") or {}
    if billing.get("ad_events"):
        reconciled = "reconciled" if not any(billing["reconciliation"].values()) else "NOT reconciled"
        print(f"  ads       {billing['ad_events']} ad events of {billing['day']} billed: {billing['charged_krw']:,.0f} KRW "
              f"from {billing['advertisers']} advertisers ({reconciled}); "
              f"{summary['ads']['campaigns']['active']} live campaigns in the cache")
    print(f"  report    {summary['report']}")
    print("  seconds   " + ", ".join(f"{k} {v:.1f}" for k, v in summary["seconds"].items()))
    print()
    print("Try next (answers come from the cache):")
    python = _python()
    for argv in summary["try"]:
        print(f"  {python} -m bunjang_lab.score {shlex.join(argv)}")
        print(f"      -> {_preview(argv)}")
    print()
    print("Run it on Airflow:   make airflow   (then: make airflow-smoke for the whole chain)")
    print(f"Open the report:     {summary['report']}")


def run(argv: list[str]) -> int:
    p = parser("python -m bunjang_lab demo", "Run the whole pipeline on the sample data and print what to try next.")
    p.add_argument("--sample", default=str(paths.sample_dir()), help="sample folder of day files (default: %(default)s)")
    p.add_argument("--day", help="batch day to score, train and publish (default: the newest day in the lake)")
    p.add_argument("--json", action="store_true", help="print the summary as one JSON object instead")
    args = p.parse_args(argv)
    if args.day:
        try:
            pipeline.as_day(args.day)
        except ValueError:
            raise UserError(f"--day: not a date: {args.day!r}") from None
    progress = (lambda line: print(line, file=sys.stderr)) if args.json else print
    summary = run_demo(args.sample, day=args.day, report=progress)
    if args.json:
        print(json.dumps(summary, ensure_ascii=False, default=str))
    else:
        print_summary(summary)
    return 0
