"""The FM ranker: features, xlearn estimator, numpy scorer, real-time agreement, train/evaluate."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from sklearn.base import clone

from bunjang_lab.ranking import features as F
from bunjang_lab.ranking import realtime
from bunjang_lab.ranking.baselines import (FMModel, FreshPreferred, ImplicitModel, ItemKNN, Popularity, RandomModel,
                                           RecentlyViewed, Recommender, SegmentPopularity)
from bunjang_lab.ranking.evaluate import METRICS, evaluate_models, metrics_of, target_ranks
from bunjang_lab.ranking.fm import FMRanker, write_libsvm, xlearn_scores
from bunjang_lab.ranking.hybrid import HybridFM
from bunjang_lab.ranking.neighbours import EASE, RP3beta, SequentialRules, SessionKNN, VSKNN, current_sessions
from bunjang_lab.ranking.factors import FMFactors, export_vectors, top_k
from bunjang_lab.ranking.split import next_item, time_split
from bunjang_lab.testing import synthetic_events
from bunjang_lab.evaluation.gate import promote_if_not_worse
from bunjang_lab.ranking.training import fit_factors, train_model

REPO_ROOT = Path(__file__).resolve().parents[1]
FAST_FM = {"k": 4, "epochs": 4}


@pytest.fixture(scope="module")
def events():
    return synthetic_events(n_users=30, n_items=120, days=12, impressions_per_day=8, seed=3)


@pytest.fixture(scope="module")
def split(events):
    return time_split(events, test_days=3)


@pytest.fixture(scope="module")
def trained(events, split, tmp_path_factory):
    work = tmp_path_factory.mktemp("fm")
    scorer, info = fit_factors(split.train, split.context, split.cutoff, work_dir=work, **FAST_FM)
    return scorer, info, work


# ---------------------------------------------------------------- features

def test_recent_features_never_look_ahead(events):
    ctx = F.Context.from_events(events)
    user = ctx.interactions["user_id"].iloc[0]
    first = ctx.interactions[ctx.interactions["user_id"] == user]["ts"].iloc[0]
    rows = pd.DataFrame({"user_id": [user, user], "ts": [first, first + pd.Timedelta(seconds=1)]})
    cats, items = F.recent_snapshots(ctx.interactions, rows)
    assert cats[0] == [] and items[0] == []  # the event at that very time is not "before"
    assert items[1] and abs(sum(w for _, w in items[1]) - 1) < 1e-9


def test_unknown_values_get_the_field_unknown_slot(events):
    ctx = F.Context.from_events(events)
    frame = F.item_frame(["i1", "brand-new-item"], events["ts"].max(), ctx, F.fit_price_edges(ctx.items))
    fmap = F.FeatureMap.fit([frame.iloc[:1]], ("item", "freshness"), {}, realtime.DEFAULT_PARAMS, min_count=1)
    X = fmap.encode(frame).toarray()
    unknown = fmap.keys.index(f"item={F.UNKNOWN}")
    assert X[1, unknown] == 1 and X[0, unknown] == 0
    assert X[1, fmap.keys.index(f"freshness={F.UNKNOWN}")] == 1


def test_training_rows_respect_until_and_have_both_labels(events):
    ctx = F.Context.from_events(events)
    until = events.loc[events["type"] == "click", "ts"].min() + pd.Timedelta(days=6)
    rows = F.training_rows(events, ctx, until, seed=1)
    assert rows["ts"].max() < until
    assert set(rows["label"]) == {0, 1}
    negatives = rows[rows["label"] == 0]
    merged = negatives.merge(ctx.items[["listed_at"]], left_on="item_id", right_index=True)
    assert (merged["listed_at"] <= merged["ts"]).all()  # sampled negatives were live


def test_batch_and_realtime_recent_tastes_agree(events):
    ctx = F.Context.from_events(events)
    at = events["ts"].max() + pd.Timedelta(seconds=1)
    states = F.recent_states(ctx.interactions)
    users = states["user_id"].tolist()
    batch_cats, batch_items = F.recent_snapshots(ctx.interactions, pd.DataFrame({"user_id": users, "ts": at}))
    seller = ctx.items["seller_id"]
    for n, user in enumerate(users):
        cats, items = realtime.new_state(), realtime.new_state()
        for event in events[events["user_id"] == user].itertuples():
            if event.type in realtime.DEFAULT_TYPE_WEIGHTS and seller.get(event.item_id) == user:
                continue  # a seller's chat about their own listing (features.interactions drops it too)
            payload = {"type": event.type, "item_id": event.item_id, "ts": event.ts.timestamp(),
                       "on": None if pd.isna(getattr(event, "on", None)) else bool(event.on)}
            cats, items = realtime.apply_event(cats, items, payload, ctx.items["category"].get(event.item_id))
        for online, batch, n_top in ((cats, batch_cats[n], 5), (items, batch_items[n], 10)):
            online = realtime.top_weights(online, n_top)
            assert [k for k, _ in online] == [k for k, _ in batch]
            assert [w for _, w in online] == pytest.approx([w for _, w in batch])


# ---------------------------------------------------------------- estimator and scorer

def test_fm_ranker_is_a_sklearn_estimator(tmp_path):
    rng = np.random.default_rng(0)
    X = sp.csr_matrix(np.eye(6)[rng.integers(0, 6, 300)] + np.eye(6)[rng.integers(0, 6, 300)])
    y = (X[:, :3].sum(axis=1).A.ravel() > 0).astype(int)
    model = FMRanker(k=2, epochs=5, work_dir=tmp_path / "a")
    copy = clone(model)
    assert copy.get_params() == model.get_params() and not hasattr(copy, "w_")
    assert model.fit(X, y, X[:50], y[:50]) is model
    assert (model.predict(X) == y).mean() > 0.9
    # work_dir keeps the model, console output and logs; the training files and caches are gone
    kept = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert kept == ["log", "model.txt", "model.xl", "xlearn.out"] and list(tmp_path.glob("a/log/*"))


def test_rows_without_features_score_the_bias(tmp_path):
    X = sp.csr_matrix(np.array([[1.0, 0], [0, 0], [0, 2.0], [0, 0]]))
    write_libsvm(X, [1, 0, 1, 0], tmp_path / "x.txt")
    assert (tmp_path / "x.txt").read_text().splitlines() == ["1 0:1", "0 2:0", "1 1:2", "0 2:0"]  # xlearn crashes on bare labels
    model = FMRanker(k=2, epochs=3).fit(X[[0, 1, 2, 3] * 5], [1, 0, 1, 0] * 5)
    assert model.w_.shape == (2,) and model.V_.shape == (2, 2)
    assert np.allclose(model.decision_function(X[1:2]), model.bias_)
    assert np.allclose(model.xlearn_predict(X), model.decision_function(X), atol=1e-5)


def test_numpy_scores_equal_xlearn_predictions(trained, split):
    scorer, info, work = trained
    rows = F.training_rows(split.train, split.context, split.cutoff, seed=5).iloc[:300]
    X = scorer.feature_map.encode(F.user_frame(rows, split.context),
                                  F.item_frame(rows["item_id"], rows["ts"], split.context, scorer.feature_map.price_edges))
    assert np.allclose(scorer.score_rows(X), xlearn_scores((work / "model.xl").read_bytes(), X), rtol=1e-5, atol=1e-5)


def test_user_item_split_equals_full_rows(trained, split):
    scorer = trained[0]
    users, items = split.users[:5], split.candidates[:7]
    up = scorer.user_parts(users, split.context, split.cutoff)
    ip = scorer.item_parts(items, split.context, split.cutoff)
    rows = pd.DataFrame({"user_id": np.repeat(users, len(items)), "ts": split.cutoff})
    full = scorer.feature_map.encode(F.user_frame(rows, split.context),
                                     F.item_frame(np.tile(items, len(users)), split.cutoff, split.context,
                                                  scorer.feature_map.price_edges))
    expected = scorer.score_rows(full).reshape(len(users), len(items))
    assert np.allclose(up.bias[:, None] + ip.bias[None, :] + up.vectors @ ip.vectors.T, expected)


@pytest.mark.parametrize("n_items,sample", [(40, 512), (3000, 64)], ids=["partial-sort", "sampled-threshold"])
def test_top_k_matches_a_full_sort_and_excludes(n_items, sample):
    rng = np.random.default_rng(1)
    from bunjang_lab.ranking.factors import Part

    users = Part(np.array([f"u{i}" for i in range(50)]), rng.normal(size=(50, 3)), rng.normal(size=50))
    items = Part(np.array([f"i{j}" for j in range(n_items)]), rng.normal(size=(n_items, 3)), rng.normal(size=n_items))
    top = top_k(users, items, 5, exclude={"u0": ["i3", "i4"]}, block_size=16, sample=sample)
    full = users.vectors @ items.vectors.T + items.bias
    full[0, [3, 4]] = -np.inf
    assert top.item_ids.tolist() == items.ids[np.argsort(-full, axis=1)[:, :5]].tolist()
    assert np.allclose(top.scores, np.sort(full, axis=1)[:, ::-1][:, :5] + users.bias[:, None], atol=1e-4)


def test_export_vectors_reproduce_scores_in_realtime(trained, split, tmp_path):
    scorer = trained[0]
    users, items = split.users[:3], split.candidates[:10]
    out = export_vectors(scorer, split.context, users, items, split.cutoff, tmp_path / "vectors")
    meta = json.loads((out / "meta.json").read_text())
    assert meta["k"] == scorer.k and meta["recent_params"]["half_life_hours"] > 0
    statics = pd.read_parquet(out / "users.parquet").set_index("user_id")
    item_table = pd.read_parquet(out / "items.parquet")
    factors = {k: list(v) for k, v in pd.read_parquet(out / "factors.parquet").itertuples(index=False)}
    states = F.recent_states(split.context.interactions).set_index("user_id")
    expected = scorer.user_parts(users, split.context, split.cutoff)
    for n, user in enumerate(users):
        state = states.loc[user] if user in states.index else {"recent_categories": None, "recent_items": None}
        vector = realtime.user_vector(statics.loc[user, "vector"], state["recent_categories"], state["recent_items"], factors)
        assert np.allclose(vector, expected.vectors[n], atol=1e-5)
        ranked = realtime.rerank(vector, zip(item_table["item_id"], item_table["vector"], item_table["bias"]))
        best = np.argsort(-(expected.vectors[n] @ np.stack(item_table["vector"]).T + item_table["bias"].to_numpy()))
        assert [i for i, _ in ranked[:3]] == item_table["item_id"].to_numpy()[best[:3]].tolist()


# ---------------------------------------------------------------- evaluation contract

def test_metrics_on_a_known_case():
    scores = np.array([[5.0, 4, 3, 2, 1], [1.0, 2, 3, 4, 5]])
    m = metrics_of(target_ranks(scores, [np.array([0]), np.array([0, 1])]))
    assert m["hr@10"].tolist() == [1.0, 1.0] and m["mrr"].tolist() == [1.0, 0.25]
    assert m["recall@20"].tolist() == [1.0, 1.0] and m["mrr@20"].tolist() == [1.0, 0.25]
    far = metrics_of(target_ranks(np.arange(30.0)[None, :], [np.array([0])]))  # ranked 30th of 30
    assert far["hr@20"][0] == 0 and far["mrr@20"][0] == 0 and far["mrr"][0] == pytest.approx(1 / 30)


def test_time_split_never_leaks_test_events(split, events):
    assert split.train["ts"].max() < split.cutoff
    assert (split.test["ts"] > split.cutoff).all()
    assert split.context.interactions["ts"].max() < split.cutoff
    assert set(split.cold_items) <= set(split.candidates)
    assert (split.requests["at"] == split.cutoff).all() and split.requests["user_id"].is_unique
    allowed = split.allowed(split.requests)
    for row, cols in enumerate(split.targets):
        assert len(cols) and allowed[row, cols].all()
    history = split.history(split.requests)
    assert (history["ts"] < split.cutoff).all()


@pytest.fixture(scope="module")
def next_split(events):
    return next_item(events, test_days=3)


def test_next_item_predicts_each_later_positive_from_what_came_before(next_split, events):
    s = next_split
    assert len(s.requests) > len(s.users) and (s.requests["at"] > s.cutoff).all()
    assert s.context.interactions["ts"].max() < s.cutoff  # models learn from before the cutoff only
    history = s.history(s.requests)
    at = s.requests["at"].to_numpy()[history["request"].to_numpy()]
    assert (history["ts"].to_numpy() < at).all()
    assert (history["ts"] > s.cutoff).any()  # events after the cutoff are context for later requests
    assert history["request"].nunique() == len(s.requests)  # every request has some history
    seen = set(zip(history["request"], history["item_id"]))
    for row, (cols, repeat) in enumerate(zip(s.targets, s.repeat)):
        assert [(row, item) in seen for item in s.candidates[cols]] == repeat.tolist()


def test_next_item_offers_only_what_could_be_bought_at_the_request(next_split):
    s = next_split
    ended = s.availability.reindex(s.candidates)["ended_at"]
    allowed = s.allowed(s.requests)
    at = s.requests["at"].to_numpy()
    sold = (ended.notna().to_numpy()[None, :]) & (ended.to_numpy()[None, :] <= at[:, None])
    assert sold.any() and not (allowed & sold).any()


def test_excluding_seen_items_leaves_only_new_targets(events):
    s = next_item(events, test_days=3, exclude_seen=True)
    assert not any(r.any() for r in s.repeat)
    history = s.history(s.requests)
    allowed = s.allowed(s.requests)
    cols = pd.Index(s.candidates).get_indexer(history["item_id"])
    assert not allowed[history["request"].to_numpy()[cols >= 0], cols[cols >= 0]].any()


def test_catalogue_candidates_are_the_training_items(events):
    s = time_split(events, test_days=3, candidates="catalogue")
    assert set(s.candidates) == set(s.context.interactions["item_id"]) and len(s.cold_items) == 0


MODELS = [RandomModel(), Popularity(days=3.0), SegmentPopularity(), RecentlyViewed(), FreshPreferred(), ItemKNN(neighbours=20),
          ImplicitModel("als", factors=8, iterations=3), ImplicitModel("bpr", factors=8, iterations=10),
          SessionKNN(), VSKNN(), SequentialRules(), EASE(), RP3beta(), FMModel(F.ID_FIELDS, name="fm-id-only", **FAST_FM),
          HybridFM(hard_negatives=5, random_negatives=3, **FAST_FM)]


@pytest.mark.parametrize("protocol", ["time-split", "next-item"])
@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.name)
def test_every_model_honours_the_contract(model, protocol, split, next_split):
    s = split if protocol == "time-split" else next_split
    assert isinstance(model, Recommender)
    assert model.fit(s) is model
    requests = s.requests.iloc[:4]
    scores = np.asarray(model.scores(requests))
    assert scores.shape == (4, len(s.candidates)) and np.isfinite(scores).all()
    allowed = s.allowed(requests)
    for row, items in enumerate(model.recommend(requests, 5)):
        assert 0 < len(items) <= 5 and len(set(items)) == len(items)
        assert allowed[row, pd.Index(s.candidates).get_indexer(items)].all()


def test_recently_viewed_ranks_the_latest_interaction_first(next_split):
    model = RecentlyViewed().fit(next_split)
    request = next_split.requests.iloc[[0]]
    history = next_split.history(request)
    history = history[history["item_id"].isin(next_split.candidates)]
    top = next_split.candidates[np.argmax(model.scores(request)[0])]
    assert len(history) and top == history.sort_values("ts")["item_id"].iloc[-1]


# ---------------------------------------------------------------- neighbourhood and graph models

def _click_split(sessions: list[list[str]], history: list[str], target: str, before: list[str] = ()):
    """A next-item split (catalogue candidates) from hand-written click sessions, one "user"
    each, an hour apart, a minute between clicks; user "u" clicks ``before`` in a session of
    their own before the cutoff and, after it, ``history`` then ``target``. Returns the
    split, the request whose history ends with all of ``history``, and a function giving
    that request's scores (item -> score) under a model."""
    t0 = pd.Timestamp("2026-01-01", tz="UTC")
    later = t0 + pd.Timedelta(days=10)
    rows = [dict(type="click", user_id=f"s{n}", item_id=item, category=None, ts=t0 + pd.Timedelta(hours=n, minutes=m))
            for n, session in enumerate(sessions) for m, item in enumerate(session)]
    rows += [dict(type="click", user_id="u", item_id=item, category=None, ts=t0 + pd.Timedelta(hours=len(sessions), minutes=m))
             for m, item in enumerate(before)]
    rows += [dict(type="click", user_id="u", item_id=item, category=None, ts=later + pd.Timedelta(minutes=m))
             for m, item in enumerate(history + [target])]
    s = next_item(pd.DataFrame(rows), test_days=1, cutoff=later - pd.Timedelta(hours=1), candidates="catalogue")
    request = s.requests[s.requests["at"] == s.requests["at"].max()]
    assert s.history(request)["item_id"].tolist() == list(before) + history

    def score(model):
        row = np.asarray(model.fit(s).scores(request))[0]
        assert np.isfinite(row).all() and row.shape == (len(s.candidates),)
        return dict(zip(s.candidates, row))

    return s, request, score


