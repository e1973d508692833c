"""A scikit-learn style estimator around xlearn's factorization machine.

xlearn only reads files: :class:`FMRanker` writes the sparse rows as libsvm text inside
``work_dir`` (so xlearn's ``.bin`` caches land there too), points xlearn's ``log`` there,
captures its console banner into ``xlearn.out`` and reads the text export back into
``bias_``, ``w_`` and ``V_``. ``work_dir=None`` uses a fresh folder under
``$BUNJANG_HOME/xlearn/`` (never /tmp). Each xlearn call runs in a forked child (see
:func:`_in_child`). Instance-wise normalisation is disabled so the
numpy scorer reproduces xlearn's predictions exactly (features are already weighted).

>>> import tempfile, numpy as np, scipy.sparse as sp
>>> X = sp.csr_matrix(np.eye(4)[[0, 1, 2, 3] * 10])
>>> y = np.array([1, 0, 1, 0] * 10)
>>> with tempfile.TemporaryDirectory() as run_folder:
...     model = FMRanker(k=2, epochs=5, lr=0.2, work_dir=run_folder).fit(X, y)
>>> bool(model.decision_function(X[:1])[0] > model.decision_function(X[1:2])[0])
True
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import re
import resource
import sys
import time
import uuid
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.base import BaseEstimator, ClassifierMixin

from bunjang_lab import paths


def _ensure_user() -> None:
    # xlearn aborts the whole process when USER is unset or empty (it names its log files after it).
    if not os.environ.get("USER"):
        os.environ["USER"] = "bunjang"


@contextlib.contextmanager
def _stdout_to(path: Path):
    """Send the C library's stdout (xlearn's banner and progress) to a file."""
    sys.stdout.flush()
    saved = os.dup(1)
    with open(path, "ab") as sink:
        os.dup2(sink.fileno(), 1)
        try:
            yield
        finally:
            sys.stdout.flush()
            os.dup2(saved, 1)
            os.close(saved)


def cpu_seconds() -> float:
    """CPU time of this process and its finished children (xlearn runs in a child)."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def _in_child(call, *args) -> None:
    """Run one xlearn call in a forked child process.

    xlearn sets up its logger once per process, so every later call would keep logging into
    the first call's folder; and it aborts the whole process on some bad inputs. A child per
    call keeps each run's logs in that run's folder and turns an abort into an error here.
    """
    child = multiprocessing.get_context("fork").Process(target=call, args=args)
    child.start()
    child.join()
    if child.exitcode != 0:
        raise RuntimeError(f"xlearn exited with code {child.exitcode}; its console output is in {args[0]}/xlearn.out")


def _fit_in(folder: Path, params: dict, validate: bool) -> None:
    import xlearn

    model = xlearn.create_fm()
    model.setTrain(str(folder / "train.txt"))
    if validate:
        model.setValidate(str(folder / "valid.txt"))
    else:
        model.setQuiet()  # quiet mode skips validation, hence early stopping (xlearn issue #95)
    model.disableNorm()
    model.setTXTModel(str(folder / "model.txt"))
    with _stdout_to(folder / "xlearn.out"):
        model.fit(params, str(folder / "model.xl"))


def _predict_in(folder: Path, test: Path, out: Path, params: dict) -> None:
    import xlearn

    model = xlearn.create_fm()
    model.setTest(str(test))
    model.disableNorm()
    model._set_Param(params)
    with _stdout_to(folder / "xlearn.out"):
        model.predict(str(folder / "model.xl"), str(out))


def write_libsvm(X: sp.csr_matrix, y, path: Path) -> None:
    """Rows as ``label idx:val ...`` (values with 7 significant digits).

    Each distinct column and value is formatted once (most values are 1); the file is then
    laid out as one array of those strings, placed by index arithmetic and joined once,
    so no Python code runs per entry."""
    X = sp.csr_matrix(X)
    n_rows = X.shape[0]
    lengths = np.diff(X.indptr)
    if (lengths == 0).any():  # xlearn segfaults on a line without features
        raise ValueError(f"row {np.flatnonzero(lengths == 0)[0]} has no features; every row needs at least one")
    y = np.zeros(n_rows) if y is None else np.asarray(y)
    inverse, values = pd.factorize(X.data.astype(np.float64))  # hashing: no sort of every entry
    # ":value" then a space, or a newline after the row's last entry
    value_text = np.array([f":{v:.7g}" for v in values.tolist()], dtype=object)
    value_text = np.concatenate([value_text + " ", value_text + "\n"])
    ends_row = np.zeros(X.nnz, dtype=np.int64)
    ends_row[X.indptr[1:] - 1] = len(values)
    column_text = np.array([str(i) for i in range(X.shape[1])], dtype=object)
    # row r is its label then (column, value) pairs: it starts at 2 * indptr[r] + r
    rows = np.arange(n_rows)
    entry_at = 2 * np.arange(X.nnz) + np.repeat(rows, lengths) + 1
    pieces = np.empty(n_rows + 2 * X.nnz, dtype=object)
    labels, label_values = pd.factorize(y.astype(int))
    pieces[2 * X.indptr[:-1] + rows] = np.array([f"{label} " for label in label_values.tolist()], dtype=object)[labels]
    pieces[entry_at] = column_text[X.indices]
    pieces[entry_at + 1] = value_text[inverse + ends_row]
    with open(path, "w", encoding="ascii") as out:
        out.write("".join(pieces.tolist()))


