"""The model contract of the offline evaluation, the baselines and the FM behind it.

Every model is a :class:`Recommender`: ``fit(split)`` learns from ``split.train`` only and
``scores(users)`` returns one row of scores per user over ``split.candidates`` (higher is
better). ``recommend(users, k)`` is shared: it removes the split's exclusions and keeps
the ``k`` best. Models are compared through exactly the same loop (``evaluate``).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import scipy.sparse as sp

from bunjang_lab.marketplace import state
from bunjang_lab.ranking import features as F
from bunjang_lab.ranking import realtime
from bunjang_lab.ranking.factors import FMFactors
from bunjang_lab.ranking.split import Split
from bunjang_lab.ranking.training import fit_factors


class Recommender:
    """Contract: ``fit(split) -> self``; ``scores(users) -> (len(users), n_candidates)``."""

    name = "base"

    def fit(self, split: Split) -> "Recommender":
        self.split_ = split
        self.item_pos_ = {item: j for j, item in enumerate(split.candidates)}
        return self

    def scores(self, users) -> np.ndarray:
        raise NotImplementedError

    def recommend(self, users, k: int) -> list[list[str]]:
        """The ``k`` best candidates per user, exclusions removed."""
        scores = np.array(self.scores(users), dtype=float)
        for row, user in enumerate(users):
            cols = [self.item_pos_[i] for i in self.split_.exclude.get(user, ()) if i in self.item_pos_]
            scores[row, cols] = -np.inf
        top = np.argsort(-scores, axis=1, kind="stable")[:, :k]
        cands = self.split_.candidates
        return [[cands[j] for j in row if np.isfinite(scores[r, j])] for r, row in enumerate(top)]

    # helpers shared by the interaction-based models
    def _train_matrix(self):
        """(users x candidates) matrix of type-weighted train interactions, plus the user index."""
        inter = self.split_.context.interactions
        inter = inter[inter["item_id"].isin(self.item_pos_)]
        users = pd.Index(sorted(set(inter["user_id"]) | set(self.split_.users)))
        rows = users.get_indexer(inter["user_id"])
        cols = inter["item_id"].map(self.item_pos_).to_numpy()
        matrix = sp.csr_matrix((inter["weight"].to_numpy(dtype=np.float32), (rows, cols)),
                               shape=(len(users), len(self.split_.candidates)))
        return matrix, users


class RandomModel(Recommender):
    name = "random"

    def __init__(self, seed: int = 0):
        self.seed = seed

    def scores(self, users) -> np.ndarray:
        return np.random.default_rng(self.seed).random((len(users), len(self.split_.candidates)))


class Popularity(Recommender):
    """Type-weighted interaction counts over the training window."""

    name = "popularity"

    def fit(self, split):
        super().fit(split)
        matrix, _ = self._train_matrix()
        self.popularity_ = np.asarray(matrix.sum(axis=0)).ravel()
        return self

    def scores(self, users) -> np.ndarray:
        return np.broadcast_to(self.popularity_, (len(users), len(self.popularity_)))


def _segments(split: Split, users) -> np.ndarray:
    prof = split.context.users.reindex(pd.Index(users).astype(str))
    gender = prof["gender"].where(prof["gender"].isin(["M", "F"]), "unknown").to_numpy()
    bands = state.age_bands(prof["birth_year"].to_numpy(), split.cutoff.year)
    return np.char.add(np.char.add(gender.astype(str), "|"), bands.astype(str))


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

    def scores(self, users) -> np.ndarray:
        tie = self.global_ / (self.global_.max() + 1.0)
        return np.vstack([self.by_segment_.get(s, 0) + tie for s in _segments(self.split_, users)])


class FreshPreferred(Recommender):
    """Listings posted in the last ``fresh_days`` in the user's top categories, in random order."""

    name = "fresh-preferred"

    def __init__(self, fresh_days: float = 7.0, n_categories: int = 3, seed: int = 0):
        self.fresh_days, self.n_categories, self.seed = fresh_days, n_categories, seed

    def fit(self, split):
        super().fit(split)
        items = split.context.items.reindex(split.candidates)
        self.categories_ = items["category"].to_numpy()
        fresh_from = split.cutoff - pd.Timedelta(days=self.fresh_days)
        self.fresh_ = (items["listed_at"] >= fresh_from).to_numpy()
        states = F.recent_states(split.context.interactions, params=realtime.DEFAULT_PARAMS)
        self.preferred_ = {u: {k for k, _ in realtime.top_weights(c, self.n_categories)}
                           for u, c in zip(states["user_id"], states["recent_categories"])}
        return self

    def scores(self, users) -> np.ndarray:
        noise = np.random.default_rng(self.seed).random((len(users), len(self.split_.candidates)))
        match = np.vstack([np.isin(self.categories_, list(self.preferred_.get(u, ()))) for u in users])
        return noise + 2.0 * (match & self.fresh_) + 1.0 * match


