"""``python -m bunjang_lab fraud``: score a lake window, train the models, or evaluate.

    fraud --lake DIR --out RUN_DIR [--start T] [--end T] [--image-index PATH] [--models DIR]
    fraud train --lake DIR --labels LABELS_DIR [--models DIR] [--start T] [--end T]
    fraud evaluate [--lake DIR --labels LABELS_DIR] [--smishing CSV] [--spam TSV] [--models DIR] [--rules-only]
    fraud retrain --start T --end T [--lake DIR] [--models DIR] [--tolerance X] [--json]
    fraud rollback [--models DIR]
    fraud shadow add CODE --category C --weight W --pattern REGEX [--since T] [--models DIR]
    fraud shadow list [--models DIR]
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from bunjang_lab import paths
from bunjang_lab.cli import UserError, parser

PROG = "python -m bunjang_lab fraud"


def _window(p) -> None:
    p.add_argument("--start", default=None, help="first event time (inclusive), e.g. 2026-10-01")
    p.add_argument("--end", default=None, help="end of the window (exclusive)")
    p.add_argument("--models", default=None, help=f"models folder (default: {paths.models_dir()})")


def _lake(path: str | None) -> str:
    lake = path or str(paths.lake_dir())
    if "://" not in lake and not Path(lake).is_dir():
        raise UserError(f"no lake at {lake} (ingest events first: python -m bunjang_lab ingest FILE --lake {lake})")
    return lake


def _labels(path: str) -> Path:
    labels = Path(path)
    if (labels / "labels").is_dir():  # a simulator output folder
        labels = labels / "labels"
    missing = [n for n in ("messages.csv", "listings.csv") if not (labels / n).exists()]
    if missing:
        raise UserError(f"{labels}: missing {', '.join(missing)} (a simulator labels folder is expected)")
    return labels


def _scan(argv: list[str]) -> int:
    p = parser(PROG, "Score every listing, chat message and seller of a lake window for fraud "
                     "(subcommands: train, evaluate).")
    p.add_argument("--lake", default=None, help=f"lake folder or URL (default: {paths.lake_dir()})")
    p.add_argument("--out", default=None, help="run folder, relative to BUNJANG_HOME; results go to RUN_DIR/fraud/ "
                                                "(default: runs/fraud-<time>)")
    p.add_argument("--image-index", default=None, help="image index folder, relative to BUNJANG_HOME (e.g. image_index): "
                                                       "also check listing photos (reuse, text in images); without it "
                                                       "no photo is checked")
    p.add_argument("--json", action="store_true", help="print the summary as one JSON object instead of a table")
    _window(p)
    args = p.parse_args(argv)
    from bunjang_lab.fraud.scan import scan_fraud

    out = paths.in_home(args.out) if args.out else paths.runs_dir() / time.strftime("fraud-%Y%m%dT%H%M%S")
    index = str(paths.in_home(args.image_index)) if args.image_index else None
    summary = scan_fraud(_lake(args.lake), out, args.start, args.end, image_index=index, models_dir=args.models)
    if args.json:
        print(json.dumps({"out": str(out / "fraud"), **summary}, ensure_ascii=False))
        return 0
    from bunjang_lab.tables import text_table

    models = summary["models"]
    print(f"fraud results in {out / 'fraud'} (text: {models['text']}; sellers: {models['anomaly']}; "
          f"flagged at risk >= {summary['threshold']})")
    print(text_table([{"scored": kind, "count": summary[kind], "flagged": summary.get(f"flagged_{kind}")}
                      for kind in ("listings", "messages", "sellers", "images")]))
    if not summary["images"]:
        print("no photo checked: give --image-index (python -m bunjang_lab images index builds one)")
    return 0


def _train(argv: list[str]) -> int:
    p = parser(f"{PROG} train", "Train the text classifier and the seller anomaly model on the simulator's labels; "
                                "moves models/fraud/latest when done.")
    p.add_argument("--lake", default=None, help=f"lake folder or URL (default: {paths.lake_dir()})")
    p.add_argument("--labels", required=True, help="labels folder (or simulator output folder) with messages.csv, listings.csv")
    p.add_argument("--json", action="store_true", help="print the summary as one JSON object instead of a table")
    _window(p)
    args = p.parse_args(argv)
    from bunjang_lab.fraud.train import train_models

    try:
        meta = train_models(_lake(args.lake), _labels(args.labels), args.models, args.start, args.end)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    validation = meta["metrics"]["validation"]
    if args.json:
        print(json.dumps({"version": meta["version"], "texts": meta["texts"], "fraud_texts": meta["fraud_texts"],
                          "validation_flagged": validation["flagged"], "validation_categories": validation["categories"],
                          "sellers": meta["metrics"].get("sellers_anomaly_only"), "seconds": meta["seconds"]},
                         ensure_ascii=False))
        return 0
    from bunjang_lab.tables import text_table

    print(f"fraud models {meta['version']} (now latest): {meta['texts']:,} texts, {meta['fraud_texts']:,} of them fraud; "
          f"{meta['seconds']} s")
    print("validation, flagged and per category:")
    print(text_table([{"of": "flagged", **validation["flagged"]}]
                     + [{"of": name, **pr} for name, pr in validation["categories"].items()]))
    sellers = meta["metrics"].get("sellers_anomaly_only")
    if sellers:
        print("sellers, anomaly model alone: " + ", ".join(f"{k} {v}" for k, v in sellers.items() if not isinstance(v, dict)))
    return 0


def _evaluate(argv: list[str]) -> int:
    p = parser(f"{PROG} evaluate", "Per-rule and per-category precision/recall on labelled data, seller ROC-AUC, "
                                   "and phone/link detection on the real smishing SMS.")
    p.add_argument("--lake", default=None, help="lake folder with the labelled window")
    p.add_argument("--labels", default=None, help="labels folder (or simulator output folder)")
    p.add_argument("--smishing", default=None, help="smishing_5971.csv (real SMS with PHONE/URL/EMAIL columns)")
    p.add_argument("--spam", default=None, help="sms_spam_collection.tsv (real SMS labelled ham/spam)")
    p.add_argument("--rules-only", action="store_true", help="evaluate the rules without the trained classifier")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of tables")
    _window(p)
    args = p.parse_args(argv)
    if not (args.labels or args.smishing or args.spam):
        raise UserError("give --labels (with --lake), --smishing and/or --spam")
    from bunjang_lab.fraud import evaluate
    from bunjang_lab.fraud.text_scorer import TextScorer
    from bunjang_lab.progress import Steps

    labels = _labels(args.labels) if args.labels else None
    scorer = TextScorer.from_models(args.models, use_classifier=not args.rules_only)
    report: dict = {"model": scorer.model}
    # a bar of the data sets scored at a terminal, nothing in a log: the tables (or --json) are the output
    with Steps("fraud evaluate", total=2 * bool(labels) + bool(args.smishing) + bool(args.spam), unit="set") as done:
        if labels:
            frame = evaluate.labelled_texts(_lake(args.lake), labels, args.start, args.end)
            for kind in ("message", "listing"):
                part = frame[frame["kind"] == kind]
                answers = scorer.score_many(part["text"].tolist())
                report[f"{kind}s"] = evaluate.text_report(part, answers)
                report[f"{kind}s"]["threshold_sweep"] = evaluate.threshold_sweep(part, answers)
                done(f"{len(part):,} labelled {kind}s")
        if args.smishing:
            report["smishing"] = evaluate.smishing_report(args.smishing, scorer)
            done(f"{report['smishing']['messages']:,} smishing SMS")
        if args.spam:
            report["spam_collection"] = evaluate.spam_collection_report(args.spam, scorer)
            done(f"{report['spam_collection']['messages']:,} SMS Spam Collection messages")
    print(json.dumps(report, ensure_ascii=False) if args.json else evaluation_tables(report))
    return 0


def evaluation_tables(report: dict) -> str:
    """``fraud evaluate``'s report as a person reads it: one table per question."""
    from bunjang_lab.tables import text_table

    lines = [f"model {report['model']}"]
    for kind in ("messages", "listings"):
        part = report.get(kind)
        if not part:
            continue
        flagged, hard = part["flagged"], part["hard_negatives"]
        lines += ["", f"{kind}: {part['texts']:,} labelled texts; flagged: precision {flagged['precision']}, "
                      f"recall {flagged['recall']}; honest look-alikes flagged: {hard['flagged']} of {hard['count']}",
                  text_table([{"category": name, **pr} for name, pr in part["categories"].items()]), "",
                  text_table([{"rule": code, **row} for code, row in sorted(part["rules"].items(), key=lambda r: -r[1]["fires"])]),
                  "", f"{kind}: flagged at other risk thresholds", text_table(part["threshold_sweep"])]
    smishing = report.get("smishing")
    if smishing:
        lines += ["", f"real smishing SMS ({smishing['messages']:,} messages): detection against the data set's columns",
                  text_table([{"detector": name, **smishing[name]} for name in ("phone", "link", "email")]),
                  "rules fired most: " + ", ".join(f"{code} {n:,}" for code, n in list(smishing["rules_fired"].items())[:8])]
    spam = report.get("spam_collection")
    if spam:
        lines += ["", f"SMS Spam Collection ({spam['messages']:,} messages): share flagged, with a phone number, with a link",
                  text_table([{"label": label, **spam[label]} for label in ("ham", "spam")])]
    return "\n".join(lines)


