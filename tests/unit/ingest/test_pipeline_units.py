"""Unit tests: settings, PutRecord request shape and error outcomes, quarantine message,
per-key lanes (order within a key, concurrency across keys, deferral after a failure)."""

import base64
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import boto3
import pytest
from botocore.exceptions import ClientError, ReadTimeoutError
from botocore.stub import Stubber

from featurestream.config import ConfigError, Settings
from featurestream.kinesis_event import StreamPosition, kinesis_event
from featurestream.lanes import LanedBatchProcessor
from featurestream.quarantine import (
    MAX_PAYLOAD_BYTES,
    Quarantine,
    QuarantinedRecord,
    QuarantineUnavailable,
)
from featurestream.store import (
    FeatureStoreWriter,
    StoreRejected,
    TransientStoreError,
    classify,
    client_config,
)


def client_error(code, status, message="m"):
    return ClientError(
        {
            "Error": {"Code": code, "Message": message},
            "ResponseMetadata": {"HTTPStatusCode": status},
        },
        "PutRecord",
    )


def test_settings_from_env():
    settings = Settings.from_env(
        {"FEATURE_GROUP_NAME": "g", "QUARANTINE_QUEUE_URL": "q", "PUT_CONCURRENCY": "8"}
    )
    assert (settings.feature_group_name, settings.put_concurrency, settings.store_max_attempts) == (
        "g",
        8,
        4,
    )
    with pytest.raises(ConfigError, match="FEATURE_GROUP_NAME"):
        Settings.from_env({"QUARANTINE_QUEUE_URL": "q"})
    with pytest.raises(ConfigError, match="PUT_CONCURRENCY"):
        Settings.from_env(
            {"FEATURE_GROUP_NAME": "g", "QUARANTINE_QUEUE_URL": "q", "PUT_CONCURRENCY": "0"}
        )


def test_client_config_sizes_pool_and_retries():
    config = client_config(pool_size=48, max_attempts=5)
    assert config.max_pool_connections == 48
    assert config.retries == {"mode": "standard", "total_max_attempts": 5}


@pytest.mark.parametrize(
    ("error", "outcome"),
    [
        (client_error("ThrottlingException", 400), TransientStoreError),
        (client_error("ServiceUnavailable", 503), TransientStoreError),
        (client_error("InternalFailure", 500), TransientStoreError),
        (
            client_error(
                "ValidationError",
                400,
                "Resource Not Found: Amazon SageMaker can't find a FeatureGroup",
            ),
            TransientStoreError,
        ),
        (ReadTimeoutError(endpoint_url="http://x"), TransientStoreError),
        (client_error("ValidationError", 400, "Unknown feature x"), StoreRejected),
        (client_error("ValidationException", 400, "bad event time"), StoreRejected),
        (client_error("AccessForbidden", 403), StoreRejected),
    ],
)
def test_put_record_errors_are_classified(error, outcome):
    assert type(classify(error)) is outcome


def test_put_record_request_shape():
    client = boto3.client("sagemaker-featurestore-runtime", region_name="us-east-1")
    record = [{"FeatureName": "customer_id", "ValueAsString": "C1"}]
    with Stubber(client) as stub:
        stub.add_response("put_record", {}, {"FeatureGroupName": "g", "Record": record})
        stub.add_client_error("put_record", "ValidationError", "Unknown feature", 400)
        writer = FeatureStoreWriter(client, "g")
        assert writer.put(record) >= 0
        with pytest.raises(StoreRejected):
            writer.put(record)


def quarantined(payload=b"{bad"):
    return QuarantinedRecord(
        "payload is not valid JSON", payload, "arn:s", "shardId-1", "42", "C1", 1.5, "fn"
    )


def test_quarantine_message_shape_and_send_failure():
    client = boto3.client("sqs", region_name="us-east-1")
    with Stubber(client) as stub:
        stub.add_response(
            "send_message",
            {"MessageId": "1"},
            {
                "QueueUrl": "https://q",
                "MessageBody": json.dumps(quarantined().to_message(), separators=(",", ":")),
                "MessageAttributes": {
                    "reason": {"DataType": "String", "StringValue": "payload is not valid JSON"},
                    "shard_id": {"DataType": "String", "StringValue": "shardId-1"},
                },
            },
        )
        stub.add_client_error("send_message", "QueueDoesNotExist", "", 400)
        Quarantine(client, "https://q").send(quarantined())
        with pytest.raises(QuarantineUnavailable):
            Quarantine(client, "https://q").send(quarantined())
    message = quarantined().to_message()
    assert base64.b64decode(message["payload_base64"]) == b"{bad"
    assert (message["shard_id"], message["sequence_number"], message["partition_key"]) == (
        "shardId-1",
        "42",
        "C1",
    )
    big = quarantined(b"x" * (MAX_PAYLOAD_BYTES + 1)).to_message()
    assert big["payload_truncated"] is True
    assert big["payload_bytes"] == MAX_PAYLOAD_BYTES + 1


def run_lanes(entries, handler, workers=8):
    event = kinesis_event(entries, position=StreamPosition("s"), arrival=0.0)
    processor = LanedBatchProcessor(lambda r: r.kinesis.partition_key, ThreadPoolExecutor(workers))
    with processor(event["Records"], handler):
        processor.process()
    return event, processor.response()


def test_lanes_keep_key_order_and_run_keys_concurrently():
    seen: dict[str, list[bytes]] = {}
    active, peak, lock = [0], [0], threading.Lock()

    def handler(record):
        with lock:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
        time.sleep(0.01)
        seen.setdefault(record.kinesis.partition_key, []).append(record.kinesis.data_as_bytes())
        with lock:
            active[0] -= 1

    entries = [(f"K{i % 8}", str(i).encode()) for i in range(64)]
    _, response = run_lanes(entries, handler)
    assert response == {"batchItemFailures": []}
    for key, values in seen.items():
        assert values == [data for k, data in entries if k == key]
    assert peak[0] > 1


def test_a_failure_defers_the_rest_of_its_lane_only():
    calls = []

    def handler(record):
        calls.append(record.kinesis.data_as_bytes())
        if record.kinesis.data_as_bytes() == b"a2":
            raise RuntimeError("boom")

    event, response = run_lanes(
        [("A", b"a1"), ("B", b"b1"), ("A", b"a2"), ("A", b"a3"), ("B", b"b2")], handler
    )
    seqs = [r["kinesis"]["sequenceNumber"] for r in event["Records"]]
    assert response == {
        "batchItemFailures": [{"itemIdentifier": seqs[2]}, {"itemIdentifier": seqs[3]}]
    }
    assert b"a3" not in calls
    assert {b"b1", b"b2"} <= set(calls)
