"""The factorization-machine ranker: features, xlearn estimator, numpy scorer, baselines,
the ``train`` and ``evaluate`` commands (see docs/ranker.md)."""
