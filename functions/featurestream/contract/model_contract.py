"""The model contract: which features, from which group, in which order the model expects.

``featurestream train`` saves it beside the model (``model/feature_list.json``) and as
``model_contract.json`` here, so the inference Lambda ships the exact list the model was
trained with. Vectors are built by name from this list, never by the position of whatever
the store returned. A feature may declare a ``default``; only then may a missing value be
filled in, so nothing is invented that the model's owner did not decide.
"""

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache, cached_property
from pathlib import Path
from typing import Any, Final

DEFAULT_CONTRACT_PATH: Final = Path(__file__).with_name("model_contract.json")
TRAINING_WINDOW_KEY: Final = "training_window"
"""Metadata key: the first and last label time of the training set (drift's baseline)."""
GROUPS: Final = ("customers", "orders", "customer-order-stats")


@dataclass(frozen=True)
class ContractFeature:
    """One model input: the feature's catalog name, its group, and an optional default."""

    name: str
    group: str
    default: float | None = None

    def to_dict(self) -> dict[str, Any]:
        document: dict[str, Any] = {"name": self.name, "group": self.group}
        if self.default is not None:
            document["default"] = self.default
        return document


class MissingFeatures(LookupError):
    """Values the model needs are absent and the contract declares no default for them."""

    def __init__(self, missing: Sequence[ContractFeature]) -> None:
        self.missing = tuple(missing)
        names = ", ".join(f"{f.group}.{f.name}" for f in self.missing)
        super().__init__(f"missing feature values: {names}")

    @property
    def groups(self) -> tuple[str, ...]:
        return tuple(sorted({f.group for f in self.missing}))


@dataclass(frozen=True)
class ModelContract:
    """What the model was trained with: its version, the params version and the features."""

    model_version: str
    params_version: str
    features: tuple[ContractFeature, ...]
    metadata: Mapping[str, Any] = field(default_factory=dict)

    @property
    def feature_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.features)

    def training_window(self) -> tuple[datetime, datetime] | None:
        """The first and last label time of the rows the model was trained and evaluated on
        (None for a manifest written before ``featurestream train`` recorded them)."""
        from featurestream.contract.timeutil import parse_timestamp

        window = self.metadata.get(TRAINING_WINDOW_KEY)
        if not isinstance(window, Mapping):
            return None
        return parse_timestamp(window["first_label_time"]), parse_timestamp(
            window["last_label_time"]
        )

    def groups(self) -> tuple[str, ...]:
        return tuple(g for g in GROUPS if any(f.group == g for f in self.features))

    @cached_property
    def _keys(self) -> tuple[tuple[str, str], ...]:
        return tuple((f.group, f.name) for f in self.features)

    def vector(self, values: Mapping[str, Mapping[str, Any]]) -> list[float]:
        """The model input from ``{group: {feature: value}}``, in contract order.

        Raises :class:`MissingFeatures` listing every absent value without a default.
        """
        try:  # every value present: the common case, one pass
            return [float(values[group][name]) for group, name in self._keys]
        except (KeyError, TypeError):
            pass  # something absent or None: fill declared defaults, report the rest
        vector: list[float] = []
        missing: list[ContractFeature] = []
        for feature in self.features:
            value = values.get(feature.group, {}).get(feature.name)
            if value is None:
                value = feature.default
            if value is None:
                missing.append(feature)
                continue
            vector.append(float(value))
        if missing:
            raise MissingFeatures(missing)
        return vector

    def to_json(self) -> str:
        document = {
            "model_version": self.model_version,
            "params_version": self.params_version,
            "features": [f.to_dict() for f in self.features],
            "metadata": dict(self.metadata),
        }
        return json.dumps(document, indent=2, sort_keys=True) + "\n"


def contract_from_json(text: str, *, origin: str = "model contract") -> ModelContract:
    """Parse and check a contract: known groups, no duplicate names, numeric defaults."""
    try:
        document = json.loads(text)
        features = tuple(
            ContractFeature(
                str(item["name"]),
                str(item["group"]),
                None if item.get("default") is None else float(item["default"]),
            )
            for item in document["features"]
        )
        contract = ModelContract(
            str(document["model_version"]),
            str(document["params_version"]),
            features,
            dict(document.get("metadata", {})),
        )
    except (ValueError, KeyError, TypeError) as error:
        raise ValueError(f"{origin}: not a model contract ({error})") from error
    if not features:
        raise ValueError(f"{origin}: lists no features")
    unknown = sorted({f.group for f in features} - set(GROUPS))
    if unknown:
        raise ValueError(f"{origin}: unknown feature group(s) {', '.join(unknown)}")
    names = [f.name for f in features]
    if len(set(names)) != len(names):
        raise ValueError(f"{origin}: duplicate feature names")
    return contract


def load_contract(path: Path | None = None) -> ModelContract:
    """The contract at ``path``, or the one shipped with the Lambda (read once per process)."""
    if path is None:
        return _load_default()
    return contract_from_json(path.read_text(), origin=str(path))


@cache
def _load_default() -> ModelContract:
    return contract_from_json(DEFAULT_CONTRACT_PATH.read_text(), origin=str(DEFAULT_CONTRACT_PATH))
