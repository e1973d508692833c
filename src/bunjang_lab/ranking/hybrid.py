"""The production ranker: a factorization machine that reads what the session is doing.

Plain FMs know a user through ids and slow-moving tastes; on real click logs the strongest
evidence is the current session: what was just viewed (people come back to it), what is
co-viewed with it, what usually follows it. :class:`HybridFM` keeps the FM as the ranker
(new listings still score through their features) and gives it those signals as features
of the (request, item) pair:

* ``signal=recent``: the item's weight in the request's history, halving with every later
  interaction (the last item viewed weighs 1);
* ``signal=coview``: the history's co-view similarity to the item (cosine over training
  sessions), with the same recency weights;
* ``signal=next``: how often the item followed the last viewed item within a few steps of
  a training session (sequential rules), scaled to the request's best;
* ``signal=session``: the vote of the training sessions most like the current one (V-SKNN,
  :class:`bunjang_lab.ranking.neighbours.VSKNN`), scaled to the request's best;
* ``signal=popular``: the item's interactions in the last day before the fit, scaled;
* ``signal=fm``: the full FM's score, as ``exp(score - the request's best)`` (new listings
  keep scoring through its features);
* ``gap=...``: the time since the request's last interaction, bucketed.

V-SKNN and the FM are the line-up's own models with the settings the tuning chose for
them before the cutoff (:meth:`HybridFM.with_peers`), as are the ID-only FM and popularity,
which only the blend reads. The generators learn from the training
events before a ranking window; the FM learns from next-item requests in that window (targets against
the candidates the generators rank highest plus random ones); the generators are then
refitted on all training events to score. Everything stays before the cutoff.

Which ranker combines them is chosen by the tuning on the validation window (``ranker``):

* ``fm``: the FM learns the signals' weights and their interactions with its own fields;
* ``blend``: a weighted sum of the standardised scores of the signals and the peers
  (:data:`BLEND`), the weights chosen by coordinate ascent on NDCG@10 over the ranking
  window's requests. It wins where the ranking window has few requests to learn an FM
  from (MovieLens: 186 users' months): there the stacked FM fell below its own best input.

Scoring stays a full ranking: the FM splits into user, item and pair parts,
``score = user_bias + item_bias + p_u·q_i + pair terms``, and the pair terms are computed
for every (request, candidate) pair as dense arrays, without rows per pair.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd
import scipy.sparse as sp

from bunjang_lab.errors import NotEnoughData
from bunjang_lab.ranking import features as F
from bunjang_lab.ranking import realtime
from bunjang_lab.ranking.baselines import FMModel, Popularity, PretrainedFM, Recommender, user_item_scores
from bunjang_lab.ranking.evaluate import metrics_of, target_ranks
from bunjang_lab.ranking.factors import FMFactors
from bunjang_lab.ranking.fm import FMRanker
from bunjang_lab.ranking.neighbours import SESSION_GAP_MINUTES, VSKNN, session_numbers
from bunjang_lab.ranking.split import Split
from bunjang_lab.ranking.training import DEFAULT_PARAMS

SIGNALS = ("recent", "coview", "next", "session", "popular", "fm")
# The signals that are other models' scores: which model of the line-up each one is, used with
# the setting the tuning chose for it (``HybridFM.with_peers``).
# (The ID-only FM's score as a further signal was tried: on a small YooChoose log it also
# changed which hard negatives the ranking rows hold and cost NDCG@10 0.283 -> 0.188.)
PEERS = {"session": "v-sknn", "fm": "fm", "id": "fm-id-only", "popularity": "popularity"}
# What the blend weighs: the history signals and every peer's own score.
BLEND = ("recent", "coview", "next", "session", "fm", "id", "popularity")
BLEND_WEIGHTS = (0.0, 0.25, 0.5, 1.0, 2.0)
BLEND_PASSES = 2
# Ranking-window requests the blend's weights are chosen on: bounds the (components x
# requests x candidates) array to ~160 MB on YooChoose's 2,933 items.
BLEND_REQUESTS = 2000
PAIR_FIELDS = ("signal", "gap")
# Random negatives per target (at least ``random_negatives`` per request): hard negatives alone
# are, by construction, the items the signals like most, which teaches the FM to distrust the
# signals wherever a request has many targets (a heavy rater's month).
RANDOM_PER_TARGET = 5
GAP_EDGES_SECONDS = (60, 300, 1800, 86400)
GAP_LABELS = ("<1m", "<5m", "<30m", "<1d", "1d+")
# Hard negatives per ranking request: the generators' top 120, not 60, so the ranker also sees
# how the lists go on past the first screen (YooChoose HR@20 0.671 -> 0.684, NDCG@10 +0.003,
# both with paired intervals above zero; MovieLens and the simulator unchanged within the noise).
HARD_NEGATIVES = 120
# Fewer factors than the plain FM, since the pair signals carry most of the evidence; the
# starting point of the tuning, which may choose otherwise on each validation window.
HYBRID_PARAMS = {"k": 16}
# Which of the FM's own fields ride along with the pair signals: ids help where users come
# back for weeks (a marketplace), and are noise where a "user" is a one-off session (click
# logs); the tuning chooses per data set.
SIGNALS_ONLY = ("surface",)
CONTENT_FIELDS = tuple(f for f in F.FULL_FIELDS if f not in ("user", "item", "seller", "recent_item"))


class Generators:
    """Co-view similarities, sequential rules, similar sessions and recent popularity, learned
    from a split's training interactions; ``peers`` are the (unfitted) models behind the
    :data:`PEERS` signals (default: their default settings)."""

    def __init__(self, peers: dict | None = None, rule_steps: int = 10, popular_days: float = 1.0, seed: int = 0):
        self.peers = {**default_peers(seed), **(peers or {})}
        self.rule_steps, self.popular_days, self.seed = rule_steps, popular_days, seed

    def fit(self, split: Split) -> "Generators":
        self.split_ = split
        self.peers_ = {}
        until, candidates = split.cutoff, split.candidates
        inter = split.context.interactions.sort_values(["user_id", "ts"], kind="stable")
        self.items_ = pd.Index(sorted(inter["item_id"].unique()))
        self.candidates_ = pd.Index(candidates)
        to_candidate = self.candidates_.get_indexer(self.items_)
        keep = to_candidate >= 0
        self.to_candidates_ = sp.csr_matrix((np.ones(keep.sum(), dtype=np.float32), (np.flatnonzero(keep), to_candidate[keep])),
                                            shape=(len(self.items_), len(self.candidates_)))
        item = self.items_.get_indexer(inter["item_id"])
        session = session_numbers(pd.factorize(inter["user_id"])[0], F.epoch_ms(inter["ts"]), SESSION_GAP_MINUTES)
        n_sessions = int(session.max()) + 1 if len(session) else 0
        binary = sp.csr_matrix((np.ones(len(item), dtype=np.float32), (session, item)), shape=(n_sessions, len(self.items_)))
        binary.data[:] = 1.0
        norms = np.sqrt(np.asarray(binary.sum(axis=0)).ravel()) + 1e-9
        similarity = (binary.T @ binary).tocsr().multiply(1 / norms[:, None]).multiply(1 / norms[None, :]).tocsr()
        similarity.setdiag(0)
        self.coview_ = (similarity @ self.to_candidates_).tocsr()
        rows, cols, vals = [], [], []
        for step in range(1, self.rule_steps + 1):
            same = session[step:] == session[:-step]
            rows.append(item[:-step][same])
            cols.append(item[step:][same])
            vals.append(np.full(same.sum(), 1.0 / step, dtype=np.float32))
        rules = sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                              shape=(len(self.items_),) * 2) if rows else sp.csr_matrix((len(self.items_),) * 2)
        self.rules_ = (rules @ self.to_candidates_).tocsr()
        recent = inter[inter["ts"] >= until - pd.Timedelta(days=self.popular_days)]
        counts = recent.groupby("item_id")["weight"].sum().reindex(self.candidates_).fillna(0.0).to_numpy()
        self.popular_ = counts / max(counts.max(initial=0.0), 1e-9)
        return self

    def signals(self, requests: pd.DataFrame, history: pd.DataFrame) -> dict:
        """``{signal: (len(requests), n_candidates) array}``; ``history`` is the split's for them."""
        recent, coview, following = self._history_signals(requests, history)
        sessions = np.maximum(self.peer("session").scores(requests) - 1.0, 0.0)  # V-SKNN's scored items lie in (1, 2]
        fm = self.peer("fm").scores(requests)
        return {"recent": recent, "coview": coview, "next": following,
                "session": sessions, "popular": np.broadcast_to(self.popular_, recent.shape),
                "fm": np.exp(fm - fm.max(axis=1, keepdims=True))}

    def components(self, requests: pd.DataFrame, history: pd.DataFrame) -> np.ndarray:
        """(len(BLEND), len(requests), n_candidates) float32: the :data:`BLEND` scores, each
        standardised per request (popularity on a log scale: counts are heavy-tailed)."""
        raw = dict(zip(("recent", "coview", "next"), self._history_signals(requests, history)))
        raw.update({name: self.peer(name).scores(requests) for name in ("session", "fm", "id")})
        raw["popularity"] = np.log1p(self.peer("popularity").scores(requests))
        return np.stack([_standardised(np.asarray(raw[name], dtype=np.float32)) for name in BLEND])

    def _history_signals(self, requests: pd.DataFrame, history: pd.DataFrame) -> tuple:
        """(recent, coview, next): what the request's own items say about each candidate."""
        n_requests = len(requests)
        item = self.items_.get_indexer(history["item_id"])
        request = history["request"].to_numpy()
        later = history.groupby("request").cumcount(ascending=False).to_numpy()
        weight = np.power(0.5, later).astype(np.float32)
        known = item >= 0
        decayed = sp.csr_matrix((weight[known], (request[known], item[known])), shape=(n_requests, len(self.items_)))
        recent = np.asarray((decayed @ self.to_candidates_).todense())
        coview = np.asarray((decayed @ self.coview_).todense())
        last = (later == 0) & known
        picks = sp.csr_matrix((np.ones(last.sum(), dtype=np.float32), (request[last], item[last])),
                              shape=(n_requests, len(self.items_)))
        following = np.asarray((picks @ self.rules_).todense())
        return np.minimum(recent, 1.0), _scaled(coview), _scaled(following)

    def peer(self, signal: str) -> Recommender:
        """The peer model behind ``signal``, fitted on the split the first time it is asked
        for: the FM ranker reads two of the four, the blend all of them."""
        if signal not in self.peers_:
            self.peers_[signal] = self.peers[signal].with_params().fit(self.split_)
        return self.peers_[signal]


