"""The model contract of the offline evaluation, the baselines and the FM behind it.

Every model is a :class:`Recommender`: ``fit(split)`` learns from ``split.train`` only and
``scores(requests)`` returns one row of scores per request over ``split.candidates``
(higher is better). A request is a user at a time; what the user did before that time
(``split.history``) is context the model may read when scoring, never learn from.
``recommend(requests, k)`` is shared: it removes what the split does not allow and keeps
the ``k`` best. Models are compared through exactly the same loop (``evaluate``).
"""

from __future__ import annotations

import copy
import warnings

import numpy as np
import pandas as pd
import scipy.sparse as sp

from bunjang_lab.marketplace import state
from bunjang_lab.ranking import features as F
from bunjang_lab.ranking import realtime
from bunjang_lab.ranking.factors import FMFactors, Part
from bunjang_lab.ranking.split import Split
from bunjang_lab.ranking.training import DEFAULT_PARAMS, fit_factors


class Recommender:
    """Contract: ``fit(split) -> self``; ``scores(requests) -> (len(requests), n_candidates)``."""

    name = "base"

    def fit(self, split: Split) -> "Recommender":
        self.split_ = split
        self.columns_ = pd.Index(split.candidates)
        return self

    def scores(self, requests: pd.DataFrame) -> np.ndarray:
        raise NotImplementedError

    def get_param(self, name: str):
        return getattr(self, name)

    def with_params(self, **params) -> "Recommender":
        """An unfitted copy with these settings (what hyperparameter search tries)."""
        clone = copy.copy(self)
        for attr in [a for a in vars(clone) if a.endswith("_")]:
            delattr(clone, attr)
        for name, value in params.items():
            setattr(clone, name, value)
        return clone

    def recommend(self, requests: pd.DataFrame, k: int) -> list[list[str]]:
        """The ``k`` best allowed candidates per request."""
        scores = np.array(self.scores(requests), dtype=float)
        scores[~self.split_.allowed(requests)] = -np.inf
        top = np.argsort(-scores, axis=1, kind="stable")[:, :k]
        cands = self.split_.candidates
        return [[cands[j] for j in row if np.isfinite(scores[r, j])] for r, row in enumerate(top)]

    # helpers shared by the interaction-based models
    def _train_matrix(self, columns: pd.Index | None = None, since=None):
        """(users x columns) matrix of type-weighted training interactions (columns default to
        the candidates; ``since`` keeps the recent ones only), plus the user index."""
        columns = self.columns_ if columns is None else columns
        inter = self.split_.context.interactions
        if since is not None:
            inter = inter[inter["ts"] >= since]
        inter = inter[inter["item_id"].isin(columns)]
        users = pd.Index(sorted(set(inter["user_id"])))
        matrix = sp.csr_matrix((inter["weight"].to_numpy(dtype=np.float32),
                                (users.get_indexer(inter["user_id"]), columns.get_indexer(inter["item_id"]))),
                               shape=(len(users), len(columns)))
        return matrix, users

    def _history_matrix(self, requests: pd.DataFrame, columns: pd.Index | None = None) -> sp.csr_matrix:
        """(requests x columns) matrix of the type-weighted interactions before each request."""
        columns = self.columns_ if columns is None else columns
        history = self.split_.history(requests)
        cols = columns.get_indexer(history["item_id"])
        known = cols >= 0
        return sp.csr_matrix((history["weight"].to_numpy(dtype=np.float32)[known],
                              (history["request"].to_numpy()[known], cols[known])), shape=(len(requests), len(columns)))


class RandomModel(Recommender):
    name = "random"

    def __init__(self, seed: int = 0):
        self.seed = seed

    def scores(self, requests) -> np.ndarray:
        return np.random.default_rng(self.seed).random((len(requests), len(self.split_.candidates)))


class Popularity(Recommender):
    """Type-weighted interaction counts over the last ``days`` before the cutoff (all when None)."""

    name = "popularity"
    search_space = {"days": [1.0, 3.0, 7.0, 30.0, None]}

    def __init__(self, days: float | None = None):
        self.days = days

    def fit(self, split):
        super().fit(split)
        since = None if self.days is None else split.cutoff - pd.Timedelta(days=self.days)
        matrix, _ = self._train_matrix(since=since)
        self.popularity_ = np.asarray(matrix.sum(axis=0)).ravel()
        return self

    def scores(self, requests) -> np.ndarray:
        return np.broadcast_to(self.popularity_, (len(requests), len(self.popularity_)))