def test_session_knn_sums_the_cosine_of_the_most_recent_neighbours():
    # the session [a] against [a, b], [a, c], [a, b, d] (oldest first): cosines 1/√2, 1/√2, 1/√3
    _, _, score = _click_split([["a", "b"], ["a", "c"], ["a", "b", "d"], ["e", "e"]], ["a"], "b")
    s = score(SessionKNN())
    assert s["b"] > s["c"] > s["d"] > 1 > s["e"]  # b: 1/√2 + 1/√3; e shares nothing: tie-breaker only
    assert (s["b"] - 1) / (s["d"] - 1) == pytest.approx((2 ** -0.5 + 3 ** -0.5) / 3 ** -0.5)
    s = score(SessionKNN(sample_size=1))  # only the most recent session with a: [a, b, d]
    assert s["b"] == s["d"] > 1 > s["c"]
    s = score(SessionKNN(k=1))  # [a, b] and [a, c] tie: the more recent one wins
    assert s["c"] > 1 > s["b"]
    # the user's own earlier session [a, b] is no neighbour: only other sessions vote
    _, _, score = _click_split([["a", "c"]], ["a"], "c", before=["a", "b"])
    s = score(SessionKNN())
    assert s["c"] > 1 > s["b"]


def test_current_session_starts_after_the_last_long_gap(next_split):
    requests = next_split.requests.iloc[:50]
    whole = current_sessions(next_split, requests, None)
    cut = current_sessions(next_split, requests, 30)
    assert len(cut) < len(whole) and set(cut["request"]) == set(whole["request"])
    assert (cut.groupby("request")["position"].max() == cut.groupby("request")["length"].first()).all()
    gaps = cut.groupby("request")["ts"].apply(lambda ts: ts.diff().max())
    assert (gaps.dropna() <= pd.Timedelta(minutes=30)).all()