def _retrain(argv: list[str]) -> int:
    p = parser(f"{PROG} retrain", "Retrain the text classifier and the seller model on the moderators' decisions of a "
                                  "window; promote the candidate only if the gate finds it not worse than production.")
    p.add_argument("--lake", default=None, help=f"lake folder or URL (default: {paths.lake_dir()})")
    p.add_argument("--tolerance", type=float, default=None, help="relative drop of agreement allowed (default 0.02)")
    p.add_argument("--json", action="store_true", help="print the gate's decision as one JSON object")
    _window(p)
    args = p.parse_args(argv)
    if args.start is None or args.end is None:
        raise UserError("retrain needs the window: --start and --end")
    from bunjang_lab.fraud.retrain import retrain_window
    from bunjang_lab.intervals import NOT_WORSE_TOLERANCE

    tolerance = NOT_WORSE_TOLERANCE if args.tolerance is None else args.tolerance
    decision = retrain_window(_lake(args.lake), args.start, args.end, args.models, tolerance)
    if args.json:
        print(json.dumps(decision, ensure_ascii=False))
    elif "version" not in decision:
        print(f"no retraining: {decision['reason']}")
    else:
        d = decision["difference"]
        print(f"fraud models {decision['version']} {'promoted' if decision['promoted'] else 'kept, not served'}: "
              f"{decision['reason']} (agreement with {decision['held_back']['decisions']} held-back decisions and "
              f"{decision['held_back']['texts'] - decision['held_back']['decisions']} unreported texts: candidate "
              f"{decision['candidate_score']}, production {decision['production_score']} ({decision['production']}), "
              f"difference {d['diff']:+.4f} [{d['low']:+.4f}, {d['high']:+.4f}]); {decision['seconds']} s")
        seller = decision["seller_gate"]
        if "difference" in seller:
            d = seller["difference"]
            print(f"seller model {'promoted' if seller['promoted'] else 'refused: production kept'}: {seller['reason']} "
                  f"(agreement with the decisions on {seller['held_back']['sellers']} held-back sellers: candidate "
                  f"{seller['candidate_score']}, production {seller['production_score']} ({seller['production']}), "
                  f"difference {d['diff']:+.4f} [{d['low']:+.4f}, {d['high']:+.4f}])")
        else:
            print(f"seller model {'promoted' if seller['promoted'] else 'production kept'}: {seller['reason']}")
    return 0


