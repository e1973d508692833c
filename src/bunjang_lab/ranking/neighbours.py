"""Session- and item-neighbourhood and graph models: the field's strong simple baselines.

Simple neighbourhood models match or beat neural session recommenders on click logs
(Ludewig & Jannach 2018, "Evaluation of session-based recommendation algorithms"; Ludewig
et al. 2021), and linear item-item models are hard to beat on user-item data (Steck 2019;
Dacrema et al. 2019). Every model here is a :class:`~bunjang_lab.ranking.baselines.Recommender`
that learns from ``split.context.interactions`` (the training events) and reads each
request's history through ``split.history`` only:

* :class:`SessionKNN` (``sknn``) and :class:`VSKNN` (``v-sknn``): the request's current
  session against the most similar *training sessions*;
* :class:`SequentialRules` (``sequential-rules``): what followed the session's last item;
* :class:`EASE` (``ease``): Steck's closed-form item-item regression;
* :class:`RP3beta` (``rp3beta``): Paudel et al.'s three-step random walk with popular items
  discounted.

A *session* is a user's run of interactions without a gap longer than ``session_gap_minutes``
(30, the usual web-analytics rule; ``None``: all of a user's interactions are one session).
Click logs converted with one "user" per session keep their sessions (a gap of more than 30
minutes inside one would split it: set the gap to None there to keep them whole).

Scores are finite: items a model has nothing to say about get a popularity tie-breaker
below every item it does score (EASE: 0, see its docstring). Everything is vectorised with
scipy sparse matrices: a block of requests is a few sparse products, never a loop over
candidates.

>>> import pandas as pd
>>> clicks = [("s1", "a"), ("s1", "b"), ("s2", "a"), ("s2", "b"), ("s3", "c"), ("s3", "d"), ("u", "a")]
>>> events = pd.DataFrame([dict(type="click", user_id=u, item_id=i, category=None,
...                             ts=pd.Timestamp("2026-01-01", tz="UTC") + pd.Timedelta(minutes=n))
...                        for n, (u, i) in enumerate(clicks)] +
...                       [dict(type="click", user_id="u", item_id="b", category=None, ts=pd.Timestamp("2026-01-02", tz="UTC"))])
>>> from bunjang_lab.ranking.split import next_item
>>> split = next_item(events, test_days=1, cutoff="2026-01-01 12:00", candidates="catalogue")
>>> split.candidates.tolist(), split.history(split.requests)["item_id"].tolist()
(['a', 'b', 'c', 'd'], ['a'])
>>> model = SequentialRules().fit(split)  # "a" was followed by "b" twice
>>> split.candidates[model.scores(split.requests).argmax(axis=1)].tolist()
['b']
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.linalg
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

from bunjang_lab.ranking import features as F
from bunjang_lab.ranking.baselines import Recommender
from bunjang_lab.ranking.split import Split

SESSION_GAP_MINUTES = 30.0
_MAX_STEP = 1000  # positions further back than this count as this far (2**-1000 is still a normal float)


# ---------------------------------------------------------------- sessions

def session_numbers(owners: np.ndarray, ms: np.ndarray, gap_minutes: float | None) -> np.ndarray:
    """0-based session number of each row of rows sorted by owner (user or request) and time:
    a session starts at a new owner or after a gap longer than ``gap_minutes`` (None: never).

    >>> session_numbers(np.array([0, 0, 0, 1]), np.array([0, 60_000, 3_600_000, 3_600_001]), 30).tolist()
    [0, 0, 1, 2]
    """
    owners = np.asarray(owners)
    new = np.ones(len(owners), dtype=bool)
    new[1:] = owners[1:] != owners[:-1]
    if gap_minutes is not None and len(owners) > 1:
        new[1:] |= np.diff(np.asarray(ms, dtype=np.int64)) > gap_minutes * 60_000
    return np.cumsum(new) - 1


def _training_sessions(inter: pd.DataFrame, items: pd.Index, gap_minutes: float | None):
    """(sessions x items binary csr, each session's user code, the users), sessions numbered
    from the oldest to the most recent (by their last event)."""
    users, user_codes = _factorize(inter["user_id"])
    ms = F.epoch_ms(inter["ts"])
    number = session_numbers(user_codes, ms, gap_minutes)
    n = int(number[-1]) + 1 if len(number) else 0
    last = np.ones(len(number), dtype=bool)
    last[:-1] = number[1:] != number[:-1]
    order = np.argsort(ms[last], kind="stable")  # oldest last event first
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n)
    number = rank[number]
    matrix = _binary(number, items.get_indexer(inter["item_id"]), (n, len(items)))
    return matrix, user_codes[last][order], users


def _factorize(values: pd.Series) -> tuple[pd.Index, np.ndarray]:
    codes, uniques = pd.factorize(values.astype(str), sort=False)
    return pd.Index(uniques), codes.astype(np.int64)


def _binary(rows: np.ndarray, cols: np.ndarray, shape) -> sp.csr_matrix:
    known = cols >= 0
    matrix = sp.csr_matrix((np.ones(int(known.sum())), (rows[known], cols[known])), shape=shape)
    matrix.sum_duplicates()
    matrix.data[:] = 1.0
    return matrix


def _to_candidates(items: pd.Index, candidates: np.ndarray) -> sp.csr_matrix:
    """(items x candidates) selection matrix: 1 where the candidate is that item."""
    rows = items.get_indexer(candidates)
    known = rows >= 0
    return sp.csr_matrix((np.ones(int(known.sum())), (rows[known], np.flatnonzero(known))),
                         shape=(len(items), len(candidates)))


def _top_per_row(matrix: sp.spmatrix, k: int | None, prefer_later_columns: bool = False) -> sp.csr_matrix:
    """Each row's ``k`` largest entries (all when None); ties go to the lower column, or to
    the higher one with ``prefer_later_columns`` (the more recent session)."""
    m = sp.csr_matrix(matrix)
    m.eliminate_zeros()
    if k is None:
        return m
    rows = np.repeat(np.arange(m.shape[0]), np.diff(m.indptr))
    order = np.lexsort((-m.indices if prefer_later_columns else m.indices, -m.data, rows))
    rank = np.arange(len(order)) - m.indptr[rows[order]]
    keep = order[rank < k]
    return sp.csr_matrix((m.data[keep], (rows[keep], m.indices[keep])), shape=m.shape)


def _tie_breaker(model: Recommender) -> np.ndarray:
    """Per candidate, its training popularity scaled into [0, 1)."""
    matrix, _ = model._train_matrix()
    popularity = np.asarray(matrix.sum(axis=0)).ravel()
    return popularity / (popularity.max(initial=0.0) + 1.0)


def _with_ties(scores: np.ndarray, tie: np.ndarray) -> np.ndarray:
    """Positive scores become ``1 + score / row max`` (order kept, in (1, 2]); the others the
    popularity tie-breaker in [0, 1): every scored item ranks above every unscored one."""
    top = scores.max(axis=1, initial=0.0)[:, None]
    return np.where(scores > 0, 1.0 + scores / np.where(top > 0, top, 1.0), tie[None, :])


def current_sessions(split: Split, requests: pd.DataFrame, gap_minutes: float | None) -> pd.DataFrame:
    """Each request's current session: its history since the last gap longer than
    ``gap_minutes`` (all of it when None), with ``position`` (1 = oldest) and ``length``."""
    history = split.history(requests)
    if gap_minutes is not None and len(history):
        request = history["request"].to_numpy()
        number = session_numbers(request, F.epoch_ms(history["ts"]), gap_minutes)
        latest = np.zeros(len(requests), dtype=np.int64)
        np.maximum.at(latest, request, number)
        history = history[number == latest[request]].reset_index(drop=True)
    request = history["request"].to_numpy()
    length = np.bincount(request, minlength=len(requests))
    starts = np.cumsum(length) - length
    history["position"] = np.arange(len(history)) - starts[request] + 1
    history["length"] = length[request]
    return history


# ---------------------------------------------------------------- session neighbours

_POSITION_WEIGHTS = {  # weight of the item at position i (1 = oldest) of a session of length n
    "linear": lambda i, n: np.maximum(1.0 - 0.1 * (n - i), 0.0),
    "same": lambda i, n: np.ones_like(i, dtype=float),
    "div": lambda i, n: i / n,
    "log": lambda i, n: 1.0 / np.log10(n - i + 1.7),
    "quadratic": lambda i, n: (i / n) ** 2,
}
_STEP_WEIGHTS = {  # weight of a neighbour matched ``step`` items back (1 = the latest item)
    "linear": lambda s: np.maximum(1.0 - 0.1 * s, 0.0),
    "same": lambda s: np.ones_like(s, dtype=float),
    "div": lambda s: 1.0 / s,
    "log": lambda s: 1.0 / np.log10(s + 1.7),
    "quadratic": lambda s: 1.0 / s ** 2,
}


class SessionKNN(Recommender):
    """Session-based kNN (Jannach & Ludewig 2017; session-rec's ``sknn``).

    The request's current session (its history, cut at the last ``session_gap_minutes``
    gap) is compared with the ``sample_size`` most recent training sessions that share an
    item with it (other users' sessions only) by the cosine of their binary item sets; the
    ``k`` most similar are its neighbours and ``score(item) = Σ similarity`` of the
    neighbours containing the item. Unlike session-rec's ``cosine`` (which computes
    ``|a∩b| / √|a| · √|b|``), the similarity is the true cosine ``|a∩b| / √(|a|·|b|)``.
    """

    name = "sknn"
    search_space = {"k": [50, 100, 200], "sample_size": [250, 500, 1000], "session_gap_minutes": [SESSION_GAP_MINUTES, None]}

    def __init__(self, k: int = 100, sample_size: int = 500, session_gap_minutes: float | None = SESSION_GAP_MINUTES):
        self.k, self.sample_size, self.session_gap_minutes = k, sample_size, session_gap_minutes

    def fit(self, split):
        super().fit(split)
        inter = split.context.interactions
        self.items_ = pd.Index(sorted(inter["item_id"].unique()))
        sessions, self.session_users_, self.users_ = _training_sessions(inter, self.items_, self.session_gap_minutes)
        self.session_items_ = sessions.T.tocsr()  # items x sessions
        self.session_sizes_ = np.diff(sessions.indptr).astype(float)
        self.session_candidates_ = (sessions @ _to_candidates(self.items_, split.candidates)).tocsr()
        self.tie_ = _tie_breaker(self)
        return self

    # -- the steps shared with V-SKNN

    def _query(self, requests) -> dict:
        """The current sessions' distinct known items, each at its latest position, and each
        session's number of distinct items (unknown ones included: they are part of the set)."""
        session = current_sessions(self.split_, requests, self.session_gap_minutes)
        latest = session.drop_duplicates(["request", "item_id"], keep="last")
        distinct = np.bincount(latest["request"].to_numpy(), minlength=len(requests)).astype(float)
        cols = self.items_.get_indexer(latest["item_id"])
        latest = latest[cols >= 0]
        return {"rows": latest["request"].to_numpy(), "cols": cols[cols >= 0], "positions": latest["position"].to_numpy(),
                "lengths": latest["length"].to_numpy(), "distinct": distinct, "n": len(requests)}

    def _times_sessions(self, query: dict, values) -> sp.csr_matrix:
        """(requests x sessions): the session items valued ``values`` times the training sessions."""
        matrix = sp.csr_matrix((values, (query["rows"], query["cols"])), shape=(query["n"], len(self.items_)))
        return (matrix @ self.session_items_).tocsr()

    def _sample(self, overlap: sp.csr_matrix, requests) -> sp.csr_matrix:
        """1 for each request's sample: the ``sample_size`` most recent training sessions of
        other users sharing an item with its current session."""
        shared = overlap.tocoo()
        own = self.users_.get_indexer(requests["user_id"].astype(str))
        other = self.session_users_[shared.col] != own[shared.row]
        sample = sp.csr_matrix((np.ones(int(other.sum())), (shared.row[other], shared.col[other])), shape=shared.shape)
        sample.sort_indices()  # sessions are numbered oldest first: the last ones of a row are the most recent
        if self.sample_size:
            row_of = np.repeat(np.arange(sample.shape[0]), np.diff(sample.indptr))
            from_end = sample.indptr[row_of + 1] - 1 - np.arange(sample.nnz)
            sample.data[from_end >= self.sample_size] = 0
            sample.eliminate_zeros()
        return sample

    def _similarity(self, query: dict, overlap: sp.csr_matrix, sample: sp.csr_matrix) -> sp.csr_matrix:
        shared = sp.coo_matrix(overlap.multiply(sample))
        cosine = shared.data / np.sqrt(query["distinct"][shared.row] * self.session_sizes_[shared.col])
        return sp.csr_matrix((cosine, (shared.row, shared.col)), shape=shared.shape)

    def _votes(self, query: dict, neighbours: sp.csr_matrix) -> sp.csr_matrix:
        """Each neighbour's vote (here: its similarity)."""
        return neighbours

    def _item_weights(self) -> np.ndarray | None:
        return None

    def scores(self, requests) -> np.ndarray:
        query = self._query(requests)
        overlap = self._times_sessions(query, np.ones(len(query["rows"])))
        sample = self._sample(overlap, requests)
        neighbours = _top_per_row(self._similarity(query, overlap, sample), self.k, prefer_later_columns=True)
        scores = (self._votes(query, neighbours) @ self.session_candidates_).toarray()
        weights = self._item_weights()
        if weights is not None:
            scores *= weights[None, :]
        return _with_ties(scores, self.tie_)


class VSKNN(SessionKNN):
    """Vector-multiplication session kNN (Ludewig & Jannach 2018; session-rec's ``vsknn``).

    The current session is a real-valued vector: the item at position ``i`` of ``n`` weighs
    ``weighting(i, n)`` (``linear``: ``1 - 0.1 (n - i)``, so the latest item weighs 1, the one
    ten clicks back 0; ``same``: 1; ``div``: ``i / n``; ``log``: ``1 / log10(n - i + 1.7)``;
    ``quadratic``: ``(i / n)²``; a repeated item keeps its latest position). A sampled
    session's similarity is the dot product with its binary vector divided by the number of
    distinct items of the current session. Each neighbour's vote is further divided by how
    far back the latest item it shares with the session is (``weighting_score="div"``: by 1
    for the latest item, 2 for the one before...) and every item's score is multiplied by
    ``1 + idf_weighting · idf(item)``, ``idf = log(sessions / clicks on the item)``, so rare
    shared items count more. ``idf_weighting=0`` (or False) turns that off.

    Session-rec gives position weights only to the first ten positions of ``linear`` (an
    indexing slip); here ``linear`` decays from the latest item as the paper describes.
    """

    name = "v-sknn"
    search_space = {"k": [100, 200, 500], "sample_size": [500, 1000, 5000],
                    "weighting": ["linear", "div", "quadratic"], "idf_weighting": [0.0, 1.0, 5.0]}

    def __init__(self, k: int = 100, sample_size: int = 1000, weighting: str = "linear", idf_weighting: float = 1.0,
                 weighting_score: str = "div", session_gap_minutes: float | None = SESSION_GAP_MINUTES):
        super().__init__(k, sample_size, session_gap_minutes)
        self.weighting, self.idf_weighting, self.weighting_score = weighting, idf_weighting, weighting_score

    def fit(self, split):
        super().fit(split)
        inter = split.context.interactions
        clicks = inter["item_id"].value_counts().reindex(split.candidates)
        n_sessions = len(self.session_sizes_)
        self.idf_ = np.where(clicks.notna(), np.log(n_sessions / clicks.fillna(1).to_numpy(dtype=float)), 0.0)
        return self

    def _similarity(self, query, overlap, sample) -> sp.csr_matrix:
        weights = _POSITION_WEIGHTS[self.weighting](query["positions"].astype(float), query["lengths"].astype(float))
        dot = sp.coo_matrix(self._times_sessions(query, weights).multiply(sample))
        return sp.csr_matrix((dot.data / query["distinct"][dot.row], (dot.row, dot.col)), shape=dot.shape)

    def _votes(self, query, neighbours):
        # How far back the latest shared item is, for every (request, neighbour) at once:
        # with each session item valued 2**-step (steps are distinct), the sum over the
        # shared items lies in [2**-s, 2**-(s-1)) where s is the smallest shared step, which
        # frexp reads off exactly.
        steps = np.minimum(query["lengths"] - query["positions"] + 1, _MAX_STEP).astype(float)
        nb = neighbours.tocoo()
        powers = self._times_sessions(query, np.exp2(-steps))[nb.row, nb.col]
        # no neighbour at all gives an empty sparse result rather than an empty array of floats
        powers = np.asarray(powers.toarray() if sp.issparse(powers) else powers, dtype=float).ravel()
        _, exponent = np.frexp(powers)
        decay = _STEP_WEIGHTS[self.weighting_score](1.0 - exponent)
        return sp.csr_matrix((nb.data * decay, (nb.row, nb.col)), shape=nb.shape)

    def _item_weights(self):
        return 1.0 + float(self.idf_weighting or 0.0) * self.idf_ if self.idf_weighting else None


# ---------------------------------------------------------------- sequential rules

class SequentialRules(Recommender):
    """Sequential rules (Kamehkhosh et al. 2017; session-rec's ``sr``).

    Within each training session, every item ``j`` that comes up to ``steps`` positions after
    an item ``i`` adds ``weighting(distance)`` to the rule ``i → j`` (``div``: ``1/distance``;
    also ``same``, ``linear``, ``log``, ``quadratic``); each item keeps its ``pruning``
    strongest rules (0: all). A request is scored from the rules of its last item,
    normalised by the strongest (what followed it, and how closely).
    """

    name = "sequential-rules"
    search_space = {"steps": [3, 10, 20], "weighting": ["div", "quadratic", "same"], "pruning": [10, 20, 0]}

    def __init__(self, steps: int = 10, weighting: str = "div", pruning: int = 20,
                 session_gap_minutes: float | None = SESSION_GAP_MINUTES):
        self.steps, self.weighting, self.pruning, self.session_gap_minutes = steps, weighting, pruning, session_gap_minutes

    def fit(self, split):
        super().fit(split)
        inter = split.context.interactions
        self.items_ = pd.Index(sorted(inter["item_id"].unique()))
        _, user_codes = _factorize(inter["user_id"])
        session = session_numbers(user_codes, F.epoch_ms(inter["ts"]), self.session_gap_minutes)
        item = self.items_.get_indexer(inter["item_id"])
        rows, cols, vals = [], [], []
        for distance in range(1, self.steps + 1):
            same = session[:-distance] == session[distance:]
            rows.append(item[:-distance][same])
            cols.append(item[distance:][same])
            vals.append(np.broadcast_to(_STEP_WEIGHTS[self.weighting](np.float64(distance)), (int(same.sum()),)))
        n = len(self.items_)
        rules = sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(n, n))
        rules = _top_per_row(rules, self.pruning or None)
        self.rules_ = (rules @ _to_candidates(self.items_, split.candidates)).tocsr()  # items x candidates
        self.tie_ = _tie_breaker(self)
        return self

    def scores(self, requests) -> np.ndarray:
        history = self.split_.history(requests)
        last = history.drop_duplicates("request", keep="last")
        code = self.items_.get_indexer(last["item_id"])
        known = code >= 0
        pick = sp.csr_matrix((np.ones(int(known.sum())), (last["request"].to_numpy()[known], code[known])),
                             shape=(len(requests), len(self.items_)))
        return _with_ties((pick @ self.rules_).toarray(), self.tie_)