def test_vsknn_prefers_sessions_that_share_the_latest_item():
    # [x, p] shares the older click x, [y, q] the latest click y: plain SKNN cannot tell them apart
    _, _, score = _click_split([["x", "p"], ["y", "q"]], ["x", "y"], "p")
    plain = score(SessionKNN())
    assert plain["q"] == plain["p"] > 1
    for weighting in ("linear", "same", "div", "log", "quadratic"):
        s = score(VSKNN(weighting=weighting, idf_weighting=0))
        assert s["q"] > s["p"] > 1, weighting  # same weights still divide a vote by how far back it matched


def test_vsknn_idf_favours_neighbours_items_that_are_rare():
    sessions = [["a", "b", "c"]] + [["b", "z"]] * 5
    _, _, score = _click_split(sessions, ["a"], "b")  # b (6 clicks) and c (1 click) both follow a in one session
    assert score(VSKNN(idf_weighting=0))["b"] == score(VSKNN(idf_weighting=0))["c"]
    s = score(VSKNN(idf_weighting=1.0))
    assert s["c"] > s["b"] > 1


def test_sequential_rules_recommend_what_followed_the_last_item():
    sessions = [["a", "b", "f"], ["a", "b"], ["c", "e"], ["e"], ["e"], ["e"]]
    _, _, score = _click_split(sessions, ["c", "a"], "b")
    s = score(SequentialRules())
    # a -> b twice at distance 1, a -> f once at distance 2; what followed c (e) does not count
    assert s["b"] > s["f"] > 1 > s["e"] > s["c"]
    assert (s["f"] - 1) / (s["b"] - 1) == pytest.approx(0.5 / 2)
    assert score(SequentialRules(steps=1))["f"] < 1  # f is two steps after a