def default_peers(seed: int = 0) -> dict:
    """The models behind the peer signals with their default settings."""
    return {"session": VSKNN(), "fm": FMModel(seed=seed), "id": FMModel(F.ID_FIELDS, name="fm-id-only", seed=seed),
            "popularity": Popularity()}


def _generators(split: Split, peers: dict, seed: int) -> Generators:
    """The generators of a split, fitted once: the ranking window of the evaluation is the
    tuning's validation split, whose generators the tuning has already fitted."""
    return split.memo(("hybrid-generators", _peer_settings(peers), seed), lambda: Generators(peers, seed=seed).fit(split))


def _peer_settings(peers: dict) -> tuple:
    """Each peer's name and searched settings: what tells two sets of generators apart."""
    def setting(model):
        space = getattr(model, "search_space", None) or {}
        return (model.name,) + tuple((name, repr(model.get_param(name))) for name in sorted(space))
    return tuple(sorted((signal, setting(model)) for signal, model in peers.items()))


def _standardised(matrix: np.ndarray) -> np.ndarray:
    """Each row minus its mean, over its standard deviation (constant rows become zeros)."""
    spread = matrix.std(axis=1, keepdims=True)
    return np.divide(matrix - matrix.mean(axis=1, keepdims=True), spread, out=np.zeros_like(matrix), where=spread > 0)


