"""The event contract: what is accepted, and the field-level reason for what is not."""

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from featurestream.contract.events import (
    MAX_EVENT_BYTES,
    CustomerEvent,
    EventTimeWindow,
    InvalidEvent,
    OrderEvent,
    event_id_for,
    parse_event,
    validate_event,
)


def order(**overrides: Any) -> dict[str, Any]:
    data = {
        "order_id": "O17",
        "customer_id": "C42",
        "product_id": "P7",
        "purchase_amount": 12.5,
        "is_reordered": True,
        "purchased_on": "2021-03-04T05:06:07.000Z",
    }
    data.update(overrides.pop("data", {}))
    event = {
        "event_id": "order.placed:O17",
        "schema_version": 1,
        "event_type": "order.placed",
        "event_time": "2021-03-04T05:06:07.000Z",
        "source": "order-service",
        "data": data,
    }
    event.update(overrides)
    return event


def customer(**overrides: Any) -> dict[str, Any]:
    data = {
        "customer_id": "C42",
        "sex": "F",
        "age": 34,
        "is_married": False,
        "active_since": "2017-01-02T03:04:05Z",
    }
    data.update(overrides.pop("data", {}))
    event = {
        "event_id": "customer.registered:C42",
        "schema_version": 1,
        "event_type": "customer.registered",
        "event_time": "2017-01-02T03:04:05Z",
        "source": "crm",
        "data": data,
    }
    event.update(overrides)
    return event


def reason_for(event: dict[str, Any]) -> str:
    with pytest.raises(InvalidEvent) as caught:
        parse_event(json.dumps(event))
    return caught.value.reason


def test_valid_events_parse_to_their_types() -> None:
    assert isinstance(parse_event(json.dumps(order())), OrderEvent)
    parsed = parse_event(json.dumps(customer()).encode())
    assert isinstance(parsed, CustomerEvent)
    assert parsed.customer_id == "C42"
    assert parsed.data.active_since.utcoffset() is not None


def test_round_trip_through_json_is_lossless() -> None:
    event = validate_event(order())
    assert parse_event(event.model_dump_json()) == event


def test_offsets_are_the_same_instant_as_utc() -> None:
    event = validate_event(
        order(
            event_time="2021-03-04T07:06:07+02:00",
            data={"purchased_on": "2021-03-04T05:06:07Z"},
        )
    )
    assert event.event_time == event.data.purchased_on


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        (order(data={"customer_id": "42"}), "data.customer_id: String should match pattern"),
        (
            order(data={"purchase_amount": 0}),
            "data.purchase_amount: Input should be greater than 0",
        ),
        (
            order(data={"purchase_amount": -3}),
            "data.purchase_amount: Input should be greater than 0",
        ),
        (order(data={"is_reordered": "yes"}), "data.is_reordered: Input should be a valid boolean"),
        (order(data={"purchased_on": "2021-03-04 05:06:07"}), "data.purchased_on: "),
        (
            order(data={"purchased_on": 1614834367}),
            "data.purchased_on: Value error, timestamp must",
        ),
        (order(event_time="2021-03-05T00:00:00Z"), "event_time of order.placed must equal"),
        (order(schema_version=2), "schema_version: Input should be 1"),
        (order(event_type="order.cancelled"), "does not match any of the expected tags"),
        (order(data={"name": "Jane Roe"}), "data.name: Extra inputs are not permitted"),
        (customer(data={"age": 17}), "data.age: Input should be greater than or equal to 18"),
        (customer(data={"age": 121}), "data.age: Input should be less than or equal to 120"),
        (customer(data={"age": 30.5}), "data.age: Input should be a valid integer"),
        (customer(data={"sex": "X"}), "data.sex: Input should be 'F' or 'M'"),
        (customer(event_time="2018-01-01T00:00:00Z"), "must equal data.active_since"),
        (
            customer(event_type="customer.updated", event_time="2016-01-01T00:00:00Z"),
            "cannot precede data.active_since",
        ),
        (customer(event_id=""), "event_id: String should have at least 1 character"),
    ],
)
def test_invalid_events_name_the_field(event: dict[str, Any], expected: str) -> None:
    assert expected in reason_for(event)


def test_missing_fields_are_each_named() -> None:
    event = order()
    del event["source"]
    del event["data"]["product_id"]
    reason = reason_for(event)
    assert "source: Field required" in reason
    assert "data.product_id: Field required" in reason


def test_reasons_never_echo_values() -> None:
    reason = reason_for(order(data={"name": "Jane Roe", "customer_id": "Jane Roe"}))
    assert "Jane" not in reason


def test_an_unknown_field_is_named_only_when_its_name_is_an_identifier() -> None:
    reason = reason_for(order(data={"Jane Roe": 1, "jane.roe@example.com": 2, "colour": 3}))
    assert "Jane" not in reason and "jane" not in reason
    assert "data.(a field whose name is not an identifier): Extra inputs" in reason
    assert "data.colour: Extra inputs are not permitted" in reason


WINDOW = EventTimeWindow(datetime(2000, 1, 1, tzinfo=UTC), 300.0)
NOW = datetime(2022, 1, 1, 12, tzinfo=UTC)


@pytest.mark.parametrize(
    ("moment", "reason"),
    [
        (datetime(2000, 1, 1, tzinfo=UTC), None),
        (NOW + timedelta(seconds=300), None),
        (datetime(1999, 12, 31, 23, 59, 59, 999000, tzinfo=UTC), "event_time is before 2000-01"),
        (NOW + timedelta(seconds=300, milliseconds=1), "event_time is more than 300 s after"),
    ],
)
def test_the_window_includes_both_bounds(moment: datetime, reason: str | None) -> None:
    stamp = moment.isoformat()
    event = validate_event(order(event_time=stamp, data={"purchased_on": stamp}))
    found = WINDOW.violation(event, NOW)
    assert found is None if reason is None else found.startswith(reason)


def test_the_window_checks_a_profiles_registration_too() -> None:
    event = validate_event(
        customer(
            event_type="customer.updated",
            event_time="2021-01-01T00:00:00Z",
            data={"active_since": "1900-01-01T00:00:00Z"},
        )
    )
    found = WINDOW.violation(event, NOW)
    assert found == (
        "data.active_since is before 2000-01-01T00:00:00.000Z, "
        "the earliest time accepted (EVENT_TIME_NOT_BEFORE)"
    )


def test_updated_event_may_come_after_registration() -> None:
    event = validate_event(
        customer(event_type="customer.updated", event_time="2020-05-05T00:00:00Z")
    )
    assert event.event_time > event.data.active_since


def test_not_json_and_oversized_payloads_are_rejected() -> None:
    with pytest.raises(InvalidEvent, match="not valid JSON"):
        parse_event(b"\x00\xffnot json")
    with pytest.raises(InvalidEvent, match="limit is"):
        parse_event(b" " * (MAX_EVENT_BYTES + 1))


def test_event_ids_are_deterministic_per_fact() -> None:
    assert event_id_for("order.placed", "O1") == event_id_for("order.placed", "O1")
    assert event_id_for("order.placed", "O1") != event_id_for("order.placed", "O2")
    validate_event(order(event_id=event_id_for("order.placed", "O17")))