def test_ease_is_the_closed_form_on_the_co_occurrences():
    sessions = [["a", "b"]] * 4 + [["a", "c"]] + [["c", "d"]] * 3 + [["b", "d"]]
    s_split, request, score = _click_split(sessions, ["a"], "b")
    s = score(EASE(l2=1.0))
    assert max(s, key=s.get) == "b" and s["b"] > s["c"] > s["d"]
    items = sorted({i for session in sessions for i in session})
    X = np.array([[item in session for item in items] for session in sessions], dtype=float)
    P = np.linalg.inv(X.T @ X + np.eye(len(items)))
    B = np.eye(len(items)) - P / np.diag(P)[None, :]
    expected = np.array([[item == "a" for item in items]], dtype=float) @ B
    assert [s[item] for item in items] == pytest.approx(expected[0].tolist())
    narrow = EASE(max_items=2).fit(s_split)  # the two items with most users: a and b (5 each; c and d 4)
    assert narrow.weights_.shape == (2, 2) and np.isfinite(narrow.scores(request)).all()


def test_rp3beta_beta_lowers_popular_items():
    # a was clicked with the popular p once and with the rare r once
    sessions = [["a", "p"], ["a", "r"]] + [["p"]] * 6
    _, _, score = _click_split(sessions, ["a"], "p")
    plain = score(RP3beta(beta=0.0))
    assert plain["p"] == pytest.approx(plain["r"]) and plain["p"] > 1 > plain["a"]
    s = score(RP3beta(beta=0.6))
    assert s["r"] > s["p"] > 1


