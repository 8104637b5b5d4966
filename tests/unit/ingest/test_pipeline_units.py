"""Unit tests: settings, store error outcomes, quarantine message, and the whole-batch
processor (outcomes → Powertools' partial-batch response)."""

import base64
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import boto3
import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError
from botocore.exceptions import ClientError, ParamValidationError, ReadTimeoutError
from botocore.stub import Stubber

from devstack.standins.kinesis_event import StreamPosition, kinesis_event
from featurestream.aws.clients import client_config
from featurestream.aws.store_errors import (
    StoreRejected,
    TransientStoreError,
    classify,
    make_runtime_client,
)
from featurestream.ingest.quarantine import (
    MAX_PAYLOAD_BYTES,
    Quarantine,
    QuarantinedRecord,
    QuarantineUnavailable,
    make_sqs_client,
)
from featurestream.ingest.record_batch import WholeBatchProcessor
from featurestream.ingest.settings import ConfigError, Settings

ROOT = Path(__file__).resolve().parents[3]


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


BASE = {"FEATURE_GROUP_NAME": "g", "QUARANTINE_QUEUE_URL": "q"}


def test_the_event_time_window_defaults_to_2000_and_five_minutes():
    settings = Settings.from_env(BASE)
    assert settings.event_time_not_before == datetime(2000, 1, 1, tzinfo=UTC)
    assert settings.event_time_max_skew_seconds == 300.0


def test_the_templates_window_defaults_are_the_settings_defaults():
    from devstack.stack.template import Template, local_stack

    template = Template.load(ROOT / "template.yaml")
    function = template.function("OrderFeaturesFunction")
    env = template.resolve(function.environment, local_stack(template))
    window = {k: str(env[k]) for k in ("EVENT_TIME_NOT_BEFORE", "EVENT_TIME_MAX_SKEW_SECONDS")}
    from_template = Settings.from_env({**BASE, **window})
    assert from_template == Settings.from_env(BASE)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2010-06-01", datetime(2010, 6, 1, tzinfo=UTC)),
        ("2010-06-01T12:00:00Z", datetime(2010, 6, 1, 12, tzinfo=UTC)),
        ("2010-06-01T14:00:00+02:00", datetime(2010, 6, 1, 12, tzinfo=UTC)),
        (" ", datetime(2000, 1, 1, tzinfo=UTC)),
    ],
)
def test_event_time_not_before_reads_a_date_or_a_time(text, expected):
    got = Settings.from_env({**BASE, "EVENT_TIME_NOT_BEFORE": text}).event_time_not_before
    assert got == expected and got.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("EVENT_TIME_NOT_BEFORE", "last year"),
        ("EVENT_TIME_NOT_BEFORE", "2000-13-01"),
        ("EVENT_TIME_MAX_SKEW_SECONDS", "-1"),
        ("EVENT_TIME_MAX_SKEW_SECONDS", "nan"),
        ("EVENT_TIME_MAX_SKEW_SECONDS", "5m"),
        ("EVENT_TIME_MAX_SKEW_SECONDS", "86401"),
    ],
)
def test_a_malformed_window_is_a_config_error_naming_the_variable(name, text):
    with pytest.raises(ConfigError, match=f"^{name} must be"):
        Settings.from_env({**BASE, name: text})


def test_client_config_sizes_pool_and_retries():
    config = client_config(pool_size=48, max_attempts=5)
    assert config.max_pool_connections == 48
    assert config.retries == {"mode": "standard", "total_max_attempts": 5}


def test_the_stream_clients_share_one_factory_and_keep_their_settings(monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    store = make_runtime_client(client_config(pool_size=8, max_attempts=4)).meta.config
    sqs_client = make_sqs_client(pool_size=8, max_attempts=3)
    sqs = sqs_client.meta.config
    assert (store.max_pool_connections, sqs.max_pool_connections) == (8, 8)
    assert store.retries == {"mode": "standard", "total_max_attempts": 4}
    assert sqs.retries == {"mode": "standard", "total_max_attempts": 3}
    assert store.tcp_keepalive and not sqs.tcp_keepalive
    with pytest.raises(ParamValidationError):  # SQS keeps botocore's parameter check
        sqs_client.send_message(QueueUrl="http://127.0.0.1:9/q")
    assert (store.connect_timeout, store.read_timeout) == (2.0, 5.0)
    assert (sqs.connect_timeout, sqs.read_timeout) == (2.0, 5.0)


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


def run_batch(entries, handle_batch):
    event = kinesis_event(entries, position=StreamPosition("s"), arrival=0.0)
    processor = WholeBatchProcessor()
    with processor(event["Records"], handle_batch):
        results = processor.process()
    seqs = [r["kinesis"]["sequenceNumber"] for r in event["Records"]]
    return seqs, results, processor.response()


def test_the_batch_handler_sees_every_record_once_in_order():
    seen = []

    def handle_batch(records):
        seen.append([r.kinesis.data_as_bytes() for r in records])
        return ["ok"] * len(records)

    entries = [(f"K{i % 3}", str(i).encode()) for i in range(7)]
    _, results, response = run_batch(entries, handle_batch)
    assert seen == [[data for _, data in entries]]
    assert response == {"batchItemFailures": []}
    assert [status for status, *_ in results] == ["success"] * 7


def test_exceptions_become_batch_item_failures_in_sequence_order():
    def handle_batch(records):
        return [RuntimeError("boom") if n in (1, 3) else "ok" for n in range(len(records))]

    seqs, _, response = run_batch(
        [("A", b"a"), ("B", b"b"), ("C", b"c"), ("D", b"d")], handle_batch
    )
    assert response == {
        "batchItemFailures": [{"itemIdentifier": seqs[1]}, {"itemIdentifier": seqs[3]}]
    }


def test_a_batch_whose_every_record_failed_is_a_function_error():
    def handle_batch(records):
        return [RuntimeError("down")] * len(records)

    with pytest.raises(BatchProcessingError):
        run_batch([("A", b"a"), ("B", b"b")], handle_batch)
