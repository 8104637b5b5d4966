"""Helpers the contract tests share; nothing here knows which target it talks to."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

# The service spells its validation error both ways: runtime ValidationError is modeled,
# ValidationException is what SageMaker's control plane (and some runtime paths) send.
VALIDATION_CODES = ("ValidationError", "ValidationException")


def record(**values: str) -> list[dict[str, str]]:
    return [{"FeatureName": k, "ValueAsString": v} for k, v in values.items()]


def get(target: Any, group: str, rid: str, **kwargs: Any) -> dict[str, str] | None:
    """The online record as {feature: value}, or None when GetRecord returns none."""
    response = target.rt.get_record(
        FeatureGroupName=group, RecordIdentifierValueAsString=rid, **kwargs
    )
    if "Record" not in response:
        return None
    return {fv["FeatureName"]: fv["ValueAsString"] for fv in response["Record"]}


def error(call: Any, *args: Any, **kwargs: Any) -> tuple[str, int, str]:
    """(code, HTTP status, message) of a call that must fail."""
    with pytest.raises(ClientError) as exc:
        call(*args, **kwargs)
    response = exc.value.response
    return (
        response["Error"]["Code"],
        response["ResponseMetadata"]["HTTPStatusCode"],
        response["Error"].get("Message", ""),
    )


def iso(moment: datetime) -> str:
    """An event time in the String format with milliseconds."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def now_ms() -> datetime:
    moment = datetime.now(UTC)
    return moment - timedelta(microseconds=moment.microsecond % 1000)