def test_new_models_search_spaces_are_usable(split):
    from bunjang_lab.ranking import tuning

    for model in (SessionKNN(), VSKNN(), SequentialRules(), EASE(), RP3beta()):
        space = model.search_space
        assert all(2 <= len(values) <= 3 for values in space.values())
        for params in tuning.settings(model, budget=3, seed=1):
            clone = model.with_params(**params)
            assert {name: clone.get_param(name) for name in space} == params and not hasattr(clone, "split_")


def test_models_learn_nothing_after_the_cutoff(split):
    after = split.after_cutoff
    model = Popularity().fit(split)
    counts = dict(zip(split.candidates, model.popularity_))
    train = split.context.interactions.groupby("item_id")["weight"].sum()
    checked = [item for item in after["item_id"].unique() if item in counts][:20]
    assert checked
    for item in checked:
        assert counts[item] == pytest.approx(train.get(item, 0))


class Oracle(Recommender):
    """Knows the targets: what a model that truly wins looks like."""

    name = "oracle"

    def scores(self, requests):
        out = np.zeros((len(requests), len(self.split_.candidates)))
        for row, request in enumerate(requests.index):
            out[row, self.split_.targets[request]] = 1.0
        return out


def test_a_real_win_has_its_interval_above_zero_and_a_tie_straddles_it(split):
    out = evaluate_models(split, [RandomModel(seed=1), RandomModel(seed=2), Oracle()], resamples=300)
    assert out["production"] == "oracle" and set(out["results"]["oracle"]) == set(METRICS)
    win = out["versus"]["random"]["ndcg@10"]
    assert win["low"] > 0 and win["low"] <= win["diff"] <= win["high"]
    tie = evaluate_models(split, [RandomModel(seed=1), RandomModel(seed=2).with_params(name="other-random")],
                          production="random", resamples=300)["versus"]["other-random"]["ndcg@10"]
    assert tie["low"] < 0 < tie["high"]  # two random rankings: no evidence either way
    out = evaluate_models(split, [RandomModel(seed=1), FMModel(name="fm", k=8, epochs=10)], resamples=200)
    assert out["results"]["fm"]["ndcg@10"] > out["results"]["random"]["ndcg@10"]
    assert {"repeat", "new"} & set(out) and out["targets"] == sum(len(t) for t in split.targets)


def test_tuning_chooses_on_a_window_before_the_cutoff(split):
    from bunjang_lab.ranking import tuning

    tuned, record = tuning.tune([Popularity(days=None), RandomModel()], split, budget=3)
    assert [type(m) for m in tuned] == [Popularity, RandomModel]
    assert len(record["popularity"]["tried"]) == 3 and record["popularity"]["chosen"] == {"days": tuned[0].days}
    assert "random" not in record  # nothing to search: no tries spent


def test_validation_windows_roll_back_from_the_cutoff_without_looking_past_it(split):
    from bunjang_lab.ranking import tuning

    windows = tuning.validation_windows(split, 2)
    assert len(windows) == 2 and windows[0] is split.earlier()  # the hybrid's ranking window shares it
    newest, older = windows
    assert pd.Timedelta(days=split.test_days) <= newest.cutoff - older.cutoff < pd.Timedelta(days=split.test_days + 1)
    for window in windows:
        assert window.test_days == split.test_days and len(window.requests)
        assert window.test["ts"].max() < split.cutoff and window.train["ts"].max() < window.cutoff
    assert older.test["ts"].max() < newest.cutoff < newest.test["ts"].min()  # one after the other, not overlapping
    assert len(tuning.validation_windows(split, 50)) < 50  # they stop where the events run out


def test_tuning_chooses_by_the_mean_over_the_windows(split):
    from bunjang_lab.ranking import tuning

    _, record = tuning.tune([Popularity(days=None)], split, budget=3, windows=2)
    tried = record["popularity"]["tried"]
    assert all(len(t["windows"]) == 2 and t["ndcg@10"] == pytest.approx(np.mean(t["windows"]), abs=1e-6) for t in tried)
    assert record["popularity"]["chosen"] == max(tried, key=lambda t: t["ndcg@10"])["params"]
    _, one = tuning.tune([Popularity(days=None)], split, budget=3, windows=1)
    assert [t["windows"][0] for t in one["popularity"]["tried"]] == [t["windows"][0] for t in tried]  # the newest window


# ---------------------------------------------------------------- train, gate and commands

