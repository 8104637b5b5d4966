"""The contract suite's target: the local emulator (default) or a real AWS account.

``FEATURESTREAM_CONTRACT_TARGET=aws`` runs the same tests against the account and region
boto3 finds (environment, profile, SSO...). Every feature group the suite needs is created
once per session under a unique ``fs-contract-<hex>-`` name and deleted at the end of the
session, whether the tests passed or failed (docs/emulator.md, "Contract tests").
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

TARGET_ENV = "FEATURESTREAM_CONTRACT_TARGET"
TARGETS = ("emulator", "aws")
_NO_RETRY = Config(retries={"mode": "standard", "total_max_attempts": 1})
_ENDPOINT_ENV = (
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_SAGEMAKER",
    "AWS_ENDPOINT_URL_SAGEMAKER_FEATURESTORE_RUNTIME",
)
_CREATE_TIMEOUT_S = 900  # an InMemory group takes 10-15 minutes on AWS; the others far less

# name -> (record id, event time, OnlineStoreConfig) of the groups the tests use
GROUPS: dict[str, dict[str, Any]] = {
    "standard": {"EnableOnlineStore": True},
    "standard-v2": {"EnableOnlineStore": True, "StorageType": "Standard_V2"},
    "default-ttl": {"EnableOnlineStore": True, "TtlDuration": {"Unit": "Days", "Value": 7}},
}
DEFINITIONS = [
    {"FeatureName": "customer_id", "FeatureType": "String"},
    {"FeatureName": "event_time", "FeatureType": "String"},
    {"FeatureName": "age", "FeatureType": "Integral"},
    {"FeatureName": "score", "FeatureType": "Fractional"},
    {"FeatureName": "city", "FeatureType": "String"},
]


def target_name() -> str:
    return os.environ.get(TARGET_ENV, "emulator").strip().lower() or "emulator"


@pytest.fixture(autouse=True)
def aws_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """Overrides the suite-wide dummy credentials: against AWS the real ones must stay."""
    if target_name() == "aws":
        return
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.delenv("AWS_PROFILE", raising=False)


@dataclass
class Target:
    """Clients for one target and the feature groups the session made there."""

    name: str
    sm: Any
    rt: Any
    expiry_grace_s: float  # how long an expired record may stay readable
    prefix: str = field(default_factory=lambda: f"fs-contract-{uuid.uuid4().hex[:10]}")
    created: dict[str, str] = field(default_factory=dict)

    def group(self, kind: str) -> str:
        """The session's group of this kind, created (and waited for) on first use."""
        if kind not in self.created:
            name = f"{self.prefix}-{kind}"
            self.sm.create_feature_group(
                FeatureGroupName=name,
                RecordIdentifierFeatureName="customer_id",
                EventTimeFeatureName="event_time",
                FeatureDefinitions=DEFINITIONS,
                OnlineStoreConfig=GROUPS[kind],
                Description="featurestream contract test group; deleted when the run ends",
            )
            self.created[kind] = name  # registered before waiting: cleanup covers it
            self._wait_created(name)
        return self.created[kind]

    def _wait_created(self, name: str) -> None:
        deadline = time.monotonic() + _CREATE_TIMEOUT_S
        while True:
            described = self.sm.describe_feature_group(FeatureGroupName=name)
            status = described["FeatureGroupStatus"]
            if status == "Created":
                return
            if status != "Creating":
                pytest.fail(f"feature group {name} is {status}: {described.get('FailureReason')}")
            if time.monotonic() > deadline:
                pytest.fail(f"feature group {name} still Creating after {_CREATE_TIMEOUT_S} s")
            time.sleep(5)

    def delete_all(self) -> list[str]:
        """Delete every group this session created; the names that could not be deleted."""
        failed = []
        for name in self.created.values():
            try:
                self.sm.delete_feature_group(FeatureGroupName=name)
            except ClientError as error:
                if error.response["Error"]["Code"] != "ResourceNotFound":
                    failed.append(name)
        return failed


def _aws_target() -> Target:
    for variable in _ENDPOINT_ENV:
        if os.environ.get(variable):
            pytest.fail(
                f"{TARGET_ENV}=aws but {variable} is set: the clients would reach that "
                "endpoint instead of AWS; unset it"
            )
    session = boto3.Session()
    try:
        credentials = session.get_credentials()
    except BotoCoreError as error:
        pytest.skip(f"{TARGET_ENV}=aws but AWS credentials could not be loaded: {error}")
    if credentials is None:
        pytest.skip(f"{TARGET_ENV}=aws but no AWS credentials are configured")
    if not session.region_name:
        pytest.skip(f"{TARGET_ENV}=aws but no AWS region is configured (AWS_REGION)")
    try:
        sts_config = Config(connect_timeout=10, read_timeout=10, retries={"total_max_attempts": 1})
        session.client("sts", config=sts_config).get_caller_identity()
    except (BotoCoreError, ClientError) as error:
        pytest.skip(f"{TARGET_ENV}=aws but the AWS credentials do not work: {error}")
    return Target(
        "aws",
        session.client("sagemaker", config=_NO_RETRY),
        session.client("sagemaker-featurestore-runtime", config=_NO_RETRY),
        expiry_grace_s=180.0,
    )


@pytest.fixture(scope="session")
def target(request: pytest.FixtureRequest) -> Iterator[Target]:
    name = target_name()
    if name not in TARGETS:
        pytest.fail(f"{TARGET_ENV} must be one of {', '.join(TARGETS)}")
    if name == "aws":
        made = _aws_target()
    else:
        endpoint = request.getfixturevalue("featurestore_emulator")
        kwargs = {
            "endpoint_url": endpoint,
            "region_name": "us-east-1",
            "aws_access_key_id": "testing",
            "aws_secret_access_key": "testing",
            "config": _NO_RETRY,
        }
        made = Target(
            "emulator",
            boto3.client("sagemaker", **kwargs),
            boto3.client("sagemaker-featurestore-runtime", **kwargs),
            expiry_grace_s=10.0,
        )
    try:
        yield made
    finally:
        failed = made.delete_all()
        if failed:
            pytest.fail(f"contract cleanup could not delete: {', '.join(failed)}")


@pytest.fixture
def rid(request: pytest.FixtureRequest) -> str:
    """A record identifier no other test uses (groups are shared within a session)."""
    return f"{request.node.name[:40]}-{uuid.uuid4().hex[:8]}"
