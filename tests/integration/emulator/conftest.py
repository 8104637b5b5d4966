"""Clients and a feature-group factory for the emulator tests (boto3 over real HTTP)."""

from collections.abc import Callable
from typing import Any

import boto3
import pytest
from botocore.config import Config

from tests.integration.emulator.support import definitions

_NO_RETRY = Config(retries={"mode": "standard", "total_max_attempts": 1})


@pytest.fixture
def sm(featurestore_env: str) -> Any:
    """A plain sagemaker client: the endpoint comes from AWS_ENDPOINT_URL_SAGEMAKER."""
    return boto3.client("sagemaker", config=_NO_RETRY)


@pytest.fixture
def rt(featurestore_env: str) -> Any:
    return boto3.client("sagemaker-featurestore-runtime", config=_NO_RETRY)


@pytest.fixture
def make_group(sm: Any, unique_name: str) -> Callable[..., str]:
    """Create a group (customer-like by default) with a unique name; returns the name."""
    counter = iter(range(100))

    def make(
        features: dict[str, str] | None = None,
        record_id: str = "customer_id",
        event_time: str = "event_time",
        online: dict[str, Any] | None = None,
        offline: bool = True,
        suffix: str | None = None,
    ) -> str:
        name = f"{unique_name}-{suffix or next(counter)}"[:64].strip("-")
        features = features or {
            "customer_id": "String",
            "event_time": "String",
            "age": "Integral",
            "score": "Fractional",
            "city": "String",
        }
        kwargs: dict[str, Any] = {
            "FeatureGroupName": name,
            "RecordIdentifierFeatureName": record_id,
            "EventTimeFeatureName": event_time,
            "FeatureDefinitions": definitions(**features),
            "OnlineStoreConfig": online if online is not None else {"EnableOnlineStore": True},
            "RoleArn": "arn:aws:iam::123456789012:role/featurestore",
        }
        if offline:
            kwargs["OfflineStoreConfig"] = {"S3StorageConfig": {"S3Uri": "s3://offline-bucket/fs"}}
        sm.create_feature_group(**kwargs)
        return name

    return make