@pytest.fixture(scope="module")
def lake(events, tmp_path_factory):
    from bunjang_lab.ingest import ingest_files

    folder = tmp_path_factory.mktemp("lake")
    records = events.assign(ts=(events["ts"] - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(milliseconds=1))
    path = folder / "events.jsonl"
    with open(path, "w", encoding="utf-8") as out:
        for record in records.to_dict("records"):
            clean = {k: int(v) if isinstance(v, float) else v for k, v in record.items()
                     if v is not None and not (isinstance(v, float) and np.isnan(v))}  # NaN columns made ints floats
            out.write(json.dumps(clean, ensure_ascii=False, default=int) + "\n")
    stats = ingest_files([path], folder / "lake", now=int(records["ts"].max()) + 10**9)
    assert stats["quarantined"] == 0, stats["by_reason"]
    return folder / "lake"


def test_train_writes_a_model_folder_and_moves_latest(lake, tmp_path):
    models = tmp_path / "models"
    first = train_model(lake, None, models, **FAST_FM)
    assert (models / "latest").resolve() == first.resolve()
    for name in ("model.xl", "model.txt", "feature_map.json", "meta.json"):
        assert (first / name).exists()
    meta = json.loads((first / "meta.json").read_text())
    assert meta["window"]["until"] and meta["metrics"]["rows"] > 0 and meta["timings"]["xlearn_s"] >= 0
    assert not list(first.glob("xlearn/*.txt*"))  # training files and .bin caches are cleaned up
    FMFactors.load(models / "latest")
    second = train_model(lake, None, models, promote=False, **FAST_FM)
    assert (models / "latest").resolve() == first.resolve()
    decision = promote_if_not_worse(second, models, lake, tolerance=1.0)
    assert decision["promoted"] and (models / "latest").resolve() == second.resolve()
    decision = promote_if_not_worse(first, models, lake, tolerance=-10.0)  # impossible bar: keeps the current model
    assert not decision["promoted"] and (models / "latest").resolve() == second.resolve()
    assert {"candidate_score", "current_score", "reason"} <= set(decision)
    evaluation = decision["evaluation"]  # the gate also ranks the candidate against the baselines
    assert {"candidate", "current", "popularity", "item-knn", "als", "bpr"} <= set(evaluation["results"])
    assert evaluation["results"]["candidate"]["ndcg@10"] == decision["candidate_score"]
    assert {"home", "related", "suggest"} <= set(evaluation["products"])


def _cli(*args):
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT / "src")}
    return subprocess.run([sys.executable, "-m", "bunjang_lab", *args], capture_output=True, text=True, env=env, timeout=300)


def test_cli_errors_are_one_line(tmp_path):
    result = _cli("evaluate", "--lake", str(tmp_path / "nope"))
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1 and "lake not found" in result.stderr
    result = _cli("train", "--lake", str(tmp_path / "nope"))
    assert result.returncode == 2 and "Traceback" not in result.stderr


def test_evaluate_cli_prints_the_issue_json(lake):
    result = _cli("evaluate", "--lake", str(lake), "--protocol", "next-item", "--json", "--epochs", "3", "--k", "4",
                  "--budget", "2", "--resamples", "100")
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert {"protocol", "users", "targets", "production", "results", "versus"} <= set(out)
    assert out["protocol"] == "next-item" and out["users"] > 0 and out["production"] == "fm-hybrid"
    fit = out["production_fit"]  # what was chosen for the production model, and what it learned
    assert set(fit) - {"chosen"} in ({"ranking_requests", "rows", "best_epoch"}, {"blend"})
    assert fit["chosen"] == out["tuning"]["fm-hybrid"]["chosen"] and fit["chosen"]["ranker"] in ("fm", "blend")
    assert 1 <= len(out["validation"]) <= 2 and all(w["cutoff"] < out["cutoff"] for w in out["validation"])
    models = {"random", "popularity", "popularity-segment", "recently-viewed", "fresh-preferred", "item-knn", "als", "bpr",
              "sknn", "v-sknn", "sequential-rules", "ease", "rp3beta", "fm-id-only", "fm", "fm-hybrid"}
    assert set(out["results"]) == models and set(out["versus"]) == models - {"fm-hybrid"}
    for metrics in out["results"].values():
        assert set(metrics) == set(METRICS) and all(0 <= v <= 1 for v in metrics.values())
    for diffs in out["versus"].values():
        assert set(diffs) == set(METRICS) - {"coverage"}
        assert all(d["low"] <= d["diff"] <= d["high"] for d in diffs.values())
    assert set(out["tuning"]["popularity"]) == {"tried", "chosen"}
    assert "ndcg@10" not in result.stderr and "tuning" not in result.stderr  # no progress lines in a log or a pipe


def test_evaluate_reports_the_steps_it_plans_for_a_bar(lake):
    from bunjang_lab.evaluation.offline import evaluate, planned_steps

    models, lines = [Popularity(), ItemKNN()], []
    evaluate(lake, models=models, budget=2, resamples=50, progress=lines.append)
    assert len(lines) == planned_steps(models, budget=2)  # the bar of `evaluate` ends full
    assert lines[0].startswith("lake read") and "tuning popularity: 2 of 2 settings tried" in lines
    assert lines[-2:] == ["models compared; evaluating the products", "products evaluated"]


