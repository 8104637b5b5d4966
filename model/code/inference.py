"""Serving functions for SageMaker's scikit-learn container (and the local endpoint).

The container calls ``model_fn`` once, then per request ``input_fn`` → ``predict_fn`` →
``output_fn``. The local endpoint (``devstack/standins/model_endpoint``) imports this same file, so
the code tested locally is the code deployed.

Input: ``text/csv``, one row per customer, columns in ``feature_list.json`` order (the
inference Lambda builds rows by name from the same list). A row with the wrong number of
columns is refused rather than silently scored. Output: ``application/json``
``{"predictions": [...], "model_version": "..."}`` so the caller can check it talked to the
model whose feature order it used; or ``text/csv``, one probability per line.

Only numpy, joblib and scikit-learn: what the container image provides.
"""

from __future__ import annotations

import csv
import io
import json
import os
from dataclasses import dataclass
from typing import Any

import joblib
import numpy as np

MODEL_FILE = "model.joblib"
CONTRACT_FILE = "feature_list.json"
CSV = "text/csv"
JSON = "application/json"


class UnsupportedContentType(ValueError):
    """The request or accept type is not one this model speaks (the container answers 4xx)."""


@dataclass(frozen=True)
class LoadedModel:
    estimator: Any
    feature_names: tuple[str, ...]
    model_version: str


@dataclass(frozen=True)
class Prediction:
    probabilities: list[float]
    model_version: str


def model_fn(model_dir: str) -> LoadedModel:
    """Load the estimator and its feature list from the unpacked ``model.tar.gz``."""
    with open(os.path.join(model_dir, CONTRACT_FILE), encoding="utf-8") as handle:
        contract = json.load(handle)
    estimator = joblib.load(os.path.join(model_dir, MODEL_FILE))
    names = tuple(str(f["name"]) for f in contract["features"])
    if getattr(estimator, "n_features_in_", len(names)) != len(names):
        raise ValueError(
            f"{MODEL_FILE} expects {estimator.n_features_in_} features, list has {len(names)}"
        )
    return LoadedModel(estimator, names, str(contract["model_version"]))


def _media_type(value: str | None) -> str:
    return (value or "").split(";")[0].strip().lower()


def input_fn(request_body: str | bytes, request_content_type: str) -> np.ndarray:
    """Parse ``text/csv`` rows (or ``application/json`` ``{"instances": [[...]]}``)."""
    media = _media_type(request_content_type)
    text = request_body.decode("utf-8") if isinstance(request_body, bytes) else request_body
    if media == CSV:
        rows = [row for row in csv.reader(io.StringIO(text)) if row]
    elif media == JSON:
        rows = json.loads(text)["instances"]
    else:
        raise UnsupportedContentType(f"unsupported content type {request_content_type!r}")
    if not rows:
        raise ValueError("no rows to score")
    try:
        matrix = np.asarray(rows, dtype=float)
    except ValueError as error:
        raise ValueError(f"rows must be numbers of equal length ({error})") from None
    if matrix.ndim != 2 or not np.isfinite(matrix).all():
        raise ValueError("rows must be finite numbers of equal length")
    return matrix


def predict_fn(input_data: np.ndarray, model: LoadedModel) -> Prediction:
    """Probability of a reorder for each row; refuses rows of the wrong width."""
    width = len(model.feature_names)
    if input_data.shape[1] != width:
        raise ValueError(f"each row needs {width} columns ({', '.join(model.feature_names)})")
    probabilities = model.estimator.predict_proba(input_data)[:, 1]
    return Prediction([float(p) for p in probabilities], model.model_version)


def output_fn(prediction: Prediction, accept: str | None) -> tuple[str, str]:
    """Serialise as JSON (with the model version) or CSV; returns (body, content type)."""
    media = _media_type(accept) or JSON
    if media in (JSON, "*/*"):
        body = {"predictions": prediction.probabilities, "model_version": prediction.model_version}
        return json.dumps(body), JSON
    if media == CSV:
        return "".join(f"{p!r}\n" for p in prediction.probabilities), CSV
    raise UnsupportedContentType(f"unsupported accept type {accept!r}")
