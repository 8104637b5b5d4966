"""Unit tests of the coalescing writer: request shape, per-entry outcomes, unprocessed
re-sends, whole-call failures, one identifier per call, coalescing of concurrent puts."""

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import boto3
import pytest
from botocore.stub import Stubber

from featurestream.aws_clients import serialize_with_json_dumps
from featurestream.batch_writer import BatchingWriter
from featurestream.config import ConfigError, Settings
from featurestream.store import StoreRejected, TransientStoreError, client_config


def record(customer: str, event_time: str = "2021-06-01T10:00:00.000Z") -> list[dict[str, str]]:
    return [
        {"FeatureName": "customer_id", "ValueAsString": customer},
        {"FeatureName": "event_time", "ValueAsString": event_time},
    ]


def entry(customer: str) -> dict:
    return {"FeatureGroupName": "g", "Record": record(customer)}


def writer_for(client, **kwargs) -> BatchingWriter:
    kwargs.setdefault("linger_ms", 5_000)  # calls close when full, never by the clock
    return BatchingWriter(
        client, "g", record_identifier="customer_id", sleep=lambda s: None, **kwargs
    )


def put_in_order(writer: BatchingWriter, customers: list[str]) -> dict[str, object]:
    """Each customer's put from its own thread, joining in list order; outcome per customer."""
    outcomes: dict[str, object] = {}

    def put(customer: str) -> None:
        try:
            outcomes[customer] = writer.put(record(customer))
        except Exception as error:
            outcomes[customer] = error

    threads = []
    for customer in customers:
        thread = threading.Thread(target=put, args=(customer,))
        thread.start()
        threads.append(thread)
        deadline = time.monotonic() + 5
        while customer not in writer._in_flight and customer not in outcomes:
            assert time.monotonic() < deadline
            time.sleep(0.001)
    for thread in threads:
        thread.join(10)
    return outcomes


class CountingClient:
    """A stand-in ``batch_write_record`` that records each call's identifiers."""

    def __init__(self, delay: float = 0.0, response=None) -> None:
        self.calls: list[list[str]] = []
        self._lock = threading.Lock()
        self._delay = delay
        self._response = response or (lambda entries: {"Errors": [], "UnprocessedEntries": []})

    def batch_write_record(self, *, Entries):
        with self._lock:
            self.calls.append([e["Record"][0]["ValueAsString"] for e in Entries])
        time.sleep(self._delay)
        return self._response(Entries)


def test_mixed_errors_and_unprocessed_entries_request_shape():
    client = boto3.client("sagemaker-featurestore-runtime", region_name="us-east-1")
    with Stubber(client) as stub:
        stub.add_response(
            "batch_write_record",
            {
                "Errors": [
                    {
                        "Entry": entry("C2"),
                        "ErrorCode": "ValidationError",
                        "ErrorMessage": "Unknown feature x",
                    },
                    {
                        "Entry": entry("C3"),
                        "ErrorCode": "ThrottlingException",
                        "ErrorMessage": "Rate exceeded",
                    },
                ],
                "UnprocessedEntries": [entry("C4")],
            },
            {"Entries": [entry(c) for c in ("C1", "C2", "C3", "C4")]},
        )
        stub.add_response(
            "batch_write_record",
            {"Errors": [], "UnprocessedEntries": []},
            {"Entries": [entry("C4")]},
        )
        outcomes = put_in_order(writer_for(client, batch_size=4), ["C1", "C2", "C3", "C4"])
        stub.assert_no_pending_responses()
    assert isinstance(outcomes["C1"], float)
    assert type(outcomes["C2"]) is StoreRejected
    assert type(outcomes["C3"]) is TransientStoreError
    assert isinstance(outcomes["C4"], float)  # re-sent, then written


@pytest.mark.parametrize(
    ("code", "message", "outcome"),
    [
        ("ThrottlingException", "Rate exceeded", TransientStoreError),
        ("ServiceUnavailable", "", TransientStoreError),
        ("InternalFailure", "", TransientStoreError),
        ("ValidationError", "Resource Not Found: can't find a FeatureGroup", TransientStoreError),
        ("ValidationError", "Unknown feature x", StoreRejected),
        ("ValidationException", "bad event time", StoreRejected),
        ("AccessForbidden", "", StoreRejected),
        ("ResourceNotFound", "no such group", StoreRejected),
    ],
)
def test_entry_errors_are_classified_like_put_record_errors(code, message, outcome):
    def response(entries):
        return {
            "Errors": [{"Entry": entries[0], "ErrorCode": code, "ErrorMessage": message}],
            "UnprocessedEntries": [],
        }

    outcomes = put_in_order(writer_for(CountingClient(response=response), batch_size=1), ["C1"])
    assert type(outcomes["C1"]) is outcome


