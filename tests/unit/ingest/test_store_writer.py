"""Unit tests of the store writer: request shape, per-entry outcomes, unprocessed re-sends,
whole-call failures, order within an identifier, coalescing, calls in flight, linger."""

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import boto3
import pytest
from botocore.stub import Stubber

from featurestream.aws.clients import client_config, serialize_with_json_dumps
from featurestream.aws.store_errors import StoreRejected, TransientStoreError
from featurestream.ingest.settings import ConfigError, Settings
from featurestream.ingest.store_writer import Deferred, StoreWriter

DAY1, DAY2, DAY3 = (f"2021-06-0{d}T10:00:00.000Z" for d in (1, 2, 3))


def record(customer: str, event_time: str = DAY1) -> list[dict[str, str]]:
    return [
        {"FeatureName": "customer_id", "ValueAsString": customer},
        {"FeatureName": "event_time", "ValueAsString": event_time},
    ]


def entry(customer: str) -> dict:
    return {"FeatureGroupName": "g", "Record": record(customer)}


def writer_for(client, *, concurrency: int = 1, **kwargs) -> StoreWriter:
    kwargs.setdefault("linger_ms", 5_000)
    return StoreWriter(
        client,
        "g",
        record_identifier="customer_id",
        executor=ThreadPoolExecutor(concurrency),
        concurrency=concurrency,
        sleep=lambda s: None,
        **kwargs,
    )


def write(writer: StoreWriter, customers: list[str]) -> dict[str, object]:
    """One ``write_all`` of a record per customer; outcome per customer."""
    outcomes = writer.write_all((n, record(c)) for n, c in enumerate(customers))
    return {customers[n]: outcome for n, outcome in outcomes.items()}


class CountingClient:
    """A stand-in ``batch_write_record`` that records each call's entries and how many calls
    were in flight at once; ``response`` decides each call's answer."""

    def __init__(self, delay: float = 0.0, response=None) -> None:
        self.calls: list[list[str]] = []
        self.records: list[list[list[dict[str, str]]]] = []
        self.peak = 0
        self._active = 0
        self._lock = threading.Lock()
        self._delay = delay
        self._response = response or (lambda entries: {"Errors": [], "UnprocessedEntries": []})

    @property
    def keys(self) -> list[str]:
        return [key for call in self.calls for key in call]

    def batch_write_record(self, *, Entries):
        with self._lock:
            self.calls.append([e["Record"][0]["ValueAsString"] for e in Entries])
            self.records.append([e["Record"] for e in Entries])
            self._active += 1
            self.peak = max(self.peak, self._active)
        time.sleep(self._delay)
        with self._lock:
            self._active -= 1
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
        outcomes = write(writer_for(client, batch_size=4), ["C1", "C2", "C3", "C4"])
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

    outcomes = write(writer_for(CountingClient(response=response), batch_size=1), ["C1"])
    assert type(outcomes["C1"]) is outcome


def test_unprocessed_entries_are_resent_a_bounded_number_of_times_then_transient():
    client = CountingClient(response=lambda entries: {"Errors": [], "UnprocessedEntries": entries})
    outcomes = write(writer_for(client, batch_size=2, unprocessed_attempts=3), ["C1", "C2"])
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
        outcomes = write(writer_for(client, batch_size=3), ["C1", "C2", "C3"])
    assert [type(outcomes[c]) for c in ("C1", "C2", "C3")] == [outcome] * 3


def test_an_unmatched_entry_outcome_fails_the_call_transiently():
    def response(entries):
        return {"Errors": [{"Entry": {"X": 1}, "ErrorCode": "InternalFailure"}]}

    outcomes = write(writer_for(CountingClient(response=response), batch_size=2), ["A", "B"])
    assert all(type(o) is TransientStoreError for o in outcomes.values())


def test_a_bug_in_the_call_reaches_every_waiting_put():
    class Broken:
        def batch_write_record(self, **kwargs):
            raise KeyError("boom")

    outcomes = write(writer_for(Broken(), batch_size=2), ["A", "B"])
    assert all(isinstance(o, KeyError) for o in outcomes.values())


def test_records_go_in_full_calls_and_several_calls_in_flight():
    client = CountingClient(delay=0.05)
    customers = [f"C{i}" for i in range(100)]
    outcomes = write(writer_for(client, concurrency=4, linger_ms=0), customers)
    assert all(isinstance(outcomes[c], float) for c in customers)
    assert [len(call) for call in client.calls] == [25, 25, 25, 25]
    assert sorted(client.keys) == sorted(customers)
    assert client.peak == 4


def test_never_more_calls_in_flight_than_the_concurrency():
    client = CountingClient(delay=0.02)
    write(writer_for(client, concurrency=2, batch_size=5), [f"C{i}" for i in range(40)])
    assert len(client.calls) == 8
    assert client.peak == 2