def _segments(split: Split, users) -> np.ndarray:
    prof = split.context.users.reindex(pd.Index(users).astype(str))
    bands = state.age_bands(prof["birth_year"].to_numpy(), split.cutoff.year)
    return np.char.add(np.char.add(state.genders(prof["gender"]).astype(str), "|"), bands.astype(str))


class SegmentPopularity(Recommender):
    """Popularity within the user's gender × age band; global popularity breaks ties."""

    name = "popularity-segment"

    def fit(self, split):
        super().fit(split)
        matrix, users = self._train_matrix()
        segs = _segments(split, users)
        self.global_ = np.asarray(matrix.sum(axis=0)).ravel()
        self.by_segment_ = {s: np.asarray(matrix[segs == s].sum(axis=0)).ravel() for s in np.unique(segs)}
        return self

    def scores(self, requests) -> np.ndarray:
        tie = self.global_ / (self.global_.max(initial=0.0) + 1.0)
        return np.vstack([self.by_segment_.get(s, 0) + tie for s in _segments(self.split_, requests["user_id"])])


class RecentlyViewed(Recommender):
    """What the user interacted with before, most recent first; popularity breaks ties."""

    name = "recently-viewed"

    def fit(self, split):
        super().fit(split)
        matrix, _ = self._train_matrix()
        popularity = np.asarray(matrix.sum(axis=0)).ravel()
        self.tie_ = popularity / (popularity.max(initial=0.0) + 1.0)
        return self

    def scores(self, requests) -> np.ndarray:
        history = self.split_.history(requests)
        cols = self.columns_.get_indexer(history["item_id"])
        known = cols >= 0
        out = np.tile(self.tie_, (len(requests), 1))
        # later interactions overwrite earlier ones: each item keeps the time of its last one
        recency = F.epoch_seconds(history["ts"])[known]
        out[history["request"].to_numpy()[known], cols[known]] = 1.0 + (recency - recency.min(initial=0.0)) / 1e9
        return out


class FreshPreferred(Recommender):
    """Listings posted in the last ``fresh_days`` in the user's top categories, in random order."""

    name = "fresh-preferred"

    def __init__(self, fresh_days: float = 7.0, n_categories: int = 3, seed: int = 0):
        self.fresh_days, self.n_categories, self.seed = fresh_days, n_categories, seed

    def fit(self, split):
        super().fit(split)
        items = split.context.items.reindex(split.candidates)
        self.categories_ = items["category"].to_numpy()
        self.listed_ = F.epoch_seconds(items["listed_at"].fillna(pd.Timestamp(0, tz="UTC")))
        return self

    def scores(self, requests) -> np.ndarray:
        inter = self.split_.timeline()[0]
        categories, _ = F.recent_snapshots(inter, requests.rename(columns={"at": "ts"}), realtime.DEFAULT_PARAMS)
        fresh_from = F.epoch_seconds(requests["at"]) - self.fresh_days * 86400
        noise = np.random.default_rng(self.seed).random((len(requests), len(self.split_.candidates)))
        match = np.vstack([np.isin(self.categories_, [c for c, _ in top[: self.n_categories]]) for top in categories])
        fresh = self.listed_[None, :] >= fresh_from[:, None]
        return noise + 2.0 * (match & fresh) + 1.0 * match