def test_table_output_lists_every_model_the_verdicts_and_the_cold_section():
    from bunjang_lab.evaluation.offline import format_table

    metrics = dict.fromkeys(METRICS, 0.5)
    diff = {"diff": 0.1, "low": 0.05, "high": 0.15}
    text = format_table({"protocol": "time-split", "users": 3, "requests": 3, "targets": 5, "items": 9,
                         "cutoff": "2026-10-11", "production": "fm", "results": {"random": metrics, "fm": metrics},
                         "versus": {"random": dict.fromkeys(METRICS[:-1], diff)},
                         "cold": {"requests": 2, "targets": 4, "results": {"fm": metrics}}})
    lines = text.splitlines()
    assert any(line.startswith("fm ") for line in lines) and any(line.startswith("random") for line in lines)
    assert "cold items (listed after the cutoff): 2 requests, 4 targets" in text
    assert "+0.1000 [+0.0500, +0.1500]" in text and "win on ndcg@10" in text
    assert "{" not in text  # tables only, no JSON dump
    tuned = format_table({"protocol": "time-split", "users": 3, "requests": 3, "targets": 5, "items": 9,
                          "cutoff": "2026-10-11", "production": "fm", "results": {"fm": metrics},
                          "validation": [{"cutoff": "2026-10-08", "requests": 7}, {"cutoff": "2026-10-05", "requests": 6}],
                          "tuning": {"fm": {"chosen": {"k": 8}, "tried": [{"params": {"k": 8}, "ndcg@10": 0.3,
                                                                           "windows": [0.3, None]}]}}})
    assert "averaged over 2 validation windows" in tuned and "{'k': 8}: 0.3000 (0.3000, -)" in tuned


def test_top_k_ranks_again_users_whose_sampled_survivors_are_excluded():
    """Excluding a user's best items leaves fewer than k survivors above the sampled
    threshold: that user must be ranked again exactly, across several item tiles."""
    rng = np.random.default_rng(2)
    from bunjang_lab.ranking.factors import Part

    n_items = 5000
    users = Part(np.array([f"u{i}" for i in range(40)]), rng.normal(size=(40, 4)), rng.normal(size=40))
    items = Part(np.array([f"i{j}" for j in range(n_items)]), rng.normal(size=(n_items, 4)), rng.normal(size=n_items))
    full = users.vectors @ items.vectors.T + items.bias
    banned = np.argsort(-full[7])[:300]  # far more than survive the threshold
    full[7, banned] = -np.inf
    top = top_k(users, items, 10, exclude={"u7": items.ids[banned].tolist()}, block_size=16, tile=700, sample=100)
    assert top.item_ids.tolist() == items.ids[np.argsort(-full, axis=1)[:, :10]].tolist()
    assert np.allclose(top.scores, np.sort(full, axis=1)[:, ::-1][:, :10] + users.bias[:, None], atol=1e-4)


def test_fit_encode_counts_only_the_masked_rows_and_encodes_all(events):
    ctx = F.Context.from_events(events)
    items = ctx.items.index[:6]
    frame = F.item_frame(items, ctx.items["listed_at"].max(), ctx, {})
    counted = np.arange(len(frame)) < 3
    fields = ("item", "category", "freshness")
    fmap, X = F.FeatureMap.fit_encode([frame], fields, {}, realtime.DEFAULT_PARAMS, 1, counted=counted)
    expected = F.FeatureMap.fit([frame[counted]], fields, {}, realtime.DEFAULT_PARAMS, 1)
    assert fmap.keys == expected.keys
    assert f"item={items[0]}" in fmap.keys and f"item={items[4]}" not in fmap.keys
    assert (X != expected.encode(frame)).nnz == 0
    assert X.shape == (6, fmap.n_features)


# ---------------------------------------------------------------- the hybrid FM

def _clicks(*sessions):
    """Click events: one list of item ids per session, a minute apart; every item listed first."""
    rows, t0 = [], pd.Timestamp("2026-01-01", tz="UTC")
    items = sorted({i for s in sessions for i in s})
    rows += [dict(type="listing", ts=t0, user_id="shop", item_id=i, category="c", price=1000) for i in items]
    for n, session in enumerate(sessions):
        start = t0 + pd.Timedelta(hours=n + 1)
        rows += [dict(type="click", ts=start + pd.Timedelta(minutes=m), user_id=f"s{n}", item_id=i)
                 for m, i in enumerate(session)]
    return pd.DataFrame(rows)


def test_generators_read_recency_coviews_and_what_follows():
    from bunjang_lab.ranking.hybrid import Generators

    events = _clicks(["a", "b", "c"], ["a", "b"], ["b", "d"], ["a", "c"], ["c", "a", "b"])
    split = next_item(events, test_days=1 / 24, cutoff=events["ts"].max() - pd.Timedelta(minutes=0.5))
    gen = Generators().fit(split)
    assert split.candidates.tolist() == ["a", "b", "c", "d"] and len(split.requests) == 1  # the last session's "b"
    signals = gen.signals(split.requests, split.history(split.requests))
    assert signals["recent"][0].tolist() == [1.0, 0.0, 0.5, 0.0]  # "a" was last, "c" one step before
    assert np.argmax(signals["next"][0]) == 1  # after "a" comes "b" most often
    assert signals["coview"][0, 1] > signals["coview"][0, 3]  # "b" is co-viewed with a and c, "d" with neither
    assert signals["session"][0, 1] > 0 == signals["session"][0, 3]  # sessions with a and c went on to b, not d


