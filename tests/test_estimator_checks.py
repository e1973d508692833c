"""FMRanker, TextFraudClassifier and SellerAnomalyDetector against scikit-learn's estimator checks.

All the checks scikit-learn yields pass, so none is listed as expected to fail. The common
checks feed numeric arrays only, so for the text classifier (tagged, like scikit-learn's
vectorizers, as taking strings and no 2-d array) scikit-learn yields the clone check alone;
the tests below run the checks that need no data on it and test the rest of the contract
on texts.
"""

from __future__ import annotations

import os
import pickle
import shutil
import subprocess
import sys
import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from sklearn.base import clone
from sklearn.exceptions import DataConversionWarning, NotFittedError, SkipTestWarning
from sklearn.utils import estimator_checks
from sklearn.utils.estimator_checks import parametrize_with_checks

from bunjang_lab.errors import InvalidInput, ModelError
from bunjang_lab.fraud.anomaly import FEATURES, SellerAnomalyDetector
from bunjang_lab.fraud.classifier import TextFraudClassifier
from bunjang_lab.ranking.fm import FMRanker

# small settings keep the checks' hundred-odd fits to seconds; the FM still learns their blobs
CHECKED = [FMRanker(k=2, epochs=10, lr=0.2), SellerAnomalyDetector(n_estimators=20), TextFraudClassifier(cv=2)]


with warnings.catch_warnings():
    warnings.simplefilter("ignore", SkipTestWarning)  # the text classifier's, as the module docstring says
    with_each_check = parametrize_with_checks(CHECKED)


@with_each_check
def test_scikit_learn_estimator_checks(estimator, check):
    if getattr(check, "func", check).__name__ == "check_array_api_input":
        _check_array_api_dispatch(estimator, check.keywords)
    else:
        check(estimator)


def _check_array_api_dispatch(estimator, options):
    """scikit-learn runs this check only when SciPy's array API mode was switched on before
    SciPy was imported, which a test process cannot do any more: run it in a fresh one."""
    code = ("import pickle, sys; from sklearn.utils.estimator_checks import check_array_api_input;"
            "estimator, options = pickle.loads(sys.stdin.buffer.read());"
            "check_array_api_input(type(estimator).__name__, estimator, **options)")
    done = subprocess.run([sys.executable, "-c", code], input=pickle.dumps((estimator, options)), capture_output=True,
                          env={**os.environ, "SCIPY_ARRAY_API": "1"}, timeout=300)
    assert done.returncode == 0, done.stderr.decode(errors="replace")[-2000:]


# ---------------------------------------------------------------- the text classifier

TEXTS = ["카톡 ab1234 주세요", "선입금 부탁 국민 123456-78-901234", "네 내일 직거래 가능해요",
         "사진 더 보내드릴게요", "텔레그램 @deal99 연락", "택배비 포함이에요"] * 4
LABELS = ["scam", "scam", "ok", "ok", "scam", "ok"] * 4


@pytest.mark.parametrize("check", [
    estimator_checks.check_estimator_tags_renamed, estimator_checks.check_valid_tag_types,
    estimator_checks.check_estimator_repr, estimator_checks.check_no_attributes_set_in_init,
    estimator_checks.check_do_not_raise_errors_in_init_or_set_params, estimator_checks.check_mixin_order,
    estimator_checks.check_parameters_default_constructible, estimator_checks.check_get_params_invariance,
    estimator_checks.check_set_params,
], ids=lambda check: check.__name__)
def test_text_classifier_passes_the_checks_that_need_no_data(check):
    check("TextFraudClassifier", TextFraudClassifier())


def test_text_classifier_follows_the_classifier_contract_on_texts():
    model = TextFraudClassifier(cv=2)
    with pytest.raises(NotFittedError):
        model.predict(TEXTS)
    assert model.fit(TEXTS, LABELS) is model
    assert model.classes_.tolist() == ["ok", "scam"] and not hasattr(model, "n_features_in_")
    state = {name: id(value) for name, value in vars(model).items()}
    proba = model.predict_proba(TEXTS)
    predicted = model.predict(TEXTS)
    assert {name: id(value) for name, value in vars(model).items()} == state  # predicting changes nothing
    assert proba.shape == (len(TEXTS), 2) and np.allclose(proba.sum(axis=1), 1)
    assert predicted.tolist() == LABELS
    assert np.allclose(pickle.loads(pickle.dumps(model)).predict_proba(TEXTS), proba)
    assert np.allclose(clone(model).fit(TEXTS, LABELS).predict_proba(TEXTS), proba)
    with pytest.warns(DataConversionWarning):
        TextFraudClassifier(cv=2).fit(TEXTS, np.array(LABELS)[:, None])


