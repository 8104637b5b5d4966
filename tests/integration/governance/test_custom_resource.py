"""The FeatureMetadata custom resource handler against the emulator.

CloudFormation's side is a tiny local HTTP server standing in for the pre-signed
ResponseURL: every test checks the one PUT the handler sends (status, reason, ids, data).
"""

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import boto3
import pytest

from devstack.stack.lambda_context import LocalContext
from featurestream.contract.catalog import FEATURE_GROUPS
from featurestream.governance.metadata import catalog_hash
from handlers import feature_metadata
from tests.integration.governance.test_apply_and_search import create_group, metadata

STACK_ID = "arn:aws:cloudformation:us-east-1:123456789012:stack/featurestream/abc"


@dataclass
class ResponseUrl:
    """Captures PUTs the way the pre-signed S3 URL would receive them."""

    url: str
    puts: list[dict[str, Any]] = field(default_factory=list)

    def only_response(self) -> dict[str, Any]:
        assert len(self.puts) == 1, self.puts
        return self.puts[0]


@pytest.fixture
def response_url() -> Iterator[ResponseUrl]:
    captured: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_PUT(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            captured.append(
                {
                    "path": self.path,
                    "content_type": self.headers.get("Content-Type"),
                    "body": json.loads(body),
                }
            )
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield ResponseUrl(
            f"http://127.0.0.1:{server.server_port}/bucket/key?X-Amz-Signature=s", captured
        )
    finally:
        server.shutdown()
        server.server_close()


def lambda_context(remaining_ms: int = 60_000) -> LocalContext:
    """The context of an invocation with ``remaining_ms`` left before its timeout, in a
    log stream named as Lambda names them (the failure reason points to it)."""
    context = LocalContext.for_function(
        "featurestream-feature-metadata", timeout_seconds=remaining_ms / 1000
    )
    context.log_stream_name = "2026/01/01/[$LATEST]abc"
    return context


def cfn_event(request_type: str, url: str, groups: Any, **extra: Any) -> dict[str, Any]:
    event = {
        "RequestType": request_type,
        "ResponseURL": url,
        "StackId": STACK_ID,
        "RequestId": f"request-{request_type}",
        "LogicalResourceId": "FeatureMetadata",
        "ResourceType": "Custom::FeatureMetadata",
        "ResourceProperties": {
            "ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:fm",
            "FeatureGroups": groups,
            "CatalogHash": catalog_hash(),
        },
    }
    event.update(extra)
    return event


@pytest.fixture
def groups(featurestore_env, unique_name, monkeypatch) -> dict[str, str]:
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")
    client = boto3.client("sagemaker")
    prefix = unique_name[:40].rstrip("-_") + "-"
    names = {spec.name: prefix + spec.name for spec in FEATURE_GROUPS}
    for spec in FEATURE_GROUPS:
        create_group(client, names[spec.name], spec)
    return names


def test_create_applies_the_catalog_and_responds_success(groups, response_url):
    feature_metadata.lambda_handler(cfn_event("Create", response_url.url, groups), lambda_context())
    put = response_url.only_response()
    assert put["path"] == "/bucket/key?X-Amz-Signature=s"
    assert put["content_type"] == ""
    body = put["body"]
    assert body["Status"] == "SUCCESS"
    assert body["StackId"] == STACK_ID
    assert body["RequestId"] == "request-Create"
    assert body["LogicalResourceId"] == "FeatureMetadata"
    assert body["PhysicalResourceId"] == f"{STACK_ID}/FeatureMetadata"
    assert body["Data"] == {"CatalogHash": catalog_hash(), "Calls": "32", "ChangedFeatures": "32"}
    assert "32 feature(s) changed" in body["Reason"]
    client = boto3.client("sagemaker")
    for spec in FEATURE_GROUPS:
        for feature in spec.features:
            assert metadata(client, groups[spec.name], feature.name) == (
                feature.description,
                feature.metadata_parameters(),
            )


def test_update_converges_keeps_the_physical_id_and_is_idempotent(groups, response_url):
    client = boto3.client("sagemaker")
    feature_metadata.handle(cfn_event("Create", response_url.url, groups), lambda_context())
    client.update_feature_metadata(
        FeatureGroupName=groups["orders"],
        FeatureName="order_id",
        ParameterAdditions=[{"Key": "stale", "Value": "yes"}],
    )
    update = cfn_event(
        "Update",
        response_url.url,
        groups,
        PhysicalResourceId="existing-id",
        OldResourceProperties={"FeatureGroups": groups, "CatalogHash": "old"},
    )
    assert feature_metadata.handle(update, lambda_context()) == "SUCCESS"
    body = response_url.puts[-1]["body"]
    assert body["PhysicalResourceId"] == "existing-id"
    assert body["Data"]["Calls"] == "1"
    assert "stale" not in metadata(client, groups["orders"], "order_id")[1]
    assert feature_metadata.handle(update, lambda_context()) == "SUCCESS"
    assert response_url.puts[-1]["body"]["Data"]["Calls"] == "0"


def test_create_against_missing_groups_responds_failed_with_the_reason(
    featurestore_env, response_url
):
    event = cfn_event("Create", response_url.url, {"customers": "nope-c", "orders": "nope-o"})
    assert feature_metadata.handle(event, lambda_context()) == "FAILED"
    body = response_url.only_response()["body"]
    assert body["Status"] == "FAILED"
    assert "ResourceNotFound" in body["Reason"]
    assert "log stream 2026/01/01/[$LATEST]abc" in body["Reason"]
    assert body["PhysicalResourceId"] == f"{STACK_ID}/FeatureMetadata"


@pytest.mark.parametrize(
    ("properties", "reason"),
    [
        ({}, "property FeatureGroups"),
        ({"FeatureGroups": {"payments": "x"}}, "not catalogued feature group"),
    ],
)
def test_bad_properties_fail(featurestore_env, response_url, properties, reason):
    event = cfn_event("Create", response_url.url, None)
    event["ResourceProperties"] = properties
    assert feature_metadata.handle(event, lambda_context()) == "FAILED"
    assert reason in response_url.only_response()["body"]["Reason"]


def test_unknown_request_type_fails(featurestore_env, response_url):
    assert (
        feature_metadata.handle(cfn_event("Upsert", response_url.url, {}), lambda_context())
        == "FAILED"
    )
    assert "unknown RequestType" in response_url.only_response()["body"]["Reason"]


@pytest.mark.parametrize(
    "groups_property", [{"customers": "gone-c", "orders": "gone-o"}, None, "not a map"]
)
def test_delete_always_succeeds_and_calls_nothing(response_url, groups_property):
    class NoCalls:
        def __getattr__(self, name: str) -> Any:
            raise AssertionError(f"Delete called {name}")

    event = cfn_event("Delete", response_url.url, groups_property, PhysicalResourceId="pid")
    assert feature_metadata.handle(event, lambda_context(), client=NoCalls()) == "SUCCESS"
    body = response_url.only_response()["body"]
    assert body["Status"] == "SUCCESS"
    assert body["PhysicalResourceId"] == "pid"


def test_running_out_of_time_responds_failed_once(groups, response_url):
    class SlowClient:
        def __init__(self) -> None:
            self.real = boto3.client("sagemaker")

        def describe_feature_group(self, **kwargs: Any) -> Any:
            time.sleep(1.5)
            return self.real.describe_feature_group(**kwargs)

        def __getattr__(self, name: str) -> Any:
            return getattr(self.real, name)

    context = lambda_context(remaining_ms=int((feature_metadata.TIMEOUT_MARGIN_SECONDS + 1) * 1000))
    event = cfn_event("Create", response_url.url, {"orders": groups["orders"]})
    assert feature_metadata.handle(event, context, client=SlowClient()) == "FAILED"
    body = response_url.only_response()["body"]
    assert body["Status"] == "FAILED"
    assert "timed out" in body["Reason"]


def test_unreachable_response_url_does_not_raise(featurestore_env):
    event = cfn_event("Delete", "http://127.0.0.1:9/unreachable", {}, PhysicalResourceId="p")
    assert feature_metadata.handle(event, lambda_context()) is None


def test_reason_is_truncated_so_the_response_fits(response_url, featurestore_env):
    class Exploding:
        def describe_feature_group(self, **kwargs: Any) -> Any:
            raise RuntimeError("x" * 10_000)

    event = cfn_event("Create", response_url.url, {"orders": "o"})
    assert feature_metadata.handle(event, lambda_context(), client=Exploding()) == "FAILED"
    put = response_url.only_response()
    assert len(json.dumps(put["body"])) < 4096
    assert put["body"]["Reason"].startswith("RuntimeError: xxx")
