"""Trained fraud models on disk: ``models/fraud/<version>/`` and an atomically moved ``latest``.

A version folder holds ``text_model.json`` (the text classifier exported to plain arrays:
:mod:`bunjang_lab.fraud.text_model`), ``seller_anomaly.pkl`` (the pickled isolation forest,
read by the batch scan only; ``seller_anomaly.candidate.pkl`` beside it when the retraining's
seller gate kept production's) and ``meta.json`` (training data, parameters, metrics, gates).
Finding the latest version and reading the text model use the standard library only, and
nothing on the serving path unpickles.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from bunjang_lab import paths
from bunjang_lab.errors import ModelError

TEXT_MODEL_FILE = "text_model.json"
ANOMALY_FILE = "seller_anomaly.pkl"
CANDIDATE_ANOMALY_FILE = "seller_anomaly.candidate.pkl"  # a seller model its gate refused, kept beside
META_FILE = "meta.json"
LATEST = "latest"


def root(models_dir: str | os.PathLike | None = None) -> Path:
    """``<models>/fraud`` (``models_dir`` or :func:`bunjang_lab.paths.models_dir`)."""
    return Path(models_dir or paths.models_dir()) / "fraud"


def latest(models_dir: str | os.PathLike | None = None) -> Path | None:
    """The latest trained version folder, or None when nothing was trained yet."""
    link = root(models_dir) / LATEST
    return link.resolve() if (link / META_FILE).exists() else None


def save(models: dict[str, Any], meta: dict, models_dir: str | os.PathLike | None = None,
         make_latest: bool = True) -> Path:
    """Write a new version (``models``: ``{"classifier": ..., "anomaly": ..., "candidate_anomaly": ...}``,
    the fitted text classifier is stored as its export) and then, only once it is complete and
    ``make_latest``, point ``latest`` at it in one atomic rename (a candidate the gate refused
    is kept beside the others, not served)."""
    import datetime as dt

    from bunjang_lab import files  # writing only: scoring reads the latest version with paths alone

    base = root(models_dir)
    version = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
    folder = base / version
    folder.mkdir(parents=True)
    if models.get("classifier") is not None:
        (folder / TEXT_MODEL_FILE).write_text(json.dumps(models["classifier"].export(), ensure_ascii=False),
                                              encoding="utf-8")
    for name, file in (("anomaly", ANOMALY_FILE), ("candidate_anomaly", CANDIDATE_ANOMALY_FILE)):
        if models.get(name) is not None:
            import pickle

            with open(folder / file, "wb") as f:
                pickle.dump(models[name], f, protocol=pickle.HIGHEST_PROTOCOL)
    (folder / META_FILE).write_text(json.dumps({"version": version, **meta}, ensure_ascii=False, indent=2),
                                    encoding="utf-8")
    if make_latest:
        files.replace_symlink(base / LATEST, version)
    return folder


def versions(models_dir: str | os.PathLike | None = None) -> list[Path]:
    """Every complete version folder, oldest first (version names sort by time)."""
    base = root(models_dir)
    return sorted(p for p in base.iterdir() if p.name != LATEST and (p / META_FILE).exists()) if base.is_dir() else []


def rollback(models_dir: str | os.PathLike | None = None) -> dict:
    """Point ``latest`` back at the newest version older than it that was served (trained by
    ``fraud train``, or promoted by the retraining gate); ``{"from", "to"}``."""
    from bunjang_lab import files

    current = latest(models_dir)
    if current is None:
        raise ModelError(f"no fraud model in {root(models_dir)}: nothing to roll back")
    served = [v for v in versions(models_dir) if v.name < current.name and meta(v).get("gate", {}).get("promoted", True)]
    if not served:
        raise ModelError(f"no served fraud model older than {current.name} in {root(models_dir)}: cannot roll back")
    files.replace_symlink(root(models_dir) / LATEST, served[-1].name)
    return {"from": current.name, "to": served[-1].name}


def load_text_model(folder: str | os.PathLike):
    """The exported text classifier of a version folder
    (:class:`~bunjang_lab.fraud.text_model.TextModel`), or None."""
    from bunjang_lab.fraud.text_model import TextModel

    path = Path(folder) / TEXT_MODEL_FILE
    return TextModel.load(path) if path.exists() else None


def load_anomaly(folder: str | os.PathLike):
    """The pickled seller anomaly model of a version folder, or None (batch scans only)."""
    import pickle

    path = Path(folder) / ANOMALY_FILE
    if not path.exists():
        return None
    try:
        with open(path, "rb") as f:
            return pickle.load(f)
    except Exception as exc:  # unpickling can fail in many ways; all mean "retrain"
        raise ModelError(f"cannot read the fraud model {path} ({type(exc).__name__}: {exc}); "
                         "retrain it with `python -m bunjang_lab fraud train`") from None


def meta(folder: str | os.PathLike) -> dict:
    return json.loads((Path(folder) / META_FILE).read_text(encoding="utf-8"))
