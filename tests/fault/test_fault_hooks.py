"""The fault hooks on their own: the producer's partial-failure wrapper against moto, the
emulator's error shares and their count, and the poison pills the suite sends."""

import json

import boto3
import pytest

from devstack.rigs.chaos.plan import FaultPlan
from devstack.rigs.chaos.workload import build_workload, poison_pills
from devstack.standins.featurestore import admin
from devstack.standins.featurestore.config import FaultConfig
from featurestream.contract.events import InvalidEvent, parse_event
from producers.encoding import encode_event
from producers.faults import INJECTED_CODE, PartialFailureKinesis
from producers.publisher import EventPublisher
from producers.streams import StreamNames
from tests.fixtures.kinesis_events import customer_event, order_event


def _stream_data(client, name: str) -> list[bytes]:
    shard = client.list_shards(StreamName=name)["Shards"][0]["ShardId"]
    iterator = client.get_shard_iterator(
        StreamName=name, ShardId=shard, ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    return [r["Data"] for r in client.get_records(ShardIterator=iterator)["Records"]]


def test_partial_failure_wrapper_fails_entries_in_place_and_publisher_resends_them(
    moto_server: str, unique_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_KINESIS", moto_server)
    client = boto3.client("kinesis")
    names = StreamNames(f"{unique_name}-c", f"{unique_name}-o")
    for name in (names.customer, names.order):
        client.create_stream(StreamName=name, ShardCount=1)
        client.get_waiter("stream_exists").wait(StreamName=name)
    wrapper = PartialFailureKinesis(client, 0.3, seed=1)

    records = [{"Data": f"r{i}".encode(), "PartitionKey": f"k{i}"} for i in range(40)]
    answer = wrapper.put_records(StreamName=names.order, Records=records)
    failed = [i for i, r in enumerate(answer["Records"]) if r.get("ErrorCode")]
    assert answer["FailedRecordCount"] == len(failed) == wrapper.injected > 0
    assert all(answer["Records"][i]["ErrorCode"] == INJECTED_CODE for i in failed)
    assert _stream_data(client, names.order) == [
        records[i]["Data"] for i in range(40) if i not in failed
    ]

    events = [order_event(n, "C1", f"2021-01-01T00:00:{n:02d}.000Z") for n in range(1, 31)]
    publisher = EventPublisher(names, client=wrapper, flush_at_exit=False, sleep=lambda _s: None)
    assert publisher.publish(events) == []
    assert publisher.stats.retried > 0
    sent = [
        json.loads(d)["event_id"] for d in _stream_data(client, names.order)[40 - len(failed) :]
    ]
    assert sent == [e["event_id"] for e in events]  # every event once, one key's order kept


def test_emulator_error_shares_fail_writes_and_are_counted(featurestore_server) -> None:
    url = featurestore_server.endpoint_url
    from botocore.config import Config

    runtime = boto3.client(
        "sagemaker-featurestore-runtime",
        endpoint_url=url,
        config=Config(retries={"mode": "standard", "total_max_attempts": 1}),
    )
    try:
        admin.set_faults(url, FaultConfig(throttle_rate=0.5, error_rate=0.5, seed=3))
        outcomes = []
        for _ in range(20):
            with pytest.raises(runtime.exceptions.ClientError) as error:
                runtime.get_record(FeatureGroupName="none", RecordIdentifierValueAsString="x")
            outcomes.append(error.value.response["Error"]["Code"])
        counts = admin.injected_faults(url)
        assert set(outcomes) == {"ThrottlingException", "ServiceUnavailable"}
        assert counts == {
            "throttle": outcomes.count("ThrottlingException"),
            "error": outcomes.count("ServiceUnavailable"),
        }
    finally:
        admin.set_faults(url, FaultConfig())
    assert admin.injected_faults(url) == {}
    assert admin.admin_call(url, "faults")["throttle_rate"] == 0.0


def test_poison_pills_are_each_rejected_with_the_reason_the_suite_expects() -> None:
    for pill in poison_pills(["C5", "C6"]):
        try:
            event = parse_event(pill.data)
        except InvalidEvent as invalid:
            assert pill.reason in invalid.reason, pill.kind
        else:  # the wrong-type pill is a valid event, for the other stream
            assert pill.kind == "wrong-type"
            assert event.event_type.split(".")[0] != pill.stream
    assert len({pill.sha256 for pill in poison_pills(["C5", "C6"])}) == 8


def test_workload_shuffles_and_sends_duplicates_after_their_original() -> None:
    import random

    valid = [
        encode_event(customer_event(f"C{n}", f"2020-01-{n:02d}T00:00:00.000Z"))
        for n in range(1, 21)
    ]
    plan = FaultPlan("t", duplicate=0.25, shuffle=True, poison_pills=True)
    workload = build_workload(valid, plan, random.Random(1))
    assert workload.duplicates == 5 and sorted(set(workload.sends), key=valid.index) == valid
    assert workload.sends[: len(valid)] != valid  # reordered
    for event in set(workload.sends):
        positions = [i for i, sent in enumerate(workload.sends) if sent is event]
        assert len(positions) in (1, 2)
    assert {p.partition_key for p in workload.pills} <= {"C1", "C2"}
