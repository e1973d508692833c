"""A scikit-learn classifier around xlearn's factorization machine.

xlearn only reads files: each :meth:`FMRanker.fit` writes the sparse rows as libsvm text
into a fresh scratch folder of its own (xlearn puts its ``.bin`` caches, logs and console
output there too), runs xlearn, reads the text export back into ``bias_``, ``w_`` and
``V_``, keeps xlearn's binary model in memory (``xlearn_model_``) and deletes the folder,
so clones fitted at the same time never share files and a fitted model needs no disk.
``work_dir`` only names a folder to keep a copy of the last fit's model files, logs and
console output in. Scratch folders live in ``work_dir`` or else ``$BUNJANG_HOME/xlearn/``
(never /tmp: training files can be large). Each xlearn call runs in a forked child (see
:func:`_in_child`). Instance-wise normalisation is disabled so the numpy scorer
reproduces xlearn's predictions exactly (features are already weighted).

>>> import numpy as np, scipy.sparse as sp
>>> X = sp.csr_matrix(np.eye(4)[[0, 1, 2, 3] * 10])
>>> y = np.array(["click", "skip"] * 20)
>>> model = FMRanker(k=2, epochs=5, lr=0.2).fit(X, y)
>>> model.classes_.tolist(), model.predict(X[:2]).tolist()
(['click', 'skip'], ['click', 'skip'])
>>> bool(model.decision_function(X[:1])[0] < 0 < model.decision_function(X[1:2])[0])
True
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import re
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.special import expit
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data

from bunjang_lab import paths
from bunjang_lab.estimators import binary_target
from bunjang_lab.errors import InvalidInput, ModelError

# float32 rows stay float32 (no copy of a large training matrix); anything else becomes float64
FLOAT_DTYPES = (np.float64, np.float32)
ANSI_COLOUR = re.compile(r"\x1b\[[0-9;]*m")  # xlearn colours its console output


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


@contextlib.contextmanager
def _scratch_folder(parent: Path | None):
    """A new folder for one xlearn run, deleted on exit (``parent`` defaults to ``$BUNJANG_HOME/xlearn``)."""
    parent = parent or paths.home() / "xlearn"
    parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="fm-", dir=parent, ignore_cleanup_errors=True) as folder:
        (Path(folder) / "log").mkdir()
        yield Path(folder)


def _keep_files(folder: Path, keep: Path) -> None:
    """Move a finished run's model, text export, console output and logs into ``keep``
    (the training files and their caches stay behind, to be deleted with ``folder``)."""
    (keep / "log").mkdir(exist_ok=True)
    for name in ("model.xl", "model.txt", "xlearn.out"):
        os.replace(folder / name, keep / name)
    for log in (folder / "log").iterdir():  # xlearn names each log after its host, time and process
        os.replace(log, keep / "log" / log.name)


def cpu_seconds() -> float:
    """CPU time of this process and its finished children (xlearn runs in a child)."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def _in_child(call, folder: Path, output: str, *args) -> None:
    """Run one xlearn call in a forked child process, which must write ``folder / output``.

    xlearn sets up its logger once per process, so every later call would keep logging into
    the first call's folder; and it ends the whole process on bad inputs or arguments (with
    an error code, or 0 after printing the error). A child per call keeps each run's logs in
    that run's folder and turns such an end into an error here, quoting the end of the
    console output (the folder is deleted afterwards).
    """
    child = multiprocessing.get_context("fork").Process(target=call, args=(folder, *args))
    child.start()
    child.join()
    if child.exitcode != 0 or not (folder / output).exists():
        console = folder / "xlearn.out"
        text = ANSI_COLOUR.sub("", console.read_text(errors="replace")) if console.exists() else ""
        last_lines = " | ".join([line.strip() for line in text.splitlines() if line.strip()][-3:])
        raise ModelError(f"xlearn failed (exit code {child.exitcode}, no {output})" + (f": {last_lines}" if last_lines else ""))


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


def _predict_in(folder: Path, params: dict) -> None:
    import xlearn

    model = xlearn.create_fm()
    model.setTest(str(folder / "test.txt"))
    model.disableNorm()
    model._set_Param(params)
    with _stdout_to(folder / "xlearn.out"):
        model.predict(str(folder / "model.xl"), str(folder / "scores.txt"))


def write_libsvm(X: sp.csr_matrix, y, path: Path) -> None:
    """Rows as ``label idx:val ...`` (values with 7 significant digits); ``y`` holds 0/1
    labels, or None for rows to score.

    xlearn crashes on a line without features, so an empty row gets the entry
    ``<n_columns>:0`` (a column past the last, with value 0): it adds nothing to the score
    and xlearn ignores it when predicting.

    Each distinct column and value is formatted once (most values are 1); the file is then
    laid out as one array of those strings, placed by index arithmetic and joined once,
    so no Python code runs per entry.

    >>> import io, tempfile, pathlib
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = pathlib.Path(folder) / "rows.txt"
    ...     write_libsvm(sp.csr_matrix(np.array([[0.5, 0], [0, 0]])), [1, 0], path)
    ...     print(path.read_text(), end="")
    1 0:0.5
    0 2:0
    """
    X = sp.csr_matrix(X)
    n_rows = X.shape[0]
    lengths = np.diff(X.indptr)
    empty = lengths == 0
    if empty.any():
        lengths = lengths + empty
        is_entry = np.repeat(~empty, lengths)
        indices, data = np.full(lengths.sum(), X.shape[1]), np.zeros(lengths.sum())
        indices[is_entry], data[is_entry] = X.indices, X.data
        X = sp.csr_matrix((data, indices, np.concatenate([[0], np.cumsum(lengths)])), shape=(n_rows, X.shape[1] + 1))
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