class ItemKNN(Recommender):
    """Cosine similarity of items' co-occurrence in users' training interactions."""

    name = "item-knn"

    def fit(self, split):
        super().fit(split)
        matrix, users = self._train_matrix()
        binary = (matrix > 0).astype(np.float32)
        norms = np.sqrt(np.asarray(binary.sum(axis=0)).ravel()) + 1e-9
        self.similarity_ = sp.csr_matrix(binary.T @ binary).multiply(1 / norms[:, None]).multiply(1 / norms[None, :]).tocsr()
        self.similarity_.setdiag(0)
        self.user_rows_ = matrix
        self.users_ = users
        return self

    def scores(self, users) -> np.ndarray:
        rows = self.user_rows_[self.users_.get_indexer(users)]
        return np.asarray((rows @ self.similarity_).todense())


class ImplicitModel(Recommender):
    """implicit's ALS or BPR on the type-weighted interaction matrix (single thread).

    Defaults were chosen on a nested time split of the sample (the 3 days before the
    evaluation window): ALS alpha 10 / regularization 0.1 (NDCG@10 0.069 against 0.057 for
    implicit's defaults); BPR learning rate 0.05 for 200 iterations (0.101 against 0.012)."""

    DEFAULTS = {"als": {"alpha": 10.0, "regularization": 0.1, "iterations": 15},
                "bpr": {"learning_rate": 0.05, "regularization": 0.01, "iterations": 200}}

    def __init__(self, algorithm: str = "als", factors: int = 32, seed: int = 0, **options):
        self.algorithm, self.factors, self.seed, self.options = algorithm, factors, seed, options

    @property
    def name(self):
        return self.algorithm

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
        self.user_factors_, self.item_factors_ = np.asarray(model.user_factors), np.asarray(model.item_factors)
        seen = np.asarray(matrix.sum(axis=0)).ravel() > 0
        self.unseen_ = ~seen  # items without training interactions cannot be ranked by ids
        self.users_ = users
        return self

    def scores(self, users) -> np.ndarray:
        scores = self.user_factors_[self.users_.get_indexer(users)] @ self.item_factors_.T
        scores[:, self.unseen_] = -1e9
        return scores


class PretrainedFM(Recommender):
    """A trained model folder scored with the numpy scorer (the promotion gate compares these)."""

    def __init__(self, model_dir=None, name: str = "fm-pretrained"):
        self.model_dir, self.model_name = model_dir, name

    @property
    def name(self):
        return self.model_name

    def _scorer(self, split):
        return FMFactors.load(self.model_dir)

    def fit(self, split):
        super().fit(split)
        self.scorer_ = self._scorer(split)
        self.items_ = self.scorer_.item_parts(split.candidates, split.context, split.cutoff)
        return self

    def scores(self, users) -> np.ndarray:
        part = self.scorer_.user_parts(users, self.split_.context, self.split_.cutoff)
        return part.vectors @ self.items_.vectors.T + self.items_.bias[None, :] + part.bias[:, None]


class FMModel(PretrainedFM):
    """The xlearn FM trained on the split's training events (``fields`` chooses the features)."""

    def __init__(self, fields=F.FULL_FIELDS, name: str = "fm", seed: int = 0, work_dir=None, **params):
        self.fields, self.model_name, self.seed, self.work_dir, self.params = fields, name, seed, work_dir, params

    def _scorer(self, split):
        scorer, self.info_ = fit_factors(split.train, split.context, split.cutoff, fields=self.fields,
                                        work_dir=self.work_dir, seed=self.seed, **self.params)
        return scorer


def default_models(seed: int = 0, work_dir=None, **fm_params) -> list[Recommender]:
    """Every model of the issue's comparison, FM last."""
    return [RandomModel(seed), Popularity(), SegmentPopularity(), FreshPreferred(seed=seed), ItemKNN(),
            ImplicitModel("als", seed=seed), ImplicitModel("bpr", seed=seed),
            FMModel(F.ID_FIELDS, name="fm-id-only", seed=seed, work_dir=work_dir and f"{work_dir}/fm-id-only", **fm_params),
            FMModel(F.FULL_FIELDS, name="fm", seed=seed, work_dir=work_dir and f"{work_dir}/fm", **fm_params)]
