"""Train and measure the n-gram second opinion (``bunjang_lab.fraud.ngram_opinion``).

    .venv/bin/python benchmarks/fraud_ngram.py --select          # threshold on the last 3 seen rounds, trained without them
    .venv/bin/python benchmarks/fraud_ngram.py --train [--threshold T] [--out PATH]
    .venv/bin/python benchmarks/fraud_ngram.py --evaluate [--model PATH] [--sms] [--hold-out-rounds N,N]

Training texts (never the held-out rounds of tests/data/fraud_fresh_ko.tsv, ``--hold-out-rounds``):

* lures: the first lure set and every round written by hand but the held-out ones, the enumerated set
  (tests/data/fraud_enumerated_ko.tsv: lures and hard negatives written from a list of the
  channels, number spellings, upfront-payment slang and phishing hosts a trader meets, not
  from any round's misses), the lure generator of
  ``benchmarks/fraud_text.py`` with other seeds, the simulator's scam sentences (not its
  fraud wave: the wave stands for a lure nothing has learned yet, see docs/fraud.md);
* honest: the 532 hand-written honest messages, the hard negatives of those rounds and of the
  enumerated set, the
  simulator's honest chat (its lines naming payment methods, messengers, banks, numbers
  and links included) and its hard negatives.

Each text is written several times with random obfuscations (the generator's own:
separators, emoji and middle dots between letters, decomposed jamo, full-width, circled,
spaced and zero-width forms; digits spelled in Korean and native numerals, circled,
keycaps, look-alike letters; spacing dropped or added; a greeting or an emoji around),
honest texts as much as lures, so that an obfuscation alone is no sign of fraud and what
the model learns is what remains once the text is normalised.

``--select`` trains without the last three rounds it may read and, on them (out of its training),
picks the lowest threshold whose false flags on their hard negatives and on the English SMS sets'
ham, with the rules, stay at the rules' own; ``--train`` then trains on every round it may read with that threshold and writes
``src/bunjang_lab/resources/fraud_ngrams.bin``. ``--evaluate`` scores every hand-written set
by the rules alone and by the rules with the opinion (paired bootstrap intervals), but the
rounds of ``--hold-out-rounds`` (default: ``fraud_text.HELD_OUT_ROUNDS``; their rows are never read), and
with ``--sms`` the English SMS sets of ../shared/datasets (flag rates of ham and spam).
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import fraud_text  # noqa: E402  (the lure generator, the hand-written sets, the intervals)

ENUMERATED = fraud_text.REPO_ROOT / "tests" / "data" / "fraud_enumerated_ko.tsv"
SELECTION_ROUNDS = 3  # the last rounds read, on which --select picks the threshold
AUGMENTED_COPIES = 6  # obfuscated copies of each hand-written text (generated texts get 2)
_GREETINGS = ("안녕하세요 ", "안녕하세요! ", "저기요 ", "혹시 ", "네 ", "아 ", "")
_CLOSERS = (" ㅎㅎ", " 감사합니다", " ^^", " !!", " 😊", " 🙏", " ~", "")


def obfuscated(text: str, rng: random.Random) -> str:
    """``text`` with random obfuscations of its words and numbers, its spacing and its ends."""
    parts = re.split(r"(\s+)", text)
    out = []
    for part in parts:
        if not part or part.isspace():
            out.append(part)
            continue
        roll = rng.random()
        if re.fullmatch(r"[\d-]{7,}", part) and roll < 0.6:
            part = fraud_text._digits(part, rng.choice(fraud_text._NUMBER_KINDS), rng)
        elif not any(c.isdigit() for c in part) and roll < 0.25:
            part = fraud_text._word(part, rng.choice(fraud_text._WORD_KINDS), rng)
        elif roll < 0.32 and len(part) > 2:  # a space inside a word
            cut = rng.randrange(1, len(part))
            part = f"{part[:cut]} {part[cut:]}"
        out.append(part)
    text = "".join(out)
    if rng.random() < 0.2:  # spacing dropped once
        text = text.replace(" ", "", 1) if rng.random() < 0.5 else re.sub(r" ", "", text, count=2)
    return rng.choice(_GREETINGS) + text + rng.choice(_CLOSERS)


def readable_rounds(sets: dict) -> list[str]:
    """The hand-written rounds of ``sets`` (``fraud_text.labelled_sets``' answer), oldest first."""
    return sorted((name.removeprefix("fresh_round_") for name in sets if name.startswith("fresh_round_")), key=int)


def _fresh(rounds_kept) -> tuple[list[dict], list[dict]]:
    sets = fraud_text.labelled_sets(frozenset())
    honest, lures = list(sets["first"][0]), list(sets["first"][1])
    for name, (h, l) in sets.items():
        if name.startswith("fresh_round_") and name.removeprefix("fresh_round_") in rounds_kept:
            honest += h
            lures += l
    return honest, lures


def training_texts(rounds_kept: set[str], seed: int = 0) -> tuple[list[str], list[str], list[float]]:
    """(texts, labels, sample weights): hand-written and generated texts, each with obfuscated copies."""
    from bunjang_lab.simulate import texts as sim

    rng = random.Random(seed)
    honest, lures = _fresh(rounds_kept)
    enumerated = fraud_text.read_tsv(ENUMERATED)
    honest += [r for r in enumerated if r["label"] == "honest"]
    lures += [r for r in enumerated if r["label"] == "lure"]
    written = [(r["text"], "honest") for r in honest] + [(r["text"], r["category"]) for r in lures]
    generated = [(text, category) for s in (101, 202, 303) for category, _, text in fraud_text.lure_benchmark(s, 60)]
    for category in ("external_channel", "phishing_link", "account_transfer"):
        generated += [(sim.scam(rng, category)[0], category) for _ in range(150)]
    generated += [(sim.chat(rng, rng.random() < 0.5, rng.randint(5, 300) * 1000), "honest") for _ in range(2500)]
    generated += [(sim.fill(rng, rng.choice(sim.HARD_NEGATIVE_CHAT + sim.HARD_NEGATIVE_LISTING)), "honest")
                  for _ in range(400)]
    texts, labels, weights = [], [], []
    for pool, copies, weight in ((written, AUGMENTED_COPIES, 1.0), (generated, 2, 0.5)):
        for text, label in pool:
            variants = [text] + [obfuscated(text, rng) for _ in range(copies)]
            texts += variants
            labels += [label] * len(variants)
            weights += [weight] * len(variants)
    return texts, labels, weights


def build(rounds_kept: set[str], threshold: float, c: float = 4.0):
    from bunjang_lab.fraud import ngram_train

    texts, labels, weights = training_texts(rounds_kept)
    return ngram_train.export(ngram_train.fit(texts, labels, weights, c), threshold), len(texts)


def answers(texts: list[str], opinion) -> list[dict]:
    """Per text, as ``fraud_text.score_sets`` answers: flagged, categories and codes, by the
    rules with the opinion (``opinion`` None: the rules alone)."""
    from bunjang_lab.fraud.normalise import normalise
    from bunjang_lab.fraud.risk import flagged, rules_risk
    from bunjang_lab.fraud.rules import MAX_CHARS, reasons

    out = []
    for text in texts:
        found = reasons(text)
        if opinion is not None:
            found = opinion.judged(found, text[:MAX_CHARS], normalise(text[:MAX_CHARS]))
        out.append({"flagged": flagged(rules_risk(found)), "categories": sorted({r["category"] for r in found}),
                    "codes": sorted({r["code"] for r in found})})
    return out


def select(c: float, held_out=fraud_text.HELD_OUT_ROUNDS, thresholds=(0.5, 0.6, 0.7, 0.8, 0.9, 0.95)) -> dict:
    """Train without the last :data:`SELECTION_ROUNDS` readable rounds; per threshold, their
    recall and false flags with the rules, and the threshold the rule picks."""
    sets = fraud_text.labelled_sets(held_out)
    readable = readable_rounds(sets)
    chosen_on = readable[-SELECTION_ROUNDS:]
    opinion, size = build(set(readable) - set(chosen_on), 1.0, c)
    honest = [row for r in chosen_on for row in sets[f"fresh_round_{r}"][0]]
    lures = [row for r in chosen_on for row in sets[f"fresh_round_{r}"][1]]
    texts = [r["text"] for r in honest + lures]
    rules_only = fraud_text._set_report(honest, lures, answers(texts, None))[0]
    ham = _sms_texts("ham")  # real honest messages too (English)
    rules_ham = sum(a["flagged"] for a in answers(ham, None))
    out = {"training_texts": size, "chosen_on_rounds": chosen_on,
           "rules_only": {k: rules_only[k] for k in ("recall", "false_flag_rate")}, "rules_only_sms_ham_flagged": rules_ham,
           "by_threshold": {}}
    probabilities = _opinion_alone(opinion, texts)
    for threshold in thresholds:
        opinion.threshold = threshold
        part = fraud_text._set_report(honest, lures, answers(texts, opinion))[0]
        alone_caught = [float(p >= threshold and c == r["category"]) for (c, p), r in zip(probabilities[len(honest):], lures)]
        alone_flags = [float(p >= threshold) for _, p in probabilities[:len(honest)]]
        out["by_threshold"][threshold] = {"recall": part["recall"], "false_flag_rate": part["false_flag_rate"],
                                          "sms_ham_flagged": sum(a["flagged"] for a in answers(ham, opinion)),
                                          "categories": {c: v["recall"] for c, v in part["categories"].items()},
                                          "flagged_honest": part["flagged_honest"],
                                          "opinion_alone": {"recall": round(sum(alone_caught) / len(lures), 4),
                                                            "recall_95": fraud_text._interval(alone_caught),
                                                            "false_flag_rate": round(sum(alone_flags) / len(honest), 4)}}
    # the lowest threshold adding no false flag to the rules' own, on those rounds nor on the SMS sets' ham
    out["threshold"] = min((t for t, v in out["by_threshold"].items() if v["false_flag_rate"] <= rules_only["false_flag_rate"]
                            and v["sms_ham_flagged"] <= rules_ham), default=max(thresholds))
    return out


def _opinion_alone(opinion, texts: list[str]) -> list[tuple[str, float]]:
    """(its likeliest fraud category, that category's probability) per text."""
    from bunjang_lab.fraud.normalise import normalise

    out = []
    for text in texts:
        probabilities = opinion.probabilities(normalise(text).text)
        category = max((c for c in probabilities if c != "honest"), key=probabilities.get)
        out.append((category, probabilities[category]))
    return out


def evaluate(model_path: Path, held_out=fraud_text.HELD_OUT_ROUNDS) -> dict:
    """Every hand-written set but the rounds in ``held_out`` by the rules alone and with the opinion, paired."""
    from bunjang_lab.fraud.ngram_opinion import NgramOpinion
    from bunjang_lab.intervals import paired_bootstrap

    opinion = NgramOpinion.load(model_path)
    report = {}
    for name, (honest, lures) in fraud_text.labelled_sets(held_out).items():
        texts = [r["text"] for r in honest + lures]
        alone, alone_caught, alone_flags = fraud_text._set_report(honest, lures, answers(texts, None))
        both, caught, flags = fraud_text._set_report(honest, lures, answers(texts, opinion))
        report[name] = {
            "rules": {"recall": alone["recall"], "recall_95": alone["recall_95"], "false_flag_rate": alone["false_flag_rate"],
                      "false_flag_rate_95": alone["false_flag_rate_95"],
                      "categories": {c: [v["recall"], v["recall_95"]] for c, v in alone["categories"].items()}},
            "rules+opinion": {"recall": both["recall"], "recall_95": both["recall_95"],
                              "false_flag_rate": both["false_flag_rate"], "false_flag_rate_95": both["false_flag_rate_95"],
                              "categories": {c: [v["recall"], v["recall_95"]] for c, v in both["categories"].items()},
                              "missed_lures": both["missed_lures"], "flagged_honest": both["flagged_honest"]},
            "recall_difference": {k: round(v, 4) for k, v in paired_bootstrap(caught, alone_caught).items()},
            "false_flag_difference": {k: round(v, 4) for k, v in paired_bootstrap(flags, alone_flags).items()},
        }
    return report


def _sms_sets() -> dict[str, list[tuple[str, str]]]:
    """(label, text) of each English SMS set of ../shared/datasets."""
    import csv

    with open(fraud_text.SPAM, encoding="utf-8", errors="replace") as f:
        spam = [(row["Label"].strip().lower(), row["SMS"]) for row in csv.DictReader(f, delimiter="\t")]
    with open(fraud_text.SMISHING, encoding="utf-8", errors="replace") as f:
        smishing = [(row["LABEL"].strip().lower() if "LABEL" in row else row["label"].strip().lower(), row["TEXT"])
                    for row in csv.DictReader(f)]
    return {"sms_spam_collection": spam, "smishing_5971": smishing}


def _sms_texts(label: str) -> list[str]:
    """Every SMS of ``label`` in both sets."""
    return [text for rows in _sms_sets().values() for lab, text in rows if lab == label]


def sms(model_path: Path) -> dict:
    """Flag rates on the English SMS sets, rules alone and with the opinion (paired)."""
    from bunjang_lab.fraud.ngram_opinion import NgramOpinion
    from bunjang_lab.intervals import paired_bootstrap

    opinion = NgramOpinion.load(model_path)
    out = {}
    for name, rows in _sms_sets().items():
        for label in sorted({label for label, _ in rows}):
            texts = [text for lab, text in rows if lab == label]
            alone = [float(a["flagged"]) for a in answers(texts, None)]
            both = [float(a["flagged"]) for a in answers(texts, opinion)]
            out[f"{name}:{label}"] = {"messages": len(texts), "rules": round(sum(alone) / len(texts), 4),
                                      "rules_95": fraud_text._interval(alone),
                                      "rules+opinion": round(sum(both) / len(texts), 4),
                                      "rules+opinion_95": fraud_text._interval(both),
                                      "difference": {k: round(v, 4) for k, v in paired_bootstrap(both, alone).items()}}
    return out


def main() -> int:
    from bunjang_lab.fraud.ngram_opinion import DEFAULT_PATH

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--select", action="store_true", help="pick the threshold on the last 3 rounds read, trained without them")
    p.add_argument("--train", action="store_true", help="train on every set but the held-out rounds and write the model")
    p.add_argument("--threshold", type=float, default=0.9)  # chosen by --select's rule (docs/fraud.md)
    p.add_argument("--c", type=float, default=4.0, help="inverse regularisation of the logistic regression")
    p.add_argument("--out", "--model", dest="model", type=Path, default=DEFAULT_PATH)
    p.add_argument("--evaluate", action="store_true", help="rules alone and with the opinion on every hand-written set")
    p.add_argument("--hold-out-rounds", type=fraud_text.held_out_rounds, default=fraud_text.HELD_OUT_ROUNDS,
                   metavar="N,N", help="rounds left out entirely, of training and evaluation (default: fraud_text.HELD_OUT_ROUNDS)")
    p.add_argument("--sms", action="store_true", help="with --evaluate: the English SMS sets too")
    args = p.parse_args()
    report: dict = {}
    if args.select:
        report["select"] = select(args.c, args.hold_out_rounds)
    if args.train:
        from bunjang_lab.fraud.ngram_train import save

        opinion, size = build(set(readable_rounds(fraud_text.labelled_sets(args.hold_out_rounds))), args.threshold, args.c)
        save(opinion, args.model)
        report["train"] = {"texts": size, "threshold": args.threshold, "c": args.c, "written": str(args.model)}
    if args.evaluate:
        report["evaluate"] = evaluate(args.model, args.hold_out_rounds)
        if args.sms:
            report["sms"] = sms(args.model)
    print(json.dumps(report, ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