@pytest.mark.parametrize("X, y, error, match", [
    (TEXTS, ["scam"] * len(TEXTS), ValueError, "class"),
    (TEXTS, [0, 1, 2] * 8, ValueError, "Only binary classification is supported"),
    (TEXTS, np.linspace(0, 1, len(TEXTS)), ValueError, "Unknown label type"),
    (TEXTS, LABELS[:-1], ValueError, "inconsistent numbers of samples"),
    ("카톡 ab1234 주세요", ["scam"], InvalidInput, "single string"),
    (np.array(TEXTS).reshape(-1, 2), LABELS[:12], InvalidInput, "one-dimensional"),
], ids=["one class", "three classes", "continuous", "lengths", "a string", "2-d"])
def test_text_classifier_refuses_what_scikit_learn_refuses(X, y, error, match):
    with pytest.raises(error, match=match):
        TextFraudClassifier(cv=2).fit(X, y)


# ---------------------------------------------------------------- the factorization machine

def _fm_rows():
    rng = np.random.default_rng(0)
    X = sp.csr_matrix(np.eye(6)[rng.integers(0, 6, 200)] + np.eye(6)[rng.integers(0, 6, 200)])
    return X, (X[:, :3].sum(axis=1).A.ravel() > 0).astype(int)


def test_fm_fit_leaves_no_folder_behind(isolated_home, tmp_path):
    X, y = _fm_rows()
    model = FMRanker(k=2, epochs=3).fit(X, y)
    model.xlearn_predict(X[:5])
    with pytest.raises(ModelError, match="Unknow optimization method"):  # xlearn's spelling
        FMRanker(opt="nope").fit(X, y)
    assert list((isolated_home / "xlearn").iterdir()) == []
    FMRanker(k=2, epochs=3, work_dir=tmp_path / "kept").fit(X, y)
    assert sorted(path.name for path in (tmp_path / "kept").iterdir()) == ["log", "model.txt", "model.xl", "xlearn.out"]


def test_fm_clones_sharing_a_work_dir_keep_their_own_models(tmp_path):
    X, y = _fm_rows()
    first = FMRanker(k=2, epochs=5, lr=0.2, work_dir=tmp_path / "shared").fit(X, y)
    second = clone(first).fit(X, 1 - y)
    assert (first.predict(X) == y).mean() > 0.9 and (second.predict(X) == 1 - y).mean() > 0.9
    restored = pickle.loads(pickle.dumps(first))
    shutil.rmtree(tmp_path / "shared")
    assert np.allclose(restored.xlearn_predict(X), first.decision_function(X), atol=1e-5)


def test_fm_labels_keep_their_type_and_validation_labels_must_be_known():
    X, y = _fm_rows()
    labels = np.where(y == 1, 7, -3)  # not 0/1: they used to be written as xlearn's labels as they were
    model = FMRanker(k=2, epochs=5, lr=0.2).fit(X, labels, X[:40], labels[:40])
    assert model.classes_.tolist() == [-3, 7] and (model.predict(X) == labels).mean() > 0.9
    with pytest.raises(InvalidInput, match="not in y"):
        FMRanker(k=2, epochs=1).fit(X, labels, X[:2], [7, 1])
    with pytest.raises(ValueError, match="expecting 6 features"):
        model.predict(X[:, :5])


# ---------------------------------------------------------------- the seller anomaly detector

def test_anomaly_contamination_is_the_outlier_share_and_columns_must_match():
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.lognormal(size=(200, len(FEATURES))), columns=list(FEATURES))
    auto = SellerAnomalyDetector(n_estimators=50).fit(X)
    assert auto.feature_names_in_.tolist() == list(FEATURES) and auto.n_features_in_ == len(FEATURES)
    assert np.array_equal(auto.predict(X) == -1, auto.anomaly_score(X) > 0.5)
    for share in (0.05, 0.2):
        detector = SellerAnomalyDetector(n_estimators=50, contamination=share).fit(X)
        assert (detector.predict(X) == -1).mean() == pytest.approx(share, abs=0.01)
        assert np.allclose(detector.anomaly_score(X), auto.anomaly_score(X))  # only the threshold moves
    with pytest.raises(ValueError, match="same order"):
        auto.anomaly_score(X[list(FEATURES)[::-1]])
    with pytest.raises(ValueError, match="missing"):
        auto.anomaly_score(X.drop(columns="image_reuse"))
    assert not hasattr(SellerAnomalyDetector(n_estimators=20).fit(X.to_numpy()), "feature_names_in_")
