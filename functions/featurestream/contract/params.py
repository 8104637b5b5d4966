"""Fitted parameters: a small, versioned JSON artifact applied in plain Python.

``featurestream fit`` fits scikit-learn ``MinMaxScaler``s on the historical CSVs and writes
``params.json`` beside this module. At run time nothing here imports scikit-learn or pandas:
a min-max scaler is two numbers. The artifact's ``version`` is a content hash, so every record
can say exactly which parameters produced it.
"""

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any, Final

from featurestream.contract.timeutil import format_event_time, parse_timestamp

DEFAULT_PARAMS_PATH: Final = Path(__file__).with_name("params.json")
SCALED_FEATURES: Final = ("n_days_active", "purchase_amount", "n_days_since_last_purchase")


@dataclass(frozen=True)
class MinMax:
    """``MinMaxScaler`` with feature_range (0, 1): ``(x - min) / (max - min)``."""

    data_min: float
    data_max: float

    def scale(self, value: float) -> float:
        span = self.data_max - self.data_min
        if span == 0:  # scikit-learn maps a constant column to 0
            return 0.0
        return (value - self.data_min) / span


@dataclass(frozen=True)
class FittedParams:
    """Everything the transforms learned from history, with the time it was fitted as of."""

    version: str
    fitted_as_of: datetime
    scalers: dict[str, MinMax]
    fitted_on: dict[str, Any]

    def scaler(self, feature: str) -> MinMax:
        try:
            return self.scalers[feature]
        except KeyError:
            raise KeyError(f"params {self.version} have no scaler for {feature!r}") from None

    def to_json(self) -> str:
        document = {
            "version": self.version,
            "fitted_as_of": format_event_time(self.fitted_as_of),
            "scalers": {
                name: {"data_min": s.data_min, "data_max": s.data_max}
                for name, s in sorted(self.scalers.items())
            },
            "fitted_on": self.fitted_on,
        }
        return json.dumps(document, indent=2, sort_keys=True) + "\n"


def content_version(fitted_as_of: datetime, scalers: dict[str, MinMax]) -> str:
    """``minmax-<date>-<hash>``: equal parameters always get the same version."""
    canonical = json.dumps(
        {
            "fitted_as_of": format_event_time(fitted_as_of),
            "scalers": {k: [v.data_min, v.data_max] for k, v in sorted(scalers.items())},
        },
        sort_keys=True,
    )
    digest = hashlib.sha256(canonical.encode()).hexdigest()[:10]
    return f"minmax-{fitted_as_of:%Y%m%d}-{digest}"


def params_from_json(text: str, *, origin: str = "params") -> FittedParams:
    """Parse an artifact, checking it is complete and its version matches its content."""
    try:
        document = json.loads(text)
        scalers = {
            name: MinMax(float(v["data_min"]), float(v["data_max"]))
            for name, v in document["scalers"].items()
        }
        fitted_as_of = parse_timestamp(document["fitted_as_of"])
        version = str(document["version"])
    except json.JSONDecodeError as error:
        raise ValueError(
            f"{origin}: not JSON (line {error.lineno}, column {error.colno})"
        ) from None
    except KeyError as error:
        raise ValueError(f"{origin}: not a featurestream params artifact (no {error})") from None
    except (ValueError, TypeError):  # their messages quote the value: name the problem only
        raise ValueError(
            f"{origin}: not a featurestream params artifact (a scaler bound, the fit time or "
            "the version is not of the right type)"
        ) from None
    missing = [name for name in SCALED_FEATURES if name not in scalers]
    if missing:
        raise ValueError(f"{origin}: no scaler for {', '.join(missing)}")
    if version != content_version(fitted_as_of, scalers):
        raise ValueError(f"{origin}: version {version} does not match its content (edited?)")
    return FittedParams(version, fitted_as_of, scalers, dict(document.get("fitted_on", {})))


def load_params(path: Path | None = None) -> FittedParams:
    """The artifact at ``path``, or the one shipped with the library (read once per process)."""
    if path is None:
        return _load_default()
    return params_from_json(path.read_text(), origin=str(path))


@cache
def _load_default() -> FittedParams:
    return params_from_json(DEFAULT_PARAMS_PATH.read_text(), origin=str(DEFAULT_PARAMS_PATH))
