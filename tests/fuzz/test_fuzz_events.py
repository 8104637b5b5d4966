"""The event contract (what the stream functions and the publisher run first) turns any input
into an event or an InvalidEvent whose reason holds no value sent: never another exception."""

import json

from hypothesis import given
from hypothesis import strategies as st

from featurestream.contract.events import CustomerEvent, InvalidEvent, OrderEvent, parse_event
from producers.encoding import encode_event
from tests.fuzz.strategies import NAME, event_payloads, json_values, near_valid_orders


@given(event_payloads)
def test_any_payload_parses_or_is_invalid_with_a_value_free_reason(payload: bytes) -> None:
    try:
        event = parse_event(payload)
    except InvalidEvent as invalid:
        assert NAME not in invalid.reason
        assert invalid.reason.strip()
    else:
        assert isinstance(event, CustomerEvent | OrderEvent)


@given(st.one_of(near_valid_orders(), json_values))
def test_the_publisher_encodes_or_refuses_any_mapping_without_echoing_it(value: object) -> None:
    try:
        encoded = encode_event(value if isinstance(value, dict) else json.dumps(value))
    except InvalidEvent as invalid:
        assert NAME not in invalid.reason
    else:
        assert encoded.partition_key == json.loads(encoded.data)["data"]["customer_id"]