def blend_weights(components: np.ndarray, allowed: np.ndarray, targets: list, seed: int = 0) -> np.ndarray:
    """Weights of the components (c, requests, candidates) by coordinate ascent on NDCG@10:
    the best single component first, then each weight in turn over :data:`BLEND_WEIGHTS`,
    :data:`BLEND_PASSES` times; a change is kept only if it improves. Ties are broken at
    random (seeded) as in the evaluation: a component that is flat for most items (the
    history's own items) would otherwise rank every tied target first."""
    ties = np.random.default_rng(seed).random(allowed.shape) * 1e-6

    def ndcg(weights):
        scores = np.where(allowed, np.tensordot(weights, components, axes=1) + ties, -np.inf)
        return float(metrics_of(target_ranks(scores, targets))["ndcg@10"].mean())

    singles = [ndcg(np.eye(len(components))[c]) for c in range(len(components))]
    weights = np.eye(len(components))[int(np.argmax(singles))]
    best = max(singles)
    for _ in range(BLEND_PASSES):
        for c in range(len(components)):
            for value in BLEND_WEIGHTS:
                trial = weights.copy()
                trial[c] = value
                if trial.any() and (score := ndcg(trial)) > best:
                    weights, best = trial, score
    return weights


def _scaled(matrix: np.ndarray) -> np.ndarray:
    """Each row divided by its maximum (rows of zeros stay zero)."""
    top = matrix.max(axis=1, keepdims=True)
    return np.divide(matrix, top, out=np.zeros_like(matrix), where=top > 0)