def test_unprocessed_entries_are_resent_a_bounded_number_of_times_then_transient():
    client = CountingClient(response=lambda entries: {"Errors": [], "UnprocessedEntries": entries})
    outcomes = put_in_order(writer_for(client, batch_size=2, unprocessed_attempts=3), ["C1", "C2"])
    assert client.calls == [["C1", "C2"]] * 3
    assert all(type(o) is TransientStoreError for o in outcomes.values())
    assert outcomes["C1"].code == "UnprocessedEntry"


@pytest.mark.parametrize(
    ("code", "status", "outcome"),
    [("ThrottlingException", 400, TransientStoreError), ("AccessForbidden", 403, StoreRejected)],
)
def test_a_whole_call_failure_fails_every_entry_of_that_call(code, status, outcome):
    client = boto3.client("sagemaker-featurestore-runtime", region_name="us-east-1")
    with Stubber(client) as stub:
        stub.add_client_error("batch_write_record", code, "m", status)
        outcomes = put_in_order(writer_for(client, batch_size=3), ["C1", "C2", "C3"])
    assert [type(outcomes[c]) for c in ("C1", "C2", "C3")] == [outcome] * 3


def test_an_unmatched_entry_outcome_fails_the_call_transiently():
    def response(entries):
        return {"Errors": [{"Entry": {"X": 1}, "ErrorCode": "InternalFailure"}]}

    outcomes = put_in_order(writer_for(CountingClient(response=response), batch_size=2), ["A", "B"])
    assert all(type(o) is TransientStoreError for o in outcomes.values())


def test_a_bug_in_the_call_reaches_every_waiting_put():
    class Broken:
        def batch_write_record(self, **kwargs):
            raise KeyError("boom")

    outcomes = put_in_order(writer_for(Broken(), batch_size=2), ["A", "B"])
    assert all(isinstance(o, KeyError) for o in outcomes.values())


def test_concurrent_puts_coalesce_into_calls_of_at_most_the_batch_size():
    client = CountingClient(delay=0.01)
    writer = BatchingWriter(client, "g", record_identifier="customer_id", linger_ms=50)
    customers = [f"C{i}" for i in range(100)]
    start = threading.Barrier(100)

    def put(customer):
        start.wait()
        return writer.put(record(customer))

    with ThreadPoolExecutor(100) as pool:
        latencies = list(pool.map(put, customers))
    assert all(latency >= 0 for latency in latencies)
    assert sorted(c for call in client.calls for c in call) == sorted(customers)
    assert all(len(call) <= 25 for call in client.calls)
    assert 4 <= len(client.calls) <= 8, client.calls  # ceil(100/25) when nothing straggles


def test_a_lone_put_is_sent_after_the_linger():
    client = CountingClient()
    writer = BatchingWriter(client, "g", record_identifier="customer_id", linger_ms=20)
    started = time.perf_counter()
    writer.put(record("C1"))
    assert time.perf_counter() - started >= 0.02
    assert client.calls == [["C1"]]


def test_never_two_entries_of_one_identifier_in_a_call():
    """Lanes write one record per customer at a time; a second put of an identifier in
    flight breaks that invariant and is refused rather than sent in the same call."""
    client = CountingClient()
    writer = writer_for(client, batch_size=25)
    thread = threading.Thread(target=writer.put, args=(record("C1"),))
    thread.start()
    while "C1" not in writer._in_flight:
        time.sleep(0.001)
    with pytest.raises(AssertionError, match="C1"):
        writer.put(record("C1", "2021-06-02T10:00:00.000Z"))
    writer.linger_s = 0.0  # let the open batch go
    with writer._cond:
        writer._cond.notify_all()
    thread.join(10)
    assert client.calls == [["C1"]]


def test_sequential_puts_of_one_identifier_go_in_separate_calls():
    client = CountingClient()
    writer = BatchingWriter(client, "g", record_identifier="customer_id", linger_ms=1)
    for day in ("01", "02", "03"):
        writer.put(record("C1", f"2021-06-{day}T10:00:00.000Z"))
    assert client.calls == [["C1"]] * 3