def test_one_identifiers_records_are_written_in_order_one_call_at_a_time():
    client = CountingClient(delay=0.01)
    writer = writer_for(client, concurrency=4, batch_size=3, linger_ms=0)
    plan = [("C1", DAY1), ("C2", DAY1), ("C1", DAY2), ("C1", DAY3), ("C2", DAY2), ("C3", DAY1)]
    outcomes = writer.write_all((n, record(c, t)) for n, (c, t) in enumerate(plan))
    assert all(isinstance(outcome, float) for outcome in outcomes.values())
    assert all(len(set(call)) == len(call) for call in client.calls)
    written = [
        (rec[0]["ValueAsString"], rec[1]["ValueAsString"])
        for call in client.records
        for rec in call
    ]
    assert [t for c, t in written if c == "C1"] == [DAY1, DAY2, DAY3]
    assert [t for c, t in written if c == "C2"] == [DAY1, DAY2]


def test_a_failed_record_defers_the_rest_of_its_identifier_only():
    def response(entries):
        failing = [e for e in entries if e["Record"][0]["ValueAsString"] == "A"]
        return {
            "Errors": [{"Entry": e, "ErrorCode": "ThrottlingException"} for e in failing],
            "UnprocessedEntries": [],
        }

    client = CountingClient(response=response)
    writer = writer_for(client, concurrency=2, batch_size=2, linger_ms=0)
    plan = ["A", "B", "A", "A", "B"]
    outcomes = writer.write_all(
        (n, record(c, f"2021-06-0{n + 1}T00:00:00.000Z")) for n, c in enumerate(plan)
    )
    assert type(outcomes[0]) is TransientStoreError
    assert type(outcomes[2]) is Deferred and type(outcomes[3]) is Deferred
    assert isinstance(outcomes[1], float) and isinstance(outcomes[4], float)
    assert client.keys.count("A") == 1  # the deferred ones were never sent


def test_a_call_with_room_left_goes_at_once_when_no_more_can_join():
    client = CountingClient()
    started = time.perf_counter()
    write(writer_for(client, linger_ms=5_000), ["C1", "C2"])
    assert time.perf_counter() - started < 2
    assert client.calls == [["C1", "C2"]]


def test_a_call_with_room_left_waits_for_a_call_that_frees_more_records():
    """C0's second record can join only when the first call is back; the lone D waits."""
    client = CountingClient(delay=0.05)
    customers = [f"C{i}" for i in range(25)] + ["C0", "D"]
    outcomes = write(writer_for(client, concurrency=2, linger_ms=5_000), customers)
    assert client.calls == [[f"C{i}" for i in range(25)], ["D", "C0"]]
    assert all(isinstance(outcome, float) for outcome in outcomes.values())


def test_the_linger_bounds_that_wait():
    client = CountingClient(delay=0.5)
    customers = [f"C{i}" for i in range(25)] + ["C0", "D"]
    write(writer_for(client, concurrency=2, linger_ms=10), customers)
    assert client.calls == [[f"C{i}" for i in range(25)], ["D"], ["C0"]]


def test_a_record_without_its_identifier_fails_alone():
    client = CountingClient()
    writer = writer_for(client)
    outcomes = writer.write_all(
        [(0, [{"FeatureName": "x", "ValueAsString": "1"}]), (1, record("C1"))]
    )
    assert isinstance(outcomes[0], ValueError)
    assert isinstance(outcomes[1], float)


def test_batch_settings_from_env():
    base = {"FEATURE_GROUP_NAME": "g", "QUARANTINE_QUEUE_URL": "q"}
    settings = Settings.from_env(base)
    assert (settings.store_batch_size, settings.store_batch_linger_ms) == (25, 20.0)
    assert settings.put_concurrency == 8
    custom = Settings.from_env({**base, "STORE_BATCH_SIZE": "10", "STORE_BATCH_LINGER_MS": "0"})
    assert (custom.store_batch_size, custom.store_batch_linger_ms) == (10, 0.0)
    for bad in ({"STORE_BATCH_SIZE": "26"}, {"STORE_BATCH_SIZE": "0"}):
        with pytest.raises(ConfigError, match="STORE_BATCH_SIZE"):
            Settings.from_env({**base, **bad})
    with pytest.raises(ConfigError, match="STORE_BATCH_LINGER_MS"):
        Settings.from_env({**base, "STORE_BATCH_LINGER_MS": "-1"})
    with pytest.raises(ValueError, match="batch_size"):
        writer_for(CountingClient(), batch_size=26)
    with pytest.raises(ValueError, match="concurrency"):
        StoreWriter(
            CountingClient(),
            "g",
            record_identifier="customer_id",
            executor=ThreadPoolExecutor(1),
            concurrency=0,
        )


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