def xlearn_scores(model: bytes, X, n_threads: int = 1) -> np.ndarray:
    """Raw scores of the rows ``X`` computed by xlearn itself from its binary ``model``
    (slow; for checks and benchmarks), in a scratch folder deleted afterwards."""
    _ensure_user()
    with _scratch_folder(None) as folder:
        (folder / "model.xl").write_bytes(model)
        write_libsvm(X, None, folder / "test.txt")
        _in_child(_predict_in, folder, "scores.txt", {"log": str(folder / "log" / "predict"), "nthread": int(n_threads)})
        return np.loadtxt(folder / "scores.txt", ndmin=1)


class FMRanker(ClassifierMixin, BaseEstimator):
    """Factorization machine (xlearn, binary log-loss) on sparse rows.

    Parameters are xlearn's: ``k`` factors, ``lr``, ``reg_lambda`` (L2), ``epochs`` (upper
    bound), ``stop_window`` (early stopping on the validation rows passed to :meth:`fit`),
    ``opt`` ("adagrad", "sgd" or "ftrl"), ``init`` (scale of the random factors),
    ``n_threads``; ``work_dir`` is a folder to keep a copy of the last fit's files in
    (``model.xl``, ``model.txt``, ``xlearn.out`` and ``log/``), None to keep none.

    The labels may be of any type (``classes_``); ``classes_[1]`` is the positive class:
    :meth:`decision_function` is the FM score for it and :meth:`predict_proba` its sigmoid.
    Fitted, it also holds ``best_epoch_``, the times spent writing the training files and in
    xlearn (``write_seconds_``, ``xlearn_seconds_`` and their ``_cpu_seconds_``) and
    ``work_dir_`` (``work_dir`` as a path, or None).
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

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.classifier_tags.multi_class = False
        return tags

    def _rows(self, X, reset: bool):
        return validate_data(self, X, reset=reset, accept_sparse="csr", dtype=FLOAT_DTYPES)

    def fit(self, X, y, X_valid=None, y_valid=None):
        """Train on (X, y); with validation rows, stop when their loss stops improving."""
        X, y = validate_data(self, X, y, accept_sparse="csr", dtype=FLOAT_DTYPES)
        self.classes_, y_codes = binary_target(y)
        validate = X_valid is not None
        if validate != (y_valid is not None):
            raise InvalidInput("pass both X_valid and y_valid, or neither")
        if validate:
            X_valid = self._rows(X_valid, reset=False)
            y_valid = column_or_1d(y_valid, warn=True)
            if len(y_valid) != X_valid.shape[0]:
                raise InvalidInput(f"X_valid has {X_valid.shape[0]} rows but y_valid {len(y_valid)} labels")
            unknown = ~np.isin(y_valid, self.classes_)
            if unknown.any():
                raise InvalidInput(f"y_valid holds labels not in y: {np.unique(y_valid[unknown])[:5].tolist()}")
        keep = Path(self.work_dir) if self.work_dir else None
        _ensure_user()
        with _scratch_folder(keep) as folder:
            started, cpu_started = time.perf_counter(), time.process_time()
            write_libsvm(X, y_codes, folder / "train.txt")
            if validate:
                write_libsvm(X_valid, np.searchsorted(self.classes_, y_valid), folder / "valid.txt")
            self.write_seconds_ = time.perf_counter() - started
            self.write_cpu_seconds_ = time.process_time() - cpu_started
            params = {"task": "binary", "metric": "auc", "k": int(self.k), "lr": float(self.lr),
                      "lambda": float(self.reg_lambda), "epoch": int(self.epochs), "stop_window": int(self.stop_window),
                      "opt": self.opt, "init": float(self.init), "nthread": int(self.n_threads),
                      "log": str(folder / "log" / "xlearn")}
            started, cpu_started = time.perf_counter(), cpu_seconds()
            _in_child(_fit_in, folder, "model.txt", params, validate)
            self.xlearn_seconds_ = time.perf_counter() - started
            self.xlearn_cpu_seconds_ = cpu_seconds() - cpu_started
            stopped = re.search(r"Early-stopping at epoch (\d+)", (folder / "xlearn.out").read_text(errors="replace"))
            self.best_epoch_ = int(stopped.group(1)) if stopped else int(self.epochs)
            # the export has one more row when empty rows needed write_libsvm's extra column
            bias, w, V = read_text_model(folder / "model.txt", self.n_features_in_)
            self.bias_, self.w_, self.V_ = bias, w[: self.n_features_in_], V[: self.n_features_in_]
            self.xlearn_model_ = (folder / "model.xl").read_bytes()
            if keep is not None:
                _keep_files(folder, keep)
        self.work_dir_ = keep
        return self

    def decision_function(self, X) -> np.ndarray:
        """Raw FM scores from the learned parameters (numpy; equals xlearn's predict)."""
        check_is_fitted(self)
        X = sp.csr_matrix(self._rows(X, reset=False))
        xv = X @ self.V_
        pairs = 0.5 * (np.square(xv).sum(axis=1) - (X.multiply(X) @ np.square(self.V_)).sum(axis=1))
        return self.bias_ + X @ self.w_ + np.asarray(pairs).ravel()

    def predict_proba(self, X) -> np.ndarray:
        p = expit(self.decision_function(X))
        return np.column_stack([1 - p, p])

    def predict(self, X) -> np.ndarray:
        positive = self.decision_function(X) > 0
        return self.classes_[positive.astype(int)]

    def xlearn_predict(self, X) -> np.ndarray:
        """Scores computed by xlearn itself from the binary model (slow; for checks and benchmarks)."""
        check_is_fitted(self)
        return xlearn_scores(self.xlearn_model_, self._rows(X, reset=False), self.n_threads)