class ItemKNN(Recommender):
    """Cosine similarity of items' co-occurrence in users' training interactions, summed over
    the request's history; each item keeps its ``neighbours`` most similar items."""

    name = "item-knn"
    search_space = {"neighbours": [20, 50, 100, 200, None]}

    def __init__(self, neighbours: int | None = 100):
        self.neighbours = neighbours

    def fit(self, split):
        super().fit(split)
        trained = pd.Index(sorted(split.context.interactions["item_id"].unique()))
        matrix, _ = self._train_matrix(trained)
        binary = (matrix > 0).astype(np.float32)
        norms = np.sqrt(np.asarray(binary.sum(axis=0)).ravel()) + 1e-9
        similarity = sp.csr_matrix(binary.T @ binary).multiply(1 / norms[:, None]).multiply(1 / norms[None, :]).tocsr()
        similarity.setdiag(0)
        similarity.eliminate_zeros()
        if self.neighbours:
            similarity = _keep_top(similarity, self.neighbours)
        to_candidates = sp.csr_matrix((np.ones(len(split.candidates), dtype=np.float32),
                                       (np.maximum(trained.get_indexer(split.candidates), 0), np.arange(len(split.candidates)))),
                                      shape=(len(trained), len(split.candidates)))
        to_candidates = to_candidates.multiply((trained.get_indexer(split.candidates) >= 0)[None, :]).tocsc()
        self.trained_ = trained
        self.similarity_ = (similarity @ to_candidates).tocsr()  # (trained items x candidates)
        return self

    def scores(self, requests) -> np.ndarray:
        return (self._history_matrix(requests, self.trained_) @ self.similarity_).toarray()


def _keep_top(matrix: sp.csr_matrix, k: int) -> sp.csr_matrix:
    """Each row's ``k`` largest entries."""
    matrix = matrix.tocsr()
    rows, cols, vals = [], [], []
    for r in range(matrix.shape[0]):
        start, end = matrix.indptr[r], matrix.indptr[r + 1]
        if end - start > k:
            keep = start + np.argpartition(-matrix.data[start:end], k - 1)[:k]
        else:
            keep = np.arange(start, end)
        rows.append(np.full(len(keep), r))
        cols.append(matrix.indices[keep])
        vals.append(matrix.data[keep])
    if not rows:
        return matrix
    return sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=matrix.shape)


class ImplicitModel(Recommender):
    """implicit's ALS or BPR on the type-weighted interaction matrix (single thread).

    A request's user vector is ALS's least-squares fit to its whole history (implicit's
    ``recalculate_user``), so events after the cutoff count; BPR, which has no such step,
    uses the trained user vector and the mean of the history's item vectors for new users."""

    DEFAULTS = {"als": {"alpha": 10.0, "regularization": 0.1, "iterations": 15},
                "bpr": {"learning_rate": 0.05, "regularization": 0.01, "iterations": 200}}
    SEARCH = {"als": {"factors": [16, 32, 64], "alpha": [1.0, 10.0, 40.0], "regularization": [0.01, 0.1, 1.0]},
              "bpr": {"factors": [16, 32, 64], "learning_rate": [0.01, 0.05, 0.1], "regularization": [0.001, 0.01, 0.1]}}

    def __init__(self, algorithm: str = "als", factors: int = 32, seed: int = 0, **options):
        self.algorithm, self.factors, self.seed, self.options = algorithm, factors, seed, options

    @property
    def name(self):
        return self.algorithm

    @property
    def search_space(self):
        return self.SEARCH[self.algorithm]

    def get_param(self, name: str):
        return self.factors if name == "factors" else {**self.DEFAULTS[self.algorithm], **self.options}.get(name)

    def with_params(self, **params) -> "ImplicitModel":
        factors = params.pop("factors", self.factors)
        return ImplicitModel(self.algorithm, factors, self.seed, **{**self.options, **params})

    def fit(self, split):
        from implicit.cpu.als import AlternatingLeastSquares
        from implicit.cpu.bpr import BayesianPersonalizedRanking
        from threadpoolctl import threadpool_limits

        super().fit(split)
        matrix, users = self._train_matrix()
        cls = AlternatingLeastSquares if self.algorithm == "als" else BayesianPersonalizedRanking
        options = {**self.DEFAULTS[self.algorithm], **self.options}
        with threadpool_limits(1, "blas"), warnings.catch_warnings():  # implicit is slow with a threaded BLAS
            warnings.simplefilter("ignore", RuntimeWarning)  # its BLAS check ignores threadpool_limits
            model = cls(factors=self.factors, num_threads=1, random_state=self.seed, **options)
            model.fit(matrix.tocsr(), show_progress=False)
        self.model_ = model
        self.user_factors_, self.item_factors_ = np.asarray(model.user_factors), np.asarray(model.item_factors)
        self.unseen_ = ~(np.asarray(matrix.sum(axis=0)).ravel() > 0)  # items without interactions have no vector
        self.users_ = users
        return self

    def _request_vectors(self, requests) -> np.ndarray:
        history = self._history_matrix(requests)
        if self.algorithm == "als":
            from threadpoolctl import threadpool_limits

            with threadpool_limits(1, "blas"):
                return np.asarray(self.model_.recalculate_user(np.arange(len(requests)), history))
        vectors = np.zeros((len(requests), self.item_factors_.shape[1]))
        rows = self.users_.get_indexer(requests["user_id"])
        vectors[rows >= 0] = self.user_factors_[rows[rows >= 0]]
        counts = np.asarray(history.sum(axis=1)).ravel()
        new = (rows < 0) & (counts > 0)
        vectors[new] = np.asarray(history[new] @ self.item_factors_) / counts[new, None]
        return vectors

    def scores(self, requests) -> np.ndarray:
        scores = self._request_vectors(requests) @ self.item_factors_.T
        scores[:, self.unseen_] = -1e9
        return scores