def gap_buckets(history: pd.DataFrame, requests: pd.DataFrame) -> np.ndarray:
    """Time since each request's last interaction, bucketed ("none" without history)."""
    last = history.groupby("request")["ts"].max().reindex(range(len(requests)))
    seconds = (pd.to_datetime(requests["at"], utc=True).reset_index(drop=True) - last.reset_index(drop=True)).dt.total_seconds()
    index = np.searchsorted(np.asarray(GAP_EDGES_SECONDS, dtype=float), seconds.fillna(-1).to_numpy(), side="right")
    return np.where(seconds.isna().to_numpy(), "none", np.asarray(GAP_LABELS, dtype=object)[np.minimum(index, 4)])


OWN_SETTINGS = ("ranker", "fields", "hard_negatives", "random_negatives", "rank_days", "peers")
RANKERS = ("fm", "blend")


class HybridFM(PretrainedFM):
    """The FM ranker with session signals as pair features (see the module doc).

    ``ranker`` combines the signals: the FM (``fm``) or the blend (``blend``; module doc).
    ``rank_days`` is the ranking window at the end of the training events; each request
    there contributes its targets, the ``hard_negatives`` candidates the generators rank
    highest and ``random_negatives`` others (the FM's rows; the blend's weights are chosen on
    the same requests). ``peers`` are the models behind the :data:`PEERS`
    signals (by default at their default settings)."""

    search_space = {"ranker": list(RANKERS), "fields": [SIGNALS_ONLY, CONTENT_FIELDS]}

    def __init__(self, name: str = "fm-hybrid", ranker: str = "fm", fields=SIGNALS_ONLY, rank_days: float | None = None,
                 hard_negatives: int = HARD_NEGATIVES, random_negatives: int = 10, peers: dict | None = None, seed: int = 0,
                 **params):
        if ranker not in RANKERS:
            raise ValueError(f"unknown ranker {ranker!r}; expected one of {', '.join(RANKERS)}")
        self.model_name, self.ranker, self.fields, self.rank_days = name, ranker, fields, rank_days
        self.hard_negatives, self.random_negatives, self.seed, self.params = hard_negatives, random_negatives, seed, params
        self.peers = {**default_peers(seed), **(peers or {})}

    def get_param(self, name: str):
        if self.ranker == "blend" and (name == "fields" or name in DEFAULT_PARAMS):
            return None  # the blend has no FM of its own: its settings make no difference
        return getattr(self, name) if name in OWN_SETTINGS else {**DEFAULT_PARAMS, **HYBRID_PARAMS, **self.params}.get(name)

    def with_params(self, **params) -> "HybridFM":
        settings = {name: params.pop(name, getattr(self, name)) for name in OWN_SETTINGS}
        return HybridFM(self.model_name, seed=self.seed, **settings, **{**self.params, **params})

    def with_peers(self, tuned: list) -> "HybridFM":
        """This model with the signals' models as the tuning chose them: a generator is only
        as good as its settings, and the tuned peers' were chosen before the cutoff too."""
        by_name = {model.name: model for model in tuned}
        return self.with_params(peers={signal: by_name[peer] for signal, peer in PEERS.items() if peer in by_name})

    # ------------------------------------------------------------ fitting

    def _factors(self, split: Split) -> FMFactors:
        p = {**DEFAULT_PARAMS, **HYBRID_PARAMS, **self.params}
        key = ("hybrid-rows", self.rank_days, self.hard_negatives, self.random_negatives, _peer_settings(self.peers), self.seed)
        ranking, rows, sides = split.memo(key, lambda: self._ranking_data(split))
        user_side, item_side, pairs = sides.user, sides.item, sides.pair
        fields = tuple(self.fields) + PAIR_FIELDS
        valid = (rows["request"] >= rows["request"].quantile(0.8)).to_numpy()
        fmap, X = F.FeatureMap.fit_encode([user_side, item_side, pairs], fields, sides.price_edges, realtime.DEFAULT_PARAMS,
                                          p["min_count"], counted=~valid)
        y = rows["label"].to_numpy()
        estimator = FMRanker(k=p["k"], lr=p["lr"], reg_lambda=p["reg_lambda"], epochs=p["epochs"],
                             stop_window=p["stop_window"])
        if valid.any() and (~valid).any() and len(np.unique(y[valid])) == 2:
            estimator.fit(X[~valid], y[~valid], X[valid], y[valid])
        else:
            estimator.fit(X, y)
        self.generators_ = _generators(split, self.peers, self.seed)
        self.info_ = {"ranking_requests": int(len(ranking.requests)), "rows": int(len(rows)), "best_epoch": estimator.best_epoch_}
        return FMFactors(estimator.bias_, estimator.w_, estimator.V_, fmap)

    def _ranking_data(self, split: Split):
        """The ranking window's split, its rows and their (user, item, pair) feature frames:
        the same for every setting the tuning tries, so computed once per split."""
        ranking = split.earlier(self.rank_days)
        if not len(ranking.requests):
            raise NotEnoughData("no interactions in the ranking window before the cutoff to train the hybrid FM")
        rows, pairs = self._ranking_rows(ranking, _generators(ranking, self.peers, self.seed))
        price_edges = F.fit_price_edges(split.context.items[split.context.items["listed_at"] < split.cutoff])
        scoring_ctx = F.Context(ranking.context.items, ranking.context.users, ranking.timeline()[0])
        sides = _Sides(F.user_frame(rows.rename(columns={"at": "ts"}), scoring_ctx, realtime.DEFAULT_PARAMS),
                       F.item_frame(rows["item_id"], rows["at"], scoring_ctx, price_edges), pairs, price_edges)
        return ranking, rows, sides

    def _ranking_rows(self, ranking: Split, generators: Generators):
        """(rows: request, user_id, at, item_id, label; their pair frame) for the ranking window."""
        rng = np.random.default_rng(self.seed)
        requests, columns, labels, pair_rows = [], [], [], []
        for start in range(0, len(ranking.requests), 512):
            block = ranking.requests.iloc[start:start + 512]
            history = ranking.history(block)
            signals = generators.signals(block, history)
            allowed = ranking.allowed(block)
            strength = sum(signals[s] for s in SIGNALS if s != "popular") + 1e-3 * signals["popular"]
            strength = np.where(allowed, strength, -np.inf)
            gaps = gap_buckets(history, block)
            n_hard = min(self.hard_negatives, strength.shape[1])
            hard = np.argpartition(-strength, n_hard - 1, axis=1)[:, :n_hard] if n_hard else np.empty((len(block), 0), int)
            block_rows, block_cols = [], []
            for row in range(len(block)):
                targets = ranking.targets[start + row]
                ok = np.flatnonzero(allowed[row])
                chosen = set(hard[row][np.isfinite(strength[row, hard[row]])].tolist())
                n_random = min(max(self.random_negatives, RANDOM_PER_TARGET * len(targets)), len(ok))
                chosen |= set(rng.choice(ok, n_random, replace=False).tolist())
                chosen -= set(targets.tolist())
                block_cols.append(np.concatenate([targets, np.fromiter(chosen, dtype=np.int64, count=len(chosen))]))
                block_rows.append(np.full(len(block_cols[-1]), row))
                labels.append(np.r_[np.ones(len(targets)), np.zeros(len(chosen))])
            rows, cols = np.concatenate(block_rows), np.concatenate(block_cols)
            pair_rows += _pair_values(signals, rows, cols, gaps)
            requests.append(start + rows)
            columns.append(cols)
        request = np.concatenate(requests)
        picked = ranking.requests.iloc[request]
        rows = pd.DataFrame({"request": request, "user_id": picked["user_id"].to_numpy(), "at": picked["at"].reset_index(drop=True),
                             "item_id": ranking.candidates[np.concatenate(columns)], "label": np.concatenate(labels)})
        pairs = pd.DataFrame(pair_rows, columns=list(PAIR_FIELDS))
        return rows, pairs

    # ------------------------------------------------------------ scoring

    def _blend_weights(self, split: Split) -> np.ndarray:
        """The blend's weights, chosen on (at most :data:`BLEND_REQUESTS` of) the ranking
        window's requests with the generators fitted before it."""
        ranking = split.earlier(self.rank_days)
        if not len(ranking.requests):
            raise NotEnoughData("no interactions in the ranking window before the cutoff to weigh the hybrid's blend")
        rng = np.random.default_rng(self.seed)
        rows = np.sort(rng.choice(len(ranking.requests), min(BLEND_REQUESTS, len(ranking.requests)), replace=False))
        requests = ranking.requests.iloc[rows]
        generators = _generators(ranking, self.peers, self.seed)
        components = generators.components(requests, ranking.history(requests))
        return blend_weights(components, ranking.allowed(requests), [ranking.targets[r] for r in rows], self.seed)

    def fit(self, split):
        if self.ranker == "fm":
            super().fit(split)
            self.pair_ = _PairTerms(self.factors_)
            return self
        Recommender.fit(self, split)
        key = ("hybrid-blend", self.rank_days, _peer_settings(self.peers), self.seed)
        self.weights_ = split.memo(key, lambda: self._blend_weights(split))
        self.generators_ = _generators(split, self.peers, self.seed)
        self.info_ = {"blend": dict(zip(BLEND, self.weights_.round(3).tolist()))}
        return self

    def scores(self, requests) -> np.ndarray:
        history = self.split_.history(requests)
        if self.ranker == "blend":
            return np.tensordot(self.weights_, self.generators_.components(requests, history), axes=1)
        signals = self.generators_.signals(requests, history)
        # the user part once: the user-item score and the pair terms both need it
        users = self.factors_.user_parts(requests["user_id"], self.context_, requests["at"])
        base = np.empty((len(requests), len(self.split_.candidates)))
        items = np.empty((len(requests), len(self.split_.candidates), self.factors_.k), dtype=np.float32)
        for rows, part in self.hourly_items(requests):
            items[rows] = part.vectors
            base[rows] = user_item_scores(users, rows, part)
        return base + self.pair_.terms(signals, gap_buckets(history, requests), users.vectors, items)