# ---------------------------------------------------------------- EASE

class EASE(Recommender):
    """Embarrassingly shallow autoencoder (Steck 2019).

    On the binary (users x items) training matrix ``X`` of the ``max_items`` items with the
    most users (the dense Gram matrix takes ``8 · max_items²`` bytes: 200 MB at 5,000), the
    item-item weights are the closed form ``B = I - P · diag(1 / diag(P))`` with
    ``P = (XᵀX + λI)⁻¹``, i.e. a ridge regression of every item on all the others with a zero
    diagonal. A request's score is its binary history vector times ``B``; candidates
    outside those items score 0 (scores are signed: 0 is "no evidence either way"), and a
    request without any known item gets the popularity tie-breaker.
    """

    name = "ease"
    search_space = {"l2": [10.0, 100.0, 500.0]}

    def __init__(self, l2: float = 100.0, max_items: int = 5000):
        self.l2, self.max_items = l2, max_items

    def fit(self, split):
        super().fit(split)
        inter = split.context.interactions
        users_per_item = inter.drop_duplicates(["user_id", "item_id"])["item_id"].value_counts()
        users_per_item = users_per_item.rename_axis("item_id").reset_index(name="n")
        kept = users_per_item.sort_values(["n", "item_id"], ascending=[False, True]).head(self.max_items)
        self.items_ = pd.Index(sorted(kept["item_id"]))
        _, user_codes = _factorize(inter["user_id"])
        X = _binary(user_codes, self.items_.get_indexer(inter["item_id"]), (int(user_codes.max(initial=-1)) + 1, len(self.items_)))
        gram = (X.T @ X).toarray()
        gram[np.diag_indices_from(gram)] += self.l2
        # Only the candidates' columns of B are ever used: P's columns j = (XᵀX + λI)⁻¹ e_j
        # from one Cholesky factorisation, B[:, j] = -P[:, j] / P[j, j] with B[j, j] = 0.
        rows = self.items_.get_indexer(split.candidates)
        self.columns_known_ = np.flatnonzero(rows >= 0)
        rows = rows[rows >= 0]
        unit = np.zeros((len(self.items_), len(rows)))
        unit[rows, np.arange(len(rows))] = 1.0
        with threadpool_limits(1, "blas"):  # a threaded BLAS is erratic on a shared machine (seconds instead of 0.06 s)
            factor = scipy.linalg.cho_factor(gram, overwrite_a=True, check_finite=False)
            P = scipy.linalg.cho_solve(factor, unit, overwrite_b=True, check_finite=False)
        B = P / -P[rows, np.arange(len(rows))][None, :]
        B[rows, np.arange(len(rows))] = 0.0
        self.weights_ = B  # items x known candidates
        self.tie_ = _tie_breaker(self)
        return self

    def scores(self, requests) -> np.ndarray:
        history = self.split_.history(requests)
        X = _binary(history["request"].to_numpy(), self.items_.get_indexer(history["item_id"]), (len(requests), len(self.items_)))
        out = np.zeros((len(requests), len(self.split_.candidates)))
        out[:, self.columns_known_] = X @ self.weights_
        empty = np.diff(X.indptr) == 0
        out[empty] = self.tie_
        return out


