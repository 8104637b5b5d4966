"""Run-time settings of the inference Lambda, read from the environment once per container.

Names are plain so the template, ``sam local``, ``featurestream invoke``/``serve`` and tests
set them the same way. Endpoints are not settings: boto3 reads ``AWS_ENDPOINT_URL_<SERVICE>``
itself (``..._SAGEMAKER_FEATURESTORE_RUNTIME``, ``..._SAGEMAKER_RUNTIME``).
"""

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from featurestream.config import ConfigError

DEFAULT_MAX_FEATURE_AGE_SECONDS: Final = 7 * 24 * 3600
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
    max_feature_age_seconds: float = DEFAULT_MAX_FEATURE_AGE_SECONDS
    store_max_attempts: int = 3
    store_connect_timeout: float = 1.0
    store_read_timeout: float = 2.0
    unprocessed_max_attempts: int = 4
    endpoint_max_attempts: int = 2
    endpoint_connect_timeout: float = 1.0
    endpoint_read_timeout: float = 5.0

    @property
    def feature_groups(self) -> dict[str, str]:
        """Logical group name (catalog) → deployed feature group name."""
        return {"customers": self.customers_feature_group, "orders": self.orders_feature_group}

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
            max_feature_age_seconds=_number(
                env, "MAX_FEATURE_AGE_SECONDS", DEFAULT_MAX_FEATURE_AGE_SECONDS
            ),
            store_max_attempts=int(_number(env, "STORE_MAX_ATTEMPTS", 3)),
            store_connect_timeout=_number(env, "STORE_CONNECT_TIMEOUT", 1.0),
            store_read_timeout=_number(env, "STORE_READ_TIMEOUT", 2.0),
            unprocessed_max_attempts=int(_number(env, "UNPROCESSED_MAX_ATTEMPTS", 4)),
            endpoint_max_attempts=int(_number(env, "ENDPOINT_MAX_ATTEMPTS", 2)),
            endpoint_connect_timeout=_number(env, "ENDPOINT_CONNECT_TIMEOUT", 1.0),
            endpoint_read_timeout=_number(env, "ENDPOINT_READ_TIMEOUT", 5.0),
        )


def _number(env: Mapping[str, str], name: str, default: float) -> float:
    text = env.get(name)
    if not text:
        return float(default)
    try:
        value = float(text)
    except ValueError:
        raise ConfigError(f"{name} must be a positive number: {text!r}") from None
    if value <= 0:
        raise ConfigError(f"{name} must be a positive number: {text!r}")
    return value
