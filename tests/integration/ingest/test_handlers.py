"""The stream handlers against the Feature Store emulator and moto's SQS."""

import base64
import json
from datetime import UTC, datetime

import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

from devstack.standins.featurestore.config import FaultConfig
from featurestream.contract.catalog import CUSTOMERS, ORDERS
from featurestream.contract.events import parse_event
from featurestream.contract.params import load_params
from featurestream.contract.transforms import features_for, to_record
from handlers import customer_features, order_features
from tests.fixtures.kinesis_events import (
    CUSTOMER_POSITION,
    batch,
    customer_event,
    order_event,
)

T1 = "2021-06-01T10:00:00.000Z"
T2 = "2021-06-02T10:00:00.000Z"
T3 = "2021-06-03T10:00:00.000Z"


def expected_online(event_dict, before, after):
    """Both candidate records (as of just before / after the call: a day may turn)."""
    event = parse_event(json.dumps(event_dict))
    params = load_params()
    return [
        {
            f["FeatureName"]: f["ValueAsString"]
            for f in to_record(features_for(event, params=params, as_of=moment)[1])
        }
        for moment in (before, after)
    ]


def test_order_batch_lands_with_the_right_values(ingest_stack):
    events = [order_event(i, f"C{i}", T1, amount=10.0 * i) for i in range(1, 21)]
    before = datetime.now(UTC)
    response = ingest_stack.invoke(order_features, batch(events))
    after = datetime.now(UTC)
    assert response == {"batchItemFailures": []}
    for event in events:
        stored = ingest_stack.online(ORDERS, event["data"]["customer_id"])
        assert stored in expected_online(event, before, after)
        assert stored["event_time"] == T1
        assert stored["transform_version"] == load_params().version
    assert ingest_stack.quarantined() == []


def test_customer_batch_lands(ingest_stack):
    events = [customer_event(f"C{i}", T1, age=20 + i) for i in range(1, 6)]
    before = datetime.now(UTC)
    response = ingest_stack.invoke(customer_features, batch(events, position=CUSTOMER_POSITION))
    after = datetime.now(UTC)
    assert response == {"batchItemFailures": []}
    for event in events:
        assert ingest_stack.online(CUSTOMERS, event["data"]["customer_id"]) in expected_online(
            event, before, after
        )


def test_poison_pills_are_quarantined_and_the_rest_lands(ingest_stack):
    bad_schema = order_event(2, "C2", T1)
    bad_schema["data"]["purchase_amount"] = -5
    wrong_stream = customer_event("C3", T1)
    event = batch(
        [order_event(1, "C1", T1), b"{not json", bad_schema, wrong_stream, order_event(4, "C4", T1)]
    )
    response = ingest_stack.invoke(order_features, event)
    assert response == {"batchItemFailures": []}
    assert ingest_stack.online(ORDERS, "C1") is not None
    assert ingest_stack.online(ORDERS, "C4") is not None
    assert ingest_stack.online(ORDERS, "C2") is None
    assert ingest_stack.online(ORDERS, "C3") is None
    messages = {m["sequence_number"]: m for m in ingest_stack.quarantined()}
    records = event["Records"]
    assert set(messages) == {r["kinesis"]["sequenceNumber"] for r in records[1:4]}
    not_json = messages[records[1]["kinesis"]["sequenceNumber"]]
    assert not_json["reason"] == "payload is not valid JSON"
    assert base64.b64decode(not_json["payload_base64"]) == b"{not json"
    assert not_json["stream_arn"] == records[1]["eventSourceARN"]
    assert not_json["shard_id"] == "shardId-000000000000"
    assert not_json["partition_key"] == "raw-key"
    assert "purchase_amount" in messages[records[2]["kinesis"]["sequenceNumber"]]["reason"]
    assert "order-events" in messages[records[3]["kinesis"]["sequenceNumber"]]["reason"]


def emf_values(stdout: str) -> dict[str, list[float]]:
    """Every value of every metric in the EMF documents a handler printed."""
    values: dict[str, list[float]] = {}
    for line in stdout.splitlines():
        if line.startswith("{") and '"_aws"' in line:
            document = json.loads(line)
            for metric in document["_aws"]["CloudWatchMetrics"][0]["Metrics"]:
                value = document[metric["Name"]]
                values.setdefault(metric["Name"], []).extend(
                    value if isinstance(value, list) else [value]
                )
    return values