def test_batch_settings_from_env():
    base = {"FEATURE_GROUP_NAME": "g", "QUARANTINE_QUEUE_URL": "q"}
    settings = Settings.from_env(base)
    assert (settings.store_batch_size, settings.store_batch_linger_ms) == (25, 20.0)
    assert settings.put_concurrency == 100
    custom = Settings.from_env({**base, "STORE_BATCH_SIZE": "10", "STORE_BATCH_LINGER_MS": "0"})
    assert (custom.store_batch_size, custom.store_batch_linger_ms) == (10, 0.0)
    for bad in ({"STORE_BATCH_SIZE": "26"}, {"STORE_BATCH_SIZE": "0"}):
        with pytest.raises(ConfigError, match="STORE_BATCH_SIZE"):
            Settings.from_env({**base, **bad})
    with pytest.raises(ConfigError, match="STORE_BATCH_LINGER_MS"):
        Settings.from_env({**base, "STORE_BATCH_LINGER_MS": "-1"})
    with pytest.raises(ValueError, match="batch_size"):
        BatchingWriter(CountingClient(), "g", record_identifier="customer_id", batch_size=26)


def test_a_batch_goes_as_soon_as_every_lane_waits_in_it():
    """With the lanes reporting in, nobody waits out the linger once no one else can join."""
    client = CountingClient()
    writer = writer_for(client, batch_size=25, concurrency=2)  # linger 5 s
    writer.lanes_opened(3)  # three lanes, two of them at a time: two can be waiting
    started = time.perf_counter()
    outcomes = put_in_order(writer, ["C1", "C2"])
    assert client.calls == [["C1", "C2"]]
    writer.lane_closed()
    writer.lane_closed()  # one lane left; its put is alone
    outcomes |= put_in_order(writer, ["C3"])
    assert time.perf_counter() - started < 2
    assert client.calls == [["C1", "C2"], ["C3"]]
    assert all(isinstance(o, float) for o in outcomes.values())


def test_a_closing_lane_sends_the_batch_the_others_wait_in():
    client = CountingClient()
    writer = writer_for(client, batch_size=25)  # linger 5 s
    writer.lanes_opened(2)
    waiting = threading.Thread(target=writer.put, args=(record("C1"),))
    waiting.start()
    while "C1" not in writer._in_flight:
        time.sleep(0.001)
    assert client.calls == []  # the other lane may still write
    writer.lane_closed()
    waiting.join(2)
    assert client.calls == [["C1"]]


def sent_bodies(client) -> list[bytes]:
    """Every request body ``client`` would send; the call itself answers an empty 200."""
    from botocore.awsrequest import AWSResponse

    bodies: list[bytes] = []

    class Body:
        def stream(self, **_):
            yield b'{"Errors":[],"UnprocessedEntries":[]}'

    def send(request, **_):
        bodies.append(request.body)
        return AWSResponse(request.url, 200, {"content-type": "application/json"}, Body())

    client.meta.events.register("before-send", send)
    return bodies


def test_json_dumps_bodies_are_byte_for_byte_botocores():
    entries = [
        {"FeatureGroupName": "g", "Record": record(f"C{i}"), "TargetStores": ["OnlineStore"]}
        for i in range(3)
    ]
    entries[0]["Record"].append({"FeatureName": "tags", "ValueAsStringList": ["a", "é"]})
    entries[1]["TtlDuration"] = {"Unit": "Days", "Value": 3}
    config = client_config(pool_size=1, max_attempts=1)
    plain = boto3.client("sagemaker-featurestore-runtime", region_name="us-east-1", config=config)
    fast = boto3.client("sagemaker-featurestore-runtime", region_name="us-east-1", config=config)
    serialize_with_json_dumps(fast, "BatchWriteRecord")
    expected, got = sent_bodies(plain), sent_bodies(fast)
    for client in (plain, fast):
        client.batch_write_record(Entries=entries)
    assert got == expected
    assert entries[2]["Record"] == record("C2")  # the caller's parameters are untouched


def test_json_dumps_bodies_are_refused_for_inputs_botocore_reshapes():
    client = boto3.client("sagemaker-featurestore-runtime", region_name="us-east-1")
    with pytest.raises(ValueError, match="PutRecord"):  # FeatureGroupName goes in the URI
        serialize_with_json_dumps(client, "PutRecord")
