"""Fit, evaluate and save the reorder model with scikit-learn.

A logistic regression: the planted signal (raw/README.md) is a logistic function of tenure,
age and the previous order's reorder flag, so a linear model on the library's features is
the right size; it pickles to about a kilobyte. The saved directory is exactly what goes
into SageMaker's ``model.tar.gz`` (see docs/inference.md):

* ``model.joblib``       the fitted estimator (loaded by ``model/code/inference.py``)
* ``feature_list.json``  the model contract (feature order, versions, metrics)
* ``code/inference.py``  the serving functions (kept in the repo, not written here)

The same contract is copied to ``functions/featurestream/contract/model_contract.json`` so the
inference Lambda builds vectors in the order this model was trained with.
"""

import hashlib
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import joblib  # type: ignore[import-untyped]
import numpy as np
import sklearn
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss, roc_auc_score

from featurestream.contract.model_contract import (
    TRAINING_WINDOW_KEY,
    ContractFeature,
    ModelContract,
)
from featurestream.contract.timeutil import format_event_time
from producers.files import write_replacing
from training.dataset import MODEL_FEATURES, TrainingRow

MODEL_FILE: Final = "model.joblib"
CONTRACT_FILE: Final = "feature_list.json"


@dataclass(frozen=True)
class Metrics:
    """Holdout scores of the model and of the label-frequency baseline."""

    rows_train: int
    rows_holdout: int
    roc_auc: float
    log_loss: float
    baseline_roc_auc: float
    baseline_log_loss: float
    positive_rate_train: float

    def to_dict(self) -> dict[str, float | int]:
        return {k: round(v, 6) if isinstance(v, float) else v for k, v in self.__dict__.items()}


@dataclass(frozen=True)
class TrainedModel:
    estimator: LogisticRegression
    contract: ModelContract
    metrics: Metrics


def _arrays(rows: Sequence[TrainingRow]) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray([row.features for row in rows], dtype=float)
    y = np.asarray([row.label for row in rows], dtype=int)
    return x, y


def fit_estimator(rows: Sequence[TrainingRow]) -> LogisticRegression:
    x, y = _arrays(rows)
    return LogisticRegression(max_iter=1000).fit(x, y)


def evaluate(
    estimator: LogisticRegression, train: Sequence[TrainingRow], holdout: Sequence[TrainingRow]
) -> Metrics:
    """Holdout ROC AUC and log loss, against predicting the training label frequency."""
    _, y_train = _arrays(train)
    x_hold, y_hold = _arrays(holdout)
    rate = float(y_train.mean())
    scores = estimator.predict_proba(x_hold)[:, 1]
    baseline = np.full(len(y_hold), rate)
    return Metrics(
        rows_train=len(train),
        rows_holdout=len(holdout),
        roc_auc=float(roc_auc_score(y_hold, scores)),
        log_loss=float(log_loss(y_hold, scores, labels=[0, 1])),
        baseline_roc_auc=float(roc_auc_score(y_hold, baseline)),
        baseline_log_loss=float(log_loss(y_hold, baseline, labels=[0, 1])),
        positive_rate_train=rate,
    )


def _pickled(estimator: LogisticRegression) -> bytes:
    buffer = io.BytesIO()
    joblib.dump(estimator, buffer)
    return buffer.getvalue()


def model_version(estimator: LogisticRegression, features: Sequence[ContractFeature]) -> str:
    """``reorder-lr-<hash>`` of the coefficients and feature list: same model, same version."""
    canonical = json.dumps(
        {
            "features": [f.to_dict() for f in features],
            "coef": [round(float(c), 12) for c in estimator.coef_.ravel()],
            "intercept": [round(float(c), 12) for c in estimator.intercept_.ravel()],
        },
        sort_keys=True,
    )
    return f"reorder-lr-{hashlib.sha256(canonical.encode()).hexdigest()[:10]}"


def train_model(
    train: Sequence[TrainingRow],
    holdout: Sequence[TrainingRow],
    *,
    params_version: str,
    trained_on: dict[str, Any],
    features: Sequence[ContractFeature] = MODEL_FEATURES,
) -> TrainedModel:
    """Fit on ``train``, score on ``holdout``, and describe the result as a contract."""
    estimator = fit_estimator(train)
    metrics = evaluate(estimator, train, holdout)
    contract = ModelContract(
        model_version=model_version(estimator, features),
        params_version=params_version,
        features=tuple(features),
        metadata={
            "estimator": "sklearn.linear_model.LogisticRegression",
            "sklearn_version": sklearn.__version__,
            "label": "is_reordered of the next order",
            "holdout": "customers whose numeric id is divisible by 5",
            "metrics": metrics.to_dict(),
            "trained_on": trained_on,
            TRAINING_WINDOW_KEY: label_window([*train, *holdout]),
        },
    )
    return TrainedModel(estimator, contract, metrics)


def label_window(rows: Sequence[TrainingRow]) -> dict[str, str]:
    """The first and last label time of ``rows``: the window ``featurestream monitor drift``
    takes as its default baseline (each row's features are as of its label time)."""
    times = [row.as_of for row in rows]
    return {
        "first_label_time": format_event_time(min(times)),
        "last_label_time": format_event_time(max(times)),
    }


def save_model(model: TrainedModel, model_dir: Path, lambda_contract: Path | None) -> list[Path]:
    """Write the estimator and its contract; also the Lambda's copy of the contract."""
    model_dir.mkdir(parents=True, exist_ok=True)
    written = [model_dir / MODEL_FILE, model_dir / CONTRACT_FILE]
    write_replacing(written[0], _pickled(model.estimator))  # whole or not at all
    write_replacing(written[1], model.contract.to_json())
    if lambda_contract is not None:
        write_replacing(lambda_contract, model.contract.to_json())
        written.append(lambda_contract)
    return written
