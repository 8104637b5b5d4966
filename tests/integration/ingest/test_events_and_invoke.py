"""The sample events: Lambda's exact Kinesis shape, in step with raw/, and invocable
in-process through ``featurestream invoke`` against the emulator and moto."""

import base64
import json
from pathlib import Path

import boto3
import pytest
from click.testing import CliRunner

from featurestream.contract.catalog import CUSTOMER_ORDER_STATS, ORDERS
from featurestream.contract.events import InvalidEvent, parse_event
from featurestream_cli.commands import events as events_command
from featurestream_cli.commands import invoke as invoke_command
from tests.fixtures.kinesis_events import (
    KINESIS_KEYS,
    RECORD_KEYS,
    create_group,
    create_state_table,
)

ROOT = Path(__file__).resolve().parents[3]
EVENTS = ROOT / "events"
FILES = {
    "customer-batch.json": "featurestream-customer-events",
    "order-batch.json": "featurestream-order-events",
    "order-batch-poison-pill.json": "featurestream-order-events",
}


@pytest.mark.parametrize(("name", "stream"), sorted(FILES.items()))
def test_sample_event_has_lambdas_kinesis_shape(name, stream):
    event = json.loads((EVENTS / name).read_text())
    assert set(event) == {"Records"}
    sequence_numbers = []
    for record in event["Records"]:
        assert set(record) == RECORD_KEYS
        assert set(record["kinesis"]) == KINESIS_KEYS
        assert record["eventSource"] == "aws:kinesis"
        assert record["eventName"] == "aws:kinesis:record"
        assert record["eventSourceARN"].endswith(f":stream/{stream}")
        kinesis = record["kinesis"]
        assert record["eventID"] == f"shardId-000000000000:{kinesis['sequenceNumber']}"
        assert isinstance(kinesis["approximateArrivalTimestamp"], float)
        base64.b64decode(kinesis["data"], validate=True)
        sequence_numbers.append(int(kinesis["sequenceNumber"]))
    assert sequence_numbers == sorted(sequence_numbers)


def test_valid_samples_parse_and_partition_by_customer():
    for name in ("customer-batch.json", "order-batch.json"):
        for record in json.loads((EVENTS / name).read_text())["Records"]:
            event = parse_event(base64.b64decode(record["kinesis"]["data"]))
            assert record["kinesis"]["partitionKey"] == event.customer_id


def test_poison_pill_sample_has_a_non_json_and_a_schema_invalid_record():
    records = json.loads((EVENTS / "order-batch-poison-pill.json").read_text())["Records"]
    reasons = []
    for record in records:
        try:
            parse_event(base64.b64decode(record["kinesis"]["data"]))
        except InvalidEvent as invalid:
            reasons.append(invalid.reason)
    assert len(reasons) == 2
    assert reasons[0] == "payload is not valid JSON"
    assert "purchase_amount" in reasons[1]


def test_samples_are_in_step_with_raw(monkeypatch):
    monkeypatch.chdir(ROOT)
    result = CliRunner().invoke(events_command.command, ["--check"])
    assert result.exit_code == 0, result.output


def test_invoke_runs_the_template_function_on_the_poison_pill_sample(
    featurestore_env, moto_server, unique_name, monkeypatch
):
    stack = unique_name.lower()[:30].rstrip("-")
    monkeypatch.setenv("AWS_ENDPOINT_URL_SQS", moto_server)
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", moto_server)
    create_group(boto3.client("sagemaker"), f"{stack}-orders", ORDERS)
    create_group(boto3.client("sagemaker"), f"{stack}-customer-order-stats", CUSTOMER_ORDER_STATS)
    create_state_table(boto3.client("dynamodb"), f"{stack}-aggregate-state")
    sqs = boto3.client("sqs")
    queue_url = sqs.create_queue(QueueName=f"{stack}-quarantine")["QueueUrl"]
    monkeypatch.chdir(ROOT)
    result = CliRunner().invoke(
        invoke_command.command,
        [
            "OrderFeaturesFunction",
            "-e",
            "events/order-batch-poison-pill.json",
            "--stack-name",
            stack,
        ],
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout.strip().splitlines()[-1]) == {"batchItemFailures": []}
    got = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10)["Messages"]
    assert len(got) == 2
    runtime = boto3.client("sagemaker-featurestore-runtime")
    record = runtime.get_record(
        FeatureGroupName=f"{stack}-orders", RecordIdentifierValueAsString="C9439"
    )
    assert "Record" in record