def read_text_model(path: Path, n_features: int | None = None):
    """(bias, w (n,), V (n, k)) from xlearn's FM text export, zero-padded to ``n_features``."""
    bias, w, v = 0.0, {}, {}
    with open(path, encoding="ascii") as lines:
        for line in lines:
            name, _, rest = line.partition(":")
            if name == "bias":
                bias = float(rest)
            elif name.startswith("i_"):
                w[int(name[2:])] = float(rest)
            elif name.startswith("v_"):
                v[int(name[2:])] = [float(x) for x in rest.split()]
    n = max(n_features or 0, len(w))
    k = len(next(iter(v.values()))) if v else 0
    weights, factors = np.zeros(n), np.zeros((n, k))
    for i, value in w.items():
        weights[i] = value
    for i, row in v.items():
        factors[i] = row
    return bias, weights, factors


class FMRanker(ClassifierMixin, BaseEstimator):
    """Factorization machine (xlearn, binary log-loss) on sparse rows.

    Parameters are xlearn's: ``k`` factors, ``lr``, ``reg_lambda`` (L2), ``epochs`` (upper
    bound), ``stop_window`` (early stopping on the validation rows passed to :meth:`fit`),
    ``opt`` ("adagrad", "sgd" or "ftrl"), ``n_threads``; ``work_dir`` keeps the files.
    """

    def __init__(self, k=16, lr=0.1, reg_lambda=2e-4, epochs=30, stop_window=3, opt="adagrad",
                 init=0.5, n_threads=1, work_dir=None):
        self.k = k
        self.lr = lr
        self.reg_lambda = reg_lambda
        self.epochs = epochs
        self.stop_window = stop_window
        self.opt = opt
        self.init = init
        self.n_threads = n_threads
        self.work_dir = work_dir

    def _dir(self) -> Path:
        folder = Path(self.work_dir) if self.work_dir else paths.home() / "xlearn" / uuid.uuid4().hex[:12]
        (folder / "log").mkdir(parents=True, exist_ok=True)
        return folder

    def fit(self, X, y, X_valid=None, y_valid=None):
        """Train on (X, y); with validation rows, stop when their loss stops improving."""
        _ensure_user()
        folder = self._dir()
        started, cpu_started = time.perf_counter(), time.process_time()
        write_libsvm(X, y, folder / "train.txt")
        if X_valid is not None:
            write_libsvm(X_valid, y_valid, folder / "valid.txt")
        self.write_seconds_ = time.perf_counter() - started
        self.write_cpu_seconds_ = time.process_time() - cpu_started
        params = {"task": "binary", "metric": "auc", "k": int(self.k), "lr": float(self.lr), "lambda": float(self.reg_lambda),
                  "epoch": int(self.epochs), "stop_window": int(self.stop_window), "opt": self.opt, "init": float(self.init),
                  "nthread": int(self.n_threads), "log": str(folder / "log" / "xlearn")}
        started, cpu_started = time.perf_counter(), cpu_seconds()
        _in_child(_fit_in, folder, params, X_valid is not None)
        self.xlearn_seconds_ = time.perf_counter() - started
        self.xlearn_cpu_seconds_ = cpu_seconds() - cpu_started
        self.work_dir_ = folder
        stopped = re.search(r"Early-stopping at epoch (\d+)", (folder / "xlearn.out").read_text(errors="replace"))
        self.best_epoch_ = int(stopped.group(1)) if stopped else int(self.epochs)
        self.n_features_in_ = X.shape[1]
        self.classes_ = np.array([0, 1])
        self.bias_, self.w_, self.V_ = read_text_model(folder / "model.txt", X.shape[1])
        return self

    def decision_function(self, X) -> np.ndarray:
        """Raw FM scores from the learned parameters (numpy; equals xlearn's predict)."""
        X = sp.csr_matrix(X)
        xv = X @ self.V_
        pairs = 0.5 * (np.square(xv).sum(axis=1) - (X.multiply(X) @ np.square(self.V_)).sum(axis=1))
        return self.bias_ + X @ self.w_ + np.asarray(pairs).ravel()

    def predict_proba(self, X) -> np.ndarray:
        p = 1.0 / (1.0 + np.exp(-self.decision_function(X)))
        return np.column_stack([1 - p, p])

    def predict(self, X) -> np.ndarray:
        return (self.decision_function(X) > 0).astype(int)

    def xlearn_predict(self, X) -> np.ndarray:
        """Scores computed by xlearn itself from the binary model (slow; for checks and benchmarks)."""
        _ensure_user()
        name = uuid.uuid4().hex[:8]
        test, out = self.work_dir_ / f"predict-{name}.txt", self.work_dir_ / f"predict-{name}.out"
        write_libsvm(X, None, test)
        _in_child(_predict_in, self.work_dir_, test, out, {"log": str(self.work_dir_ / "log" / "predict"), "nthread": int(self.n_threads)})
        scores = np.loadtxt(out, ndmin=1)
        for leftover in (test, out, Path(f"{test}.bin")):
            leftover.unlink(missing_ok=True)
        return scores