# ---------------------------------------------------------------- RP3beta

class RP3beta(Recommender):
    """The three-step random walk with popularity discount (Paudel et al. 2017; as in
    Dacrema et al. 2019's RP3beta).

    ``W[i, j]`` is the probability of walking item ``i`` → a user who interacted with it →
    item ``j`` (the user's type-weighted interactions, row-normalised; both transition
    matrices raised to ``alpha``), divided by ``popularity(j) ** beta`` (users of ``j``):
    ``beta = 0`` is the plain walk (popular items everywhere), higher values favour the long
    tail. Each item keeps its ``neighbours`` strongest successors; a request's score is its
    type-weighted history times ``W``, like item-kNN.
    """

    name = "rp3beta"
    search_space = {"alpha": [0.5, 1.0, 1.5], "beta": [0.0, 0.3, 0.6], "neighbours": [50, 100, 200]}

    def __init__(self, alpha: float = 1.0, beta: float = 0.6, neighbours: int | None = 100):
        self.alpha, self.beta, self.neighbours = alpha, beta, neighbours

    def fit(self, split):
        super().fit(split)
        self.items_ = pd.Index(sorted(split.context.interactions["item_id"].unique()))
        matrix, _ = self._train_matrix(self.items_)
        matrix = matrix.astype(np.float64)
        user_to_item = _row_normalised(matrix).power(self.alpha)
        binary = matrix.T.tocsr()
        binary.data[:] = 1.0
        popularity = np.asarray(binary.sum(axis=1)).ravel()
        item_to_user = _row_normalised(binary).power(self.alpha)
        walk = (item_to_user @ user_to_item).tocsr()
        discount = np.where(popularity > 0, np.power(np.maximum(popularity, 1.0), -self.beta), 0.0)
        walk = walk.multiply(discount[None, :]).tocsr()
        walk.setdiag(0)
        self.walk_ = (_top_per_row(walk, self.neighbours) @ _to_candidates(self.items_, split.candidates)).tocsr()
        self.tie_ = _tie_breaker(self)
        return self

    def scores(self, requests) -> np.ndarray:
        return _with_ties((self._history_matrix(requests, self.items_) @ self.walk_).toarray(), self.tie_)


def _row_normalised(matrix: sp.csr_matrix) -> sp.csr_matrix:
    sums = np.asarray(matrix.sum(axis=1)).ravel()
    return sp.diags(np.where(sums > 0, 1.0 / np.where(sums > 0, sums, 1.0), 0.0)) @ matrix