def test_metrics_count_outcomes_and_time_every_record(ingest_stack, capsys):
    events = [order_event(i, f"C{i}", T1) for i in range(1, 151)]
    capsys.readouterr()
    response = ingest_stack.invoke(order_features, batch([*events, b"{not json"]))
    assert response == {"batchItemFailures": []}
    values = emf_values(capsys.readouterr().out)
    assert values["RecordsProcessed"] == [150]
    assert values["RecordsQuarantined"] == [1]
    assert values["RecordsFailed"] == [0]
    assert len(values["PutRecordLatency"]) == 150  # one per written record
    assert len(values["TimeInStream"]) == 151  # one per record
    # batch() dates the first arrival 2 s back and each next record 1 ms later
    in_stream = values["TimeInStream"]
    assert all(v >= 2000 - index for index, v in enumerate(in_stream)), in_stream[:5]
    assert all(v > 0 for v in values["PutRecordLatency"])


def test_throttling_is_retried_by_botocore(ingest_stack, featurestore_server):
    featurestore_server.faults = FaultConfig(
        throttle_rate=0.3, operations=frozenset({"BatchWriteRecord"}), seed=7
    )
    events = [order_event(i, f"C{i}", T1) for i in range(1, 11)]
    response = ingest_stack.invoke(order_features, batch(events), STORE_MAX_ATTEMPTS="8")
    assert response == {"batchItemFailures": []}
    assert all(ingest_stack.online(ORDERS, f"C{i}") for i in range(1, 11))


def test_5xx_past_the_retry_budget_is_a_batch_item_failure_not_quarantine(
    ingest_stack, featurestore_server
):
    featurestore_server.faults = FaultConfig(
        error_rate=1.0, operations=frozenset({"BatchWriteRecord"})
    )
    event = batch([order_event(1, "C1", T1), b"garbage", order_event(2, "C2", T1)])
    response = ingest_stack.invoke(order_features, event, STORE_MAX_ATTEMPTS="2")
    records = event["Records"]
    assert response == {
        "batchItemFailures": [
            {"itemIdentifier": records[0]["kinesis"]["sequenceNumber"]},
            {"itemIdentifier": records[2]["kinesis"]["sequenceNumber"]},
        ]
    }
    quarantined = ingest_stack.quarantined()
    assert [m["sequence_number"] for m in quarantined] == [records[1]["kinesis"]["sequenceNumber"]]


def test_whole_batch_failing_is_a_function_error(ingest_stack, featurestore_server):
    featurestore_server.faults = FaultConfig(
        throttle_rate=1.0, operations=frozenset({"BatchWriteRecord"})
    )
    with pytest.raises(BatchProcessingError):
        ingest_stack.invoke(
            order_features, batch([order_event(1, "C1", T1)]), STORE_MAX_ATTEMPTS="1"
        )
    assert ingest_stack.online(ORDERS, "C1") is None


def test_quarantine_send_failure_is_retried_not_dropped(ingest_stack):
    missing_queue = ingest_stack.queue_url + "-missing"
    event = batch([b"not json", order_event(1, "C1", T1)])
    response = ingest_stack.invoke(order_features, event, QUARANTINE_QUEUE_URL=missing_queue)
    assert response == {
        "batchItemFailures": [{"itemIdentifier": event["Records"][0]["kinesis"]["sequenceNumber"]}]
    }
    assert ingest_stack.online(ORDERS, "C1") is not None


def test_an_older_event_never_replaces_a_newer_one(ingest_stack):
    # in one batch, newest first
    ingest_stack.invoke(order_features, batch([order_event(3, "C1", T3), order_event(1, "C1", T1)]))
    assert ingest_stack.online(ORDERS, "C1")["order_id"] == "O3"
    # a late, older event in a later invocation
    ingest_stack.invoke(order_features, batch([order_event(2, "C1", T2)], first=5))
    assert ingest_stack.online(ORDERS, "C1")["order_id"] == "O3"


