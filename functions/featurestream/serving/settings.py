"""Run-time settings of the inference Lambda, read from the environment once per container.

Names are plain so the template, ``sam local``, ``featurestream invoke``/``serve`` and tests
set them the same way. Endpoints are not settings: boto3 reads ``AWS_ENDPOINT_URL_<SERVICE>``
itself (``..._SAGEMAKER_FEATURESTORE_RUNTIME``, ``..._SAGEMAKER_RUNTIME``).
"""

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

from featurestream.ingest.settings import ConfigError, positive_float, positive_int

MAX_RECORD_AGE_VARIABLES: Final = {
    "customers": "MAX_CUSTOMERS_RECORD_AGE_SECONDS",
    "orders": "MAX_ORDERS_RECORD_AGE_SECONDS",
}
"""Logical group → the variable holding its max record age (seconds; 0 = never stale)."""
DEFAULT_MAX_RECORD_AGE_SECONDS: Final[Mapping[str, float | None]] = {
    "customers": None,
    "orders": 7 * 24 * 3600.0,
}
"""A profile's event time is its last profile event, legitimately years old, so it is never
stale by default; the latest order should be at most a week old to be trusted. (An order
aggregate, customer-order-stats, is never stale: its event time is when it last changed,
and an old one is still exact.)"""
REQUIRED: Final = (
    "CUSTOMERS_FEATURE_GROUP_NAME",
    "ORDERS_FEATURE_GROUP_NAME",
    "MODEL_ENDPOINT_NAME",
)


@dataclass(frozen=True)
class InferenceSettings:
    """Where the features and the model live, how old a record may be, and client limits."""

    customers_feature_group: str
    orders_feature_group: str
    endpoint_name: str
    max_record_age_seconds: dict[str, float | None] = field(
        default_factory=lambda: dict(DEFAULT_MAX_RECORD_AGE_SECONDS)
    )
    """Logical group → seconds before its record is flagged stale; None = never stale."""
    store_max_attempts: int = 3
    store_connect_timeout: float = 1.0
    store_read_timeout: float = 2.0
    unprocessed_max_attempts: int = 4
    endpoint_max_attempts: int = 2
    endpoint_connect_timeout: float = 1.0
    endpoint_read_timeout: float = 5.0
    stats_feature_group: str | None = None
    """The customer-order-stats group, served by the features operation when set."""

    def __post_init__(self) -> None:
        groups = set(self.max_record_age_seconds)
        if groups != set(MAX_RECORD_AGE_VARIABLES):
            raise ConfigError(
                f"max_record_age_seconds must name exactly {sorted(MAX_RECORD_AGE_VARIABLES)}, "
                f"not {sorted(groups)}"
            )
        for group, limit in self.max_record_age_seconds.items():
            if limit is not None and not (math.isfinite(limit) and limit > 0):
                raise ConfigError(
                    f"max record age of {group} must be positive seconds or None: {limit!r}"
                )

    @property
    def feature_groups(self) -> dict[str, str]:
        """Logical group name (catalog) → deployed feature group name."""
        groups = {"customers": self.customers_feature_group, "orders": self.orders_feature_group}
        if self.stats_feature_group:
            groups["customer-order-stats"] = self.stats_feature_group
        return groups

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> "InferenceSettings":
        env = os.environ if environ is None else environ
        missing = [name for name in REQUIRED if not env.get(name)]
        if missing:
            raise ConfigError(f"missing environment variable(s): {', '.join(missing)}")
        return cls(
            customers_feature_group=env["CUSTOMERS_FEATURE_GROUP_NAME"],
            orders_feature_group=env["ORDERS_FEATURE_GROUP_NAME"],
            endpoint_name=env["MODEL_ENDPOINT_NAME"],
            max_record_age_seconds={
                group: _max_age(env, name, DEFAULT_MAX_RECORD_AGE_SECONDS[group])
                for group, name in MAX_RECORD_AGE_VARIABLES.items()
            },
            store_max_attempts=positive_int(env, "STORE_MAX_ATTEMPTS", 3),
            store_connect_timeout=positive_float(env, "STORE_CONNECT_TIMEOUT", 1.0),
            store_read_timeout=positive_float(env, "STORE_READ_TIMEOUT", 2.0),
            unprocessed_max_attempts=positive_int(env, "UNPROCESSED_MAX_ATTEMPTS", 4),
            endpoint_max_attempts=positive_int(env, "ENDPOINT_MAX_ATTEMPTS", 2),
            endpoint_connect_timeout=positive_float(env, "ENDPOINT_CONNECT_TIMEOUT", 1.0),
            endpoint_read_timeout=positive_float(env, "ENDPOINT_READ_TIMEOUT", 5.0),
            stats_feature_group=env.get("CUSTOMER_ORDER_STATS_FEATURE_GROUP_NAME") or None,
        )


def _max_age(env: Mapping[str, str], name: str, default: float | None) -> float | None:
    """Seconds, or None for "never stale": unset/empty → the default, 0 → None (as in the
    template, whose parameters are numbers with MinValue 0)."""
    text = env.get(name, "").strip()
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0:
        raise ConfigError(f"{name} must be a number of seconds >= 0 (0 = never stale): {text!r}")
    return value or None
