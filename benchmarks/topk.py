"""Top-K scoring speed: the numpy FM scorer against a plain matrix product and xlearn's predict.

An xlearn FM (k factors) is trained for one epoch on random one-hot (user, item) rows so its
parameters come from xlearn itself; its text export gives the user and item parts. Then,
in the same run:

* top-K: ``scoring.top_k`` for every user over every item (tiled product + partial sort,
  its default block and tile sizes);
* matmul: a plain float32 product of the same shape alone (the full users x items matrix
  does not fit in memory, so it is computed ``--block`` users at a time), the ceiling for
  any scorer;
* xlearn: ``predict`` on a random sample of the same (user, item) pairs, per pair, with
  the numpy scores of those pairs checked against xlearn's to 1e-5.

Wall and CPU seconds are both printed: on a shared machine the CPU figure is the fair one.

    .venv/bin/python benchmarks/topk.py [--users 50000] [--items 50000] [--k 16] [--top 20]
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from bunjang_lab.ranking.fm import FMRanker
from bunjang_lab.ranking.factors import Part, top_k

CACHE = Path(__file__).resolve().parent / ".cache"


def one_hot_pairs(users: np.ndarray, items: np.ndarray, n_users: int, n_features: int) -> sp.csr_matrix:
    rows = np.repeat(np.arange(len(users)), 2)
    cols = np.column_stack([users, n_users + items]).ravel()
    return sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(users), n_features))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--users", type=int, default=50_000)
    ap.add_argument("--items", type=int, default=50_000)
    ap.add_argument("--k", type=int, default=16, help="latent factors")
    ap.add_argument("--top", type=int, default=20)
    ap.add_argument("--xlearn-pairs", type=int, default=200_000)
    ap.add_argument("--block", type=int, default=1024, help="users per block of the plain matmul")
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    n_features = args.users + args.items
    CACHE.mkdir(exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="topk-", dir=CACHE))
    try:
        train_users, train_items = rng.integers(0, args.users, 100_000), rng.integers(0, args.items, 100_000)
        X = one_hot_pairs(train_users, train_items, args.users, n_features)
        X = sp.csr_matrix(X + sp.csr_matrix((np.ones(2), ([0, 0], [args.users - 1, n_features - 1])), shape=X.shape))
        model = FMRanker(k=args.k, epochs=1, work_dir=work).fit(X, rng.integers(0, 2, X.shape[0]))
        users = Part(np.arange(args.users).astype(str), model.V_[: args.users], model.w_[: args.users] + model.bias_)
        items = Part(np.arange(args.items).astype(str), model.V_[args.users:], model.w_[args.users:])
        pairs = args.users * args.items

        started, cpu = time.perf_counter(), time.process_time()
        result = top_k(users, items, args.top)
        topk_s, topk_cpu = time.perf_counter() - started, time.process_time() - cpu

        P = users.vectors.astype(np.float32)
        Q_t = np.ascontiguousarray(items.vectors.astype(np.float32).T)
        started, cpu = time.perf_counter(), time.process_time()
        for start in range(0, args.users, args.block):
            P[start:start + args.block] @ Q_t
        matmul_s, matmul_cpu = time.perf_counter() - started, time.process_time() - cpu

        sample_users, sample_items = rng.integers(0, args.users, args.xlearn_pairs), rng.integers(0, args.items, args.xlearn_pairs)
        sample = one_hot_pairs(sample_users, sample_items, args.users, n_features)
        started = time.perf_counter()
        xlearn_scores = model.xlearn_predict(sample)
        xlearn_s = time.perf_counter() - started
        numpy_scores = users.bias[sample_users] + items.bias[sample_items] + np.einsum(
            "ij,ij->i", users.vectors[sample_users], items.vectors[sample_items])
        max_diff = float(np.abs(numpy_scores - xlearn_scores).max())
        # the top-K answer itself must be exact: check a few users against a full sort
        check = rng.integers(0, args.users, 20)
        full = users.vectors[check] @ items.vectors.T + items.bias
        exact = all(result.item_ids[r].tolist() == np.argsort(-full[n])[: args.top].astype(str).tolist()
                    for n, r in enumerate(check))
    finally:
        shutil.rmtree(work, ignore_errors=True)

    figures = {
        "users": args.users, "items": args.items, "k": args.k, "top": args.top,
        "topk_s": round(topk_s, 2), "topk_items_per_s": round(pairs / topk_s),
        "matmul_s": round(matmul_s, 2), "matmul_items_per_s": round(pairs / matmul_s),
        "topk_vs_matmul": round(matmul_s / topk_s, 3),
        "topk_cpu_s": round(topk_cpu, 2), "matmul_cpu_s": round(matmul_cpu, 2), "topk_vs_matmul_cpu": round(matmul_cpu / topk_cpu, 3),
        "xlearn_pairs": args.xlearn_pairs, "xlearn_s": round(xlearn_s, 2), "xlearn_pairs_per_s": round(args.xlearn_pairs / xlearn_s),
        "topk_vs_xlearn_per_pair": round((pairs / topk_s) / (args.xlearn_pairs / xlearn_s), 1),
        "max_abs_diff_vs_xlearn": max_diff, "topk_exact_on_checked_users": exact,
    }
    print(f"top-{args.top} of {args.items:,} items for {args.users:,} users, k={args.k}")
    print(f"  numpy top-K      {topk_s:7.2f} s  {figures['topk_items_per_s']:>14,} items/s")
    print(f"  plain matmul     {matmul_s:7.2f} s  {figures['matmul_items_per_s']:>14,} items/s   (top-K reaches {figures['topk_vs_matmul']:.0%} of it)")
    print(f"  CPU seconds (all threads; the machine is shared): top-K {topk_cpu:.1f}, matmul {matmul_cpu:.1f} "
          f"(top-K reaches {figures['topk_vs_matmul_cpu']:.0%} of the matmul rate)")
    print(f"  xlearn predict   {xlearn_s:7.2f} s  {figures['xlearn_pairs_per_s']:>14,} pairs/s   ({args.xlearn_pairs:,} pairs; top-K is {figures['topk_vs_xlearn_per_pair']}x faster per pair)")
    print(f"  max |numpy - xlearn| on the sampled pairs: {max_diff:.2e}; top-K exact on checked users: {exact}")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