def test_failure_then_redelivery_ends_with_the_newest(ingest_stack, featurestore_server):
    first = batch([order_event(1, "C1", T1), order_event(2, "C1", T2), order_event(9, "C9", T1)])
    featurestore_server.faults = FaultConfig(
        error_rate=1.0, operations=frozenset({"BatchWriteRecord"})
    )
    with pytest.raises(BatchProcessingError):  # every record failed: whole batch retried
        ingest_stack.invoke(order_features, first, STORE_MAX_ATTEMPTS="1")
    assert ingest_stack.online(ORDERS, "C1") is None
    featurestore_server.faults = FaultConfig()
    # Lambda redelivers from the lowest failed sequence number; a newer event arrived since
    later = batch([order_event(3, "C1", T3)], first=3)
    assert ingest_stack.invoke(order_features, later) == {"batchItemFailures": []}
    assert ingest_stack.invoke(order_features, first) == {"batchItemFailures": []}
    assert ingest_stack.online(ORDERS, "C1")["order_id"] == "O3"
    assert ingest_stack.online(ORDERS, "C9")["order_id"] == "O9"


def test_duplicates_change_nothing_online(ingest_stack):
    event = batch([order_event(1, "C1", T1), order_event(2, "C2", T2)])
    ingest_stack.invoke(order_features, event)
    first = {c: ingest_stack.online(ORDERS, c) for c in ("C1", "C2")}
    ingest_stack.invoke(order_features, event)
    ingest_stack.invoke(order_features, batch([order_event(2, "C2", T2)], first=7))
    assert {c: ingest_stack.online(ORDERS, c) for c in ("C1", "C2")} == first


def test_a_store_rejection_is_a_failure_not_quarantine(ingest_stack):
    """A valid event the store refuses (here: the group does not exist) is retried, never
    quarantined: the fault is the deployment's, not the event's."""
    ingest_stack.monkeypatch.setattr(ingest_stack, "orders_group", "no-such-group")
    event = batch([order_event(1, "C1", T1), b"x"])
    response = ingest_stack.invoke(order_features, event, STORE_MAX_ATTEMPTS="1")
    assert response == {
        "batchItemFailures": [{"itemIdentifier": event["Records"][0]["kinesis"]["sequenceNumber"]}]
    }
    assert len(ingest_stack.quarantined()) == 1


def emf_documents(stdout: str) -> list[dict]:
    return [json.loads(line) for line in stdout.splitlines() if '"_aws"' in line]


def test_freshness_and_violations_per_group_and_the_record_is_still_written(ingest_stack, capsys):
    now = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    # 500.0 scales to (500 - 1) / 99 = 5.04 with the committed params: far outside [0, 1]
    events = [order_event(1, "C1", now), order_event(2, "C2", now, amount=500.0)]
    capsys.readouterr()
    response = ingest_stack.invoke(order_features, batch(events))
    captured = capsys.readouterr()
    assert response == {"batchItemFailures": []}
    assert ingest_stack.online(ORDERS, "C2")["order_id"] == "O2"  # written all the same
    docs = emf_documents(captured.out)
    fresh_by_group = {d["FeatureGroup"]: d for d in docs if "PipelineFreshness" in d}
    assert sorted(fresh_by_group) == ["customer-order-stats", "orders"]  # one per group
    fresh = [fresh_by_group["orders"]]
    # batch() dates the first arrival 2 s back: pipeline freshness is at least that
    assert len(fresh[0]["PipelineFreshness"]) == 2
    assert all(2.0 <= v < 60 for v in fresh[0]["PipelineFreshness"])
    assert all(0 <= v < 60 for v in fresh[0]["EventFreshness"])
    assert fresh[0]["ScaledValueViolations"] == [1.0]
    by_feature = {
        d["Feature"]: d["FeatureViolations"]
        for d in docs
        if "FeatureViolations" in d and d["FeatureGroup"] == "orders"
    }
    assert by_feature == {"purchase_amount": [1.0]}
    assert "5.0404" not in captured.out + captured.err  # the scaled value is never printed