class PretrainedFM(Recommender):
    """A trained model folder scored with numpy (the promotion gate compares these).

    Recent categories and items are read from everything the user did before each request;
    item parts (whose freshness depends on the time) are computed once per hour of requests."""

    def __init__(self, model_dir=None, name: str = "fm-pretrained"):
        self.model_dir, self.model_name = model_dir, name

    @property
    def name(self):
        return self.model_name

    def _factors(self, split):
        return FMFactors.load(self.model_dir)

    def fit(self, split):
        super().fit(split)
        self.factors_ = self._factors(split)
        inter = split.timeline()[0]
        self.context_ = F.Context(split.context.items, split.context.users, inter)
        self.item_parts_: dict = {}
        return self

    def _items_at(self, hour: pd.Timestamp):
        if hour not in self.item_parts_:
            self.item_parts_[hour] = self.factors_.item_parts(self.split_.candidates, self.context_, hour)
        return self.item_parts_[hour]

    def hourly_items(self, requests):
        """(rows of ``requests``, the candidates' item part) for each hour the requests fall in."""
        hours = pd.to_datetime(requests["at"], utc=True).dt.floor("h")
        for hour, rows in requests.groupby(hours.to_numpy()).indices.items():
            yield rows, self._items_at(max(pd.Timestamp(hour), self.split_.cutoff))

    def scores(self, requests) -> np.ndarray:
        users = self.factors_.user_parts(requests["user_id"], self.context_, requests["at"])
        out = np.empty((len(requests), len(self.split_.candidates)))
        for rows, items in self.hourly_items(requests):
            out[rows] = user_item_scores(users, rows, items)
        return out


def user_item_scores(users: Part, rows: np.ndarray, items: Part) -> np.ndarray:
    """The FM's score of each of ``users``' ``rows`` against every item of ``items``."""
    return users.vectors[rows] @ items.vectors.T + items.bias[None, :] + users.bias[rows, None]


class FMModel(PretrainedFM):
    """The xlearn FM trained on the split's training events (``fields`` chooses the features)."""

    search_space = {"k": [8, 16, 32], "lr": [0.02, 0.05, 0.1], "reg_lambda": [1e-5, 1e-4, 1e-3]}

    def __init__(self, fields=F.FULL_FIELDS, name: str = "fm", seed: int = 0, work_dir=None, **params):
        self.fields, self.model_name, self.seed, self.work_dir, self.params = fields, name, seed, work_dir, params

    def get_param(self, name: str):
        return {**DEFAULT_PARAMS, **self.params}.get(name)

    def with_params(self, **params) -> "FMModel":
        return FMModel(self.fields, self.model_name, self.seed, self.work_dir, **{**self.params, **params})

    def _factors(self, split):
        # Fitted once per split and setting: the hybrid's "fm" signal is this model's default.
        setting = ("fm-factors", tuple(self.fields), tuple(sorted({**DEFAULT_PARAMS, **self.params}.items())), self.seed,
                   self.work_dir and str(self.work_dir))
        factors, self.info_ = split.memo(setting, lambda: fit_factors(split.train, split.context, split.cutoff, fields=self.fields,
                                                                      work_dir=self.work_dir, seed=self.seed, **self.params))
        return factors
