"""BatchGetRecord request shapes: one call for both groups, within the limits; unprocessed
identifiers re-sent exactly; per-item errors kept; a request's calls in flight together."""

import threading
import time

import pytest
from botocore.exceptions import ClientError

from featurestream.serving.app import build_service
from featurestream.serving.errors import ApiError
from featurestream.serving.http import MAX_CUSTOMER_IDS
from featurestream.serving.online_reader import OnlineReader, chunk_size
from featurestream.serving.settings import InferenceSettings

ARN = "arn:aws:sagemaker:us-east-1:123456789012:feature-group/"


class ScriptedStore:
    def __init__(self, *responses):
        self.responses = list(responses)
        self.calls = []

    def batch_get_record(self, **kwargs):
        self.calls.append(kwargs["Identifiers"])
        return self.responses.pop(0)


def record(group, rid):
    return {
        "FeatureGroupName": group,
        "RecordIdentifierValueAsString": rid,
        "Record": [{"FeatureName": "customer_id", "ValueAsString": rid}],
    }


def test_each_call_asks_both_groups_for_at_most_100_records():
    ids = [f"C{n}" for n in range(1, 101)]
    empty = {"Records": [], "Errors": [], "UnprocessedIdentifiers": []}
    store = ScriptedStore(empty, empty)
    OnlineReader(store, {"customers": "c", "orders": "o"}).fetch(ids)
    assert len(store.calls) == 2
    for call in store.calls:
        assert [i["FeatureGroupName"] for i in call] == ["c", "o"]
        assert sum(len(i["RecordIdentifiersValueAsString"]) for i in call) == 100
    assert store.calls[0][0]["RecordIdentifiersValueAsString"] == ids[:50]


def test_unprocessed_identifiers_are_resent_as_returned_with_backoff():
    unprocessed = [{"FeatureGroupName": "o", "RecordIdentifiersValueAsString": ["C2"]}]
    store = ScriptedStore(
        {
            "Records": [record("c", "C1"), record("c", "C2"), record("o", "C1")],
            "Errors": [],
            "UnprocessedIdentifiers": unprocessed,
        },
        {"Records": [record(ARN + "o", "C2")], "Errors": [], "UnprocessedIdentifiers": []},
    )
    sleeps = []
    reader = OnlineReader(store, {"customers": "c", "orders": "o"}, sleep=sleeps.append)
    fetched = reader.fetch(["C1", "C2"])
    assert store.calls[1] == unprocessed
    assert sleeps == [0.02]
    assert sorted(fetched.records["orders"]) == ["C1", "C2"]  # the ARN echo maps back too
    assert fetched.calls == 2


def test_still_unprocessed_after_the_last_attempt_is_a_503():
    stuck = {
        "Records": [],
        "Errors": [],
        "UnprocessedIdentifiers": [
            {"FeatureGroupName": "c", "RecordIdentifiersValueAsString": ["C1"]}
        ],
    }
    store = ScriptedStore(stuck, stuck, stuck)
    reader = OnlineReader(
        store, {"customers": "c", "orders": "o"}, max_attempts=3, sleep=lambda s: None
    )
    with pytest.raises(ApiError) as caught:
        reader.fetch(["C1"])
    assert (caught.value.status, caught.value.code) == (503, "FeatureStoreUnprocessed")
    assert len(store.calls) == 3


def test_per_item_errors_are_kept_per_customer_and_group():
    store = ScriptedStore(
        {
            "Records": [record("c", "C1")],
            "Errors": [
                {
                    "FeatureGroupName": "o",
                    "RecordIdentifierValueAsString": "C1",
                    "ErrorCode": "InternalFailure",
                    "ErrorMessage": "boom",
                }
            ],
            "UnprocessedIdentifiers": [],
        }
    )
    fetched = OnlineReader(store, {"customers": "c", "orders": "o"}).fetch(["C1"])
    [error] = fetched.errors_for("C1")
    assert (error.group, error.code, error.message) == ("orders", "InternalFailure", "boom")


def test_records_of_groups_not_asked_for_are_ignored_by_name_or_arn():
    answer = {
        "Records": [record(g, "C1") for g in ("c", ARN + "c", "x", ARN + "x", ARN + "o")] * 2,
        "Errors": [],
        "UnprocessedIdentifiers": [],
    }
    fetched = OnlineReader(ScriptedStore(answer), {"customers": "c", "orders": "o"}).fetch(["C1"])
    assert fetched.records == {
        "customers": {"C1": {"customer_id": "C1"}},
        "orders": {"C1": {"customer_id": "C1"}},
    }


class MeetingStore:
    """Answers a call only once ``parties`` calls are in flight together: calls made one after
    the other break the barrier (``BrokenBarrierError``) instead of answering."""

    def __init__(self, parties, timeout=5.0):
        self.barrier = threading.Barrier(parties, timeout=timeout)
        self.threads = []

    def batch_get_record(self, **kwargs):
        self.threads.append(threading.current_thread().name)
        self.barrier.wait()
        [first, *_] = kwargs["Identifiers"]
        ids = first["RecordIdentifiersValueAsString"]
        return {"Records": [record("c", rid) for rid in ids], "UnprocessedIdentifiers": []}


def test_a_requests_chunks_are_read_at_the_same_time_and_merged_in_order():
    ids = [f"C{n}" for n in range(1, 101)]
    store = MeetingStore(parties=2)
    reader = OnlineReader(store, {"customers": "c", "orders": "o"}, parallel_calls=2)
    try:
        fetched = reader.fetch(ids)
    finally:
        reader.close()
    assert list(fetched.records["customers"]) == ids
    assert fetched.calls == 2
    assert threading.current_thread().name in store.threads  # the first chunk: no hand-off


def test_one_after_the_other_without_parallel_calls():
    reader = OnlineReader(MeetingStore(parties=2, timeout=0.5), {"customers": "c", "orders": "o"})
    with pytest.raises(threading.BrokenBarrierError):
        reader.fetch([f"C{n}" for n in range(1, 101)])


def test_a_failed_chunk_fails_the_request_only_once_every_call_has_ended():
    ended = threading.Event()

    class OneFails:
        def batch_get_record(self, **kwargs):
            if kwargs["Identifiers"][0]["RecordIdentifiersValueAsString"][0] == "C1":
                raise ClientError({"Error": {"Code": "ThrottlingException"}}, "BatchGetRecord")
            time.sleep(0.2)  # still in flight when the first chunk fails
            ended.set()
            return {"Records": [], "UnprocessedIdentifiers": []}

    reader = OnlineReader(OneFails(), {"customers": "c", "orders": "o"}, parallel_calls=2)
    with pytest.raises(ApiError) as caught:
        reader.fetch([f"C{n}" for n in range(1, 101)])
    assert ended.is_set()  # no call outlives the request
    assert caught.value.code == "FeatureStoreThrottled"
    reader.close()


def test_the_handlers_reader_reads_the_largest_request_in_one_round_trip():
    settings = InferenceSettings("customers-fg", "orders-fg", "endpoint")
    calls = -(-MAX_CUSTOMER_IDS // chunk_size(groups=2))
    service = build_service(settings, store_client=MeetingStore(calls), endpoint_client=object())
    try:
        fetched = service.reader.fetch([f"C{n}" for n in range(1, MAX_CUSTOMER_IDS + 1)])
    finally:
        service.close()
    assert fetched.calls == calls == 2
