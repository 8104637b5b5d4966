"""Small helpers shared by the emulator tests."""

from typing import Any


def definitions(**features: str) -> list[dict[str, str]]:
    return [{"FeatureName": n, "FeatureType": t} for n, t in features.items()]


def record(**values: str) -> list[dict[str, str]]:
    return [{"FeatureName": k, "ValueAsString": v} for k, v in values.items()]


def error_code(exc: Any) -> str:
    return str(exc.value.response["Error"]["Code"])