def test_hybrid_settings_share_the_splits_generators_and_ranking_rows(next_split):
    from bunjang_lab.ranking.hybrid import HybridFM

    first = HybridFM(k=4, epochs=2, hard_negatives=5, random_negatives=3).fit(next_split)
    second = first.with_params(k=8).fit(next_split)
    assert second.generators_ is first.generators_  # the tuning's tries refit only the FM
    assert second.factors_.k == 8 and first.factors_.k == 4


def test_hybrid_signals_come_from_its_peers_as_tuned(next_split):
    from bunjang_lab.ranking.hybrid import HybridFM
    from bunjang_lab.ranking.neighbours import VSKNN
    from bunjang_lab.ranking.tuning import tune

    peer = VSKNN(k=7, weighting="quadratic")
    model = HybridFM(k=4, epochs=2, hard_negatives=5, random_negatives=3).with_peers([peer]).fit(next_split)
    assert (model.generators_.peer("session").k, model.generators_.peer("session").weighting) == (7, "quadratic")
    assert not hasattr(peer, "split_")  # the generators fit their own copy
    default = HybridFM(k=4, epochs=2, hard_negatives=5, random_negatives=3).fit(next_split)
    assert default.generators_.peer("session").k == 100 and default.generators_ is not model.generators_
    tuned, _ = tune([peer, HybridFM()], next_split, budget=1)  # one setting each: nothing fitted
    assert tuned[1].peers["session"] is peer


def test_blend_weights_find_the_component_that_ranks_the_targets():
    from bunjang_lab.ranking.hybrid import blend_weights

    rng = np.random.default_rng(0)
    targets = [np.array([r % 20]) for r in range(30)]
    telling = np.zeros((30, 20), dtype=np.float32)
    telling[np.arange(30), [t[0] for t in targets]] = 1.0
    components = np.stack([rng.normal(size=(30, 20)).astype(np.float32), telling + 0.01 * rng.normal(size=(30, 20))])
    weights = blend_weights(components, np.ones((30, 20), dtype=bool), targets)
    assert weights[1] > 0 and weights[0] == 0  # the noise would only push targets down


def test_hybrid_blend_scores_are_its_weighted_components(next_split):
    from bunjang_lab.ranking.hybrid import BLEND, HybridFM
    from bunjang_lab.ranking.tuning import settings

    model = HybridFM(ranker="blend").fit(next_split)
    requests = next_split.requests.iloc[:5]
    components = model.generators_.components(requests, next_split.history(requests))
    assert components.shape == (len(BLEND), 5, len(next_split.candidates)) and model.weights_.any()
    assert np.allclose(model.scores(requests), np.tensordot(model.weights_, components, axes=1), atol=1e-5)
    assert np.allclose(components.mean(axis=2), 0, atol=1e-4)  # standardised per request
    tries = settings(HybridFM(), budget=4)  # the blend has no fields: one try for it, not two
    assert [t["ranker"] for t in tries] == ["fm", "blend", "fm"] and len({repr(t) for t in tries}) == 3
    assert tries[1]["fields"] is None  # recorded as what it is: no fields


def test_hybrid_pair_terms_equal_the_fm_on_explicit_rows(next_split):
    from bunjang_lab.ranking.hybrid import CONTENT_FIELDS, PAIR_FIELDS, HybridFM, _pair_values, gap_buckets

    model = HybridFM(fields=CONTENT_FIELDS, k=4, epochs=4, hard_negatives=5, random_negatives=3).fit(next_split)
    requests = next_split.requests.iloc[:3]
    scores = model.scores(requests)
    history = next_split.history(requests)
    signals = model.generators_.signals(requests, history)
    gaps = gap_buckets(history, requests)
    cols = np.arange(min(7, len(next_split.candidates)))
    rows = pd.DataFrame([(u, at, next_split.candidates[c]) for u, at in zip(requests["user_id"], requests["at"]) for c in cols],
                        columns=["user_id", "ts", "item_id"])
    pairs = pd.DataFrame(_pair_values(signals, np.repeat(np.arange(len(requests)), len(cols)), np.tile(cols, len(requests)), gaps),
                         columns=list(PAIR_FIELDS))
    factors = model.factors_
    at = requests["at"].iloc[0]  # the first request's hour: compare rows of requests scored at that time
    same_hour = (requests["at"].dt.floor("h") == at.floor("h")).to_numpy()
    X = factors.feature_map.encode(F.user_frame(rows, model.context_, factors.feature_map.recent_params),
                                   F.item_frame(rows["item_id"], max(at.floor("h"), next_split.cutoff), model.context_,
                                                factors.feature_map.price_edges), pairs)
    explicit = factors.score_rows(X).reshape(len(requests), len(cols))
    assert np.allclose(scores[:, cols][same_hour], explicit[same_hour], atol=1e-4)


def test_train_cli_tells_the_gate_in_words_or_prints_json(lake, tmp_path):
    models = tmp_path / "models"
    words = _cli("train", "--lake", str(lake), "--out", str(models), "--epochs", "2", "--k", "4", "--gate")
    assert words.returncode == 0, words.stderr
    assert words.stdout.splitlines()[-1] == "gate: promoted to latest (no current model)" and "{" not in words.stdout
    record = _cli("train", "--lake", str(lake), "--out", str(models), "--epochs", "2", "--k", "4", "--gate", "--json")
    assert record.returncode == 0, record.stderr
    out = json.loads(record.stdout)
    assert out["metrics"]["rows"] > 0 and set(out["gate"]) >= {"promoted", "reason"}
