"""Deeply nested and oversized payloads are rejected early, with a reason, never a crash."""

import base64
import json

import pytest

from featurestream.contract.events import MAX_EVENT_BYTES, InvalidEvent, parse_event
from handlers import order_features
from tests.fixtures.kinesis_events import batch, order_event

T1 = "2021-06-01T10:00:00.000Z"
DEPTH = (MAX_EVENT_BYTES - 1024) // 2  # ~7,700 nested arrays, just under the size cap


def nested_event() -> bytes:
    event = order_event(1, "C1", T1)
    event["data"]["extra"] = "NEST"
    text = json.dumps(event).replace('"NEST"', "[" * DEPTH + "]" * DEPTH)
    return text.encode()


@pytest.mark.parametrize(
    "payload",
    [("[" * DEPTH + "]" * DEPTH).encode(), nested_event(), b"[" * (MAX_EVENT_BYTES - 1)],
    ids=["bare-arrays", "inside-an-event", "unclosed"],
)
def test_deep_nesting_is_invalid_not_a_recursion_error(payload):
    assert len(payload) <= MAX_EVENT_BYTES
    with pytest.raises(InvalidEvent) as raised:
        parse_event(payload)
    assert raised.value.reason in ("payload is nested too deeply", "payload is not valid JSON")
    assert "[[" not in raised.value.reason


def test_well_formed_deep_nesting_names_the_nesting():
    with pytest.raises(InvalidEvent, match="nested too deeply"):
        parse_event(nested_event())


def test_oversized_is_rejected_before_parsing():
    event = order_event(1, "C1", T1)
    event["data"]["product_id"] = "P" * MAX_EVENT_BYTES
    with pytest.raises(InvalidEvent, match=f"the limit is {MAX_EVENT_BYTES}"):
        parse_event(json.dumps(event))


def test_quarantines_hostile(ingest_stack):
    oversized = order_event(2, "C2", T1)
    oversized["data"]["product_id"] = "P" * (MAX_EVENT_BYTES + 1)
    event = batch([nested_event(), oversized, order_event(3, "C3", T1)])
    response = ingest_stack.invoke(order_features, event)

    assert response == {"batchItemFailures": []}  # not retried
    records = event["Records"]
    messages = {m["sequence_number"]: m for m in ingest_stack.quarantined()}
    assert set(messages) == {r["kinesis"]["sequenceNumber"] for r in records[:2]}
    nested = messages[records[0]["kinesis"]["sequenceNumber"]]
    assert nested["reason"] == "payload is nested too deeply"
    assert base64.b64decode(nested["payload_base64"]) == nested_event()
    big = messages[records[1]["kinesis"]["sequenceNumber"]]
    assert f"the limit is {MAX_EVENT_BYTES}" in big["reason"]
