"""``python -m bunjang_lab <command>``: the pipeline's batch commands."""

import sys

from bunjang_lab.cli import Command, main

COMMANDS = [
    Command("ingest", "bunjang_lab.ingest.cli", "validate JSON Lines events into the Parquet lake, quarantining bad records"),
    Command("simulate", "bunjang_lab.simulate.cli", "generate a synthetic marketplace with ground-truth labels"),
    Command("train", "bunjang_lab.evaluation.cli:train", "train the factorization-machine ranker and move models/latest"),
    Command("evaluate", "bunjang_lab.evaluation.cli:evaluate", "offline evaluation of the ranker, products and baselines"),
    Command("recommend", "bunjang_lab.products.cli", "compute home feeds, popular lists, related items and suggestions"),
    Command("fraud", "bunjang_lab.fraud.cli", "score listings, chat messages and sellers for fraud"),
    Command("images", "bunjang_lab.fraud.images.cli", "maintain the perceptual-hash index of listing images"),
    Command("publish", "bunjang_lab.serving.publish", "publish a run to the serving cache as a new version (or roll back)"),
    Command("report", "bunjang_lab.report.cli", "write the batch report (HTML with charts, JSON and CSV)"),
    Command("demo", "bunjang_lab.demo", "run the whole pipeline on the sample data (what `make demo` runs)"),
]

if __name__ == "__main__":
    sys.exit(main("python -m bunjang_lab", "Batch pipeline of bunjang_lab.", COMMANDS))