class _Sides(NamedTuple):
    user: pd.DataFrame
    item: pd.DataFrame
    pair: pd.DataFrame
    price_edges: object


def _pair_values(signals: dict, rows: np.ndarray, cols: np.ndarray, gaps: np.ndarray) -> list:
    """The pair fields of each (request row, candidate column): its positive signals as
    ``(signal, value)`` and its request's gap bucket; every pair's signals read at once."""
    values = np.stack([np.asarray(signals[s][rows, cols], dtype=np.float64) for s in SIGNALS], axis=1)
    return [[[(s, v) for s, v in zip(SIGNALS, pair) if v > 0], gaps[row]] for pair, row in zip(values.tolist(), rows.tolist())]


class _PairTerms:
    """The FM's terms that involve the pair fields, for every (request, candidate) pair:
    linear terms, interactions among pair features and with the user and item parts."""

    def __init__(self, factors: FMFactors):
        values, columns = factors.feature_map.index["signal"]
        lookup = dict(zip(values, columns))
        unknown = lookup[F.UNKNOWN]
        self.signal_cols = np.array([lookup.get(s, unknown) for s in SIGNALS])
        self.gap_values, self.gap_cols = factors.feature_map.index["gap"]
        self.gap_unknown = dict(zip(self.gap_values, self.gap_cols))[F.UNKNOWN]
        self.w, self.V = factors.w, factors.V

    def terms(self, signals: dict, gaps: np.ndarray, user_vectors: np.ndarray, item_vectors: np.ndarray) -> np.ndarray:
        gap_index = pd.Index(self.gap_values).get_indexer(gaps)
        gap_cols = np.where(gap_index >= 0, self.gap_cols[np.maximum(gap_index, 0)], self.gap_unknown)
        v_gap, w_gap = self.V[gap_cols], self.w[gap_cols]  # (n, k), (n,)
        x = np.stack([np.asarray(signals[s], dtype=np.float32) for s in SIGNALS])  # (s, n, c)
        v_sig, w_sig = self.V[self.signal_cols], self.w[self.signal_cols]  # (s, k), (s,)
        context = user_vectors[:, None, :] + item_vectors + v_gap[:, None, :]  # what each signal meets: (n, c, k)
        out = np.einsum("s,snc->nc", w_sig, x) + w_gap[:, None]
        out += np.einsum("snc,nck,sk->nc", x, context, v_sig, optimize=True)
        out += np.einsum("nk,nck->nc", v_gap, user_vectors[:, None, :] + item_vectors, optimize=True)
        gram = v_sig @ v_sig.T
        for a in range(len(SIGNALS)):
            for b in range(a + 1, len(SIGNALS)):
                out += gram[a, b] * x[a] * x[b]
        return out