def _rollback(argv: list[str]) -> int:
    p = parser(f"{PROG} rollback", "Serve the previous fraud models version again (models/fraud/latest moves back).")
    p.add_argument("--models", default=None, help=f"models folder (default: {paths.models_dir()})")
    args = p.parse_args(argv)
    from bunjang_lab.fraud import store

    moved = store.rollback(args.models)
    print(f"fraud models: latest is {moved['to']} again (was {moved['from']})")
    return 0


def _shadow(argv: list[str]) -> int:
    p = parser(f"{PROG} shadow", "Rules on trial: add one (scored and recorded, flagging nothing until its precision "
                                 "on later decisions earns it), or list them with their counts.")
    p.add_argument("action", choices=("add", "list"))
    p.add_argument("code", nargs="?", help="the new rule's code (add)")
    p.add_argument("--category", help="its fraud category (add)")
    p.add_argument("--weight", type=float, default=0.8, help="its weight once live (default 0.8)")
    p.add_argument("--pattern", help="a regular expression over the normalised text (add)")
    p.add_argument("--since", default=None, help="decisions from this time on judge it (default: now)")
    p.add_argument("--models", default=None, help=f"models folder (default: {paths.models_dir()})")
    args = p.parse_args(argv)
    from bunjang_lab.fraud import shadow

    rules = shadow.load(args.models)
    if args.action == "add":
        if not (args.code and args.category and args.pattern):
            raise UserError("shadow add needs CODE, --category and --pattern")
        if any(rule.code == args.code for rule in rules):
            raise UserError(f"a shadow rule {args.code!r} exists already")
        import datetime as dt

        since = args.since or dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
        rules.append(shadow.ShadowRule(args.code, args.category, args.weight, args.pattern, since=since))
        print(f"shadow rule {args.code} added ({shadow.save(rules, args.models)}); it goes live at precision "
              f">= {shadow.MIN_PRECISION} over {shadow.MIN_FIRED} decided texts")
        return 0
    for rule in rules:
        print(json.dumps({"code": rule.code, "status": rule.status, "category": rule.category, "weight": rule.weight,
                          "pattern": rule.pattern, "since": rule.since, **(rule.tracked or {})}, ensure_ascii=False))
    return 0


def run(argv: list[str]) -> int:
    command = {"train": _train, "evaluate": _evaluate, "retrain": _retrain, "rollback": _rollback,
               "shadow": _shadow}.get(argv[0] if argv else "")
    return command(argv[1:]) if command else _scan(argv)
