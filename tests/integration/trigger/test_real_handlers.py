"""The real template and handlers through the runner: order and customer events land in the
Feature Store emulator (groups created from ``featurestream.contract.catalog``)."""

import json
import uuid

import boto3
import pytest

from devstack.standins.trigger import TriggerRunner
from featurestream.contract.catalog import CUSTOMER_ORDER_STATS, CUSTOMERS, ORDERS
from tests.fixtures.kinesis_events import (
    create_group,
    create_state_table,
    customer_event,
    order_event,
)
from tests.fixtures.trigger import REPO

T1 = "2021-06-01T10:00:00.000Z"


@pytest.fixture
def real_stack(featurestore_env, moto_server, monkeypatch, tmp_path):
    """Streams, queues and feature groups named as ``template.yaml`` names them for a stack."""
    monkeypatch.setenv("AWS_ENDPOINT_URL_KINESIS", moto_server)
    monkeypatch.setenv("AWS_ENDPOINT_URL_SQS", moto_server)
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", moto_server)
    monkeypatch.setenv("FEATURESTREAM_STATE_DIR", str(tmp_path / "state"))
    stack = f"t{uuid.uuid4().hex[:10]}"
    kinesis = boto3.client("kinesis")
    for stream in ("order-events", "customer-events"):
        kinesis.create_stream(
            StreamName=f"{stack}-{stream}",
            ShardCount=1,
            StreamModeDetails={"StreamMode": "PROVISIONED"},
        )
    sqs = boto3.client("sqs")
    for queue in ("quarantine", "stream-failures"):
        sqs.create_queue(QueueName=f"{stack}-{queue}")
    sagemaker = boto3.client("sagemaker")
    create_group(sagemaker, f"{stack}-orders", ORDERS)
    create_group(sagemaker, f"{stack}-customers", CUSTOMERS)
    create_group(sagemaker, f"{stack}-customer-order-stats", CUSTOMER_ORDER_STATS)
    create_state_table(boto3.client("dynamodb"), f"{stack}-aggregate-state")
    return stack, kinesis


def test_real_handlers_write_what_the_streams_carry(real_stack):
    stack, kinesis = real_stack
    orders = [
        order_event(i, f"C{i % 50 + 1}", f"2021-06-01T10:{i // 60:02d}:{i % 60:02d}.000Z")
        for i in range(1, 201)
    ]
    customers = [customer_event(f"C{i}", T1) for i in range(1, 21)]
    for stream, events in (("order-events", orders), ("customer-events", customers)):
        for start in range(0, len(events), 100):
            kinesis.put_records(
                StreamName=f"{stack}-{stream}",
                Records=[
                    {"Data": json.dumps(e).encode(), "PartitionKey": e["data"]["customer_id"]}
                    for e in events[start : start + 100]
                ],
            )
    runner = TriggerRunner(
        REPO / "template.yaml",
        stack_name=stack,
        parameters={"MaximumBatchingWindowInSeconds": "0"},
        poll_interval=0.05,
    )
    with runner:
        assert runner.wait_until_caught_up(60)
        status = runner.status()
    for function, count in (("OrderFeaturesFunction", 200), ("CustomerFeaturesFunction", 20)):
        totals = status["functions"][function]["totals"]
        assert totals["records_processed"] == count, totals
        assert totals["function_errors"] == 0
        assert totals["records_to_on_failure"] == 0
    quarantine = boto3.client("sqs").get_queue_attributes(
        QueueUrl=boto3.client("sqs").get_queue_url(QueueName=f"{stack}-quarantine")["QueueUrl"],
        AttributeNames=["ApproximateNumberOfMessages"],
    )
    assert quarantine["Attributes"]["ApproximateNumberOfMessages"] == "0"
    runtime = boto3.client("sagemaker-featurestore-runtime")
    for customer, newest in (("C1", 200), ("C50", 199)):
        record = runtime.get_record(
            FeatureGroupName=f"{stack}-orders", RecordIdentifierValueAsString=customer
        )["Record"]
        values = {f["FeatureName"]: f["ValueAsString"] for f in record}
        assert values["order_id"] == f"O{newest}"  # the last order of the customer wins
        stats = runtime.get_record(
            FeatureGroupName=f"{stack}-customer-order-stats", RecordIdentifierValueAsString=customer
        )["Record"]
        aggregates = {f["FeatureName"]: f["ValueAsString"] for f in stats}
        assert aggregates["total_orders"] == "4"  # orders i with i % 50 + 1 == its number
    assert "Record" in runtime.get_record(
        FeatureGroupName=f"{stack}-customers", RecordIdentifierValueAsString="C7"
    )
    log_lines = [json.loads(line) for line in runner.log_file.read_text().splitlines()]
    assert any(line.get("service") == "order-features" for line in log_lines)
