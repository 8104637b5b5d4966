"""Customer names and raw payloads never reach log output; the quarantine queue keeps them.

The stream handlers run for real against the Feature Store emulator and moto's SQS (the
``ingest_stack`` fixture), at DEBUG, with a name-like string in an unknown field and in
invalid values. Everything logged is captured twice: a handler on the Powertools logger
(and the root logger) and pytest's stdout/stderr capture.
"""

import base64
import json
import logging
import time

import pytest

from devstack.standins.kinesis_event import kinesis_event
from featurestream.aws.observability import logger
from handlers import customer_features, order_features
from tests.fixtures.kinesis_events import (
    CUSTOMER_POSITION,
    ORDER_POSITION,
    batch,
    customer_event,
    order_event,
)

NAME = "Zebulon Quackenbush"
T1 = "2021-06-01T10:00:00.000Z"


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        # the formatted line and every attribute (Powertools keeps extras on the record)
        self.lines.append(f"{record.getMessage()} {record.__dict__!r}")


@pytest.fixture
def captured_logs():
    capture = _Capture()
    targets = [logging.getLogger(), logging.getLogger(logger.name)]
    level = logger.log_level
    logger.setLevel("DEBUG")
    for target in targets:
        target.addHandler(capture)
    try:
        yield capture
    finally:
        for target in targets:
            target.removeHandler(capture)
        logger.setLevel(level)


def customer_events():
    unknown_field = customer_event("C1", T1)
    unknown_field["data"]["name"] = NAME
    bad_values = customer_event("C2", T1)
    bad_values["data"].update(sex=NAME, age=NAME, active_since=NAME)
    bad_tag = customer_event("C3", T1)
    bad_tag["event_type"] = NAME
    bad_time = customer_event("C4", T1)
    bad_time["event_time"] = NAME
    bad_source = customer_event("C5", T1)
    bad_source["source"] = {"name": NAME}
    return [unknown_field, bad_values, bad_tag, bad_time, bad_source, customer_event("C6", T1)]


def order_events():
    unknown_field = order_event(1, "C1", T1)
    unknown_field["customer_name"] = NAME
    bad_values = order_event(2, "C2", T1)
    bad_values["data"].update(purchase_amount=NAME, is_reordered=NAME, purchased_on=NAME)
    not_json = f'{{"name": "{NAME}"'.encode()
    return [unknown_field, bad_values, not_json, order_event(3, "C3", T1)]


@pytest.mark.parametrize(
    ("module", "events", "position"),
    [
        (customer_features, customer_events, CUSTOMER_POSITION),
        (order_features, order_events, None),
    ],
    ids=["customers", "orders"],  # short: the node name becomes resource names
)
def test_no_names_in_logs(ingest_stack, captured_logs, capsys, module, events, position):
    items = events()
    event = batch(items, position=position) if position else batch(items)
    response = ingest_stack.invoke(module, event)

    assert response == {"batchItemFailures": []}
    quarantined = ingest_stack.quarantined()
    assert len(quarantined) == len(items) - 1  # every event but the last, valid one
    for message in quarantined:  # the queue keeps the raw payload: that is its job
        assert NAME in base64.b64decode(message["payload_base64"]).decode()
        assert NAME not in message["reason"]

    out, err = capsys.readouterr()
    logged = "\n".join([*captured_logs.lines, out, err])
    assert "invalid record quarantined" in logged  # the capture does see the handler's logs
    assert "batch processed" in logged
    for needle in (NAME, json.dumps(NAME), "Quackenbush"):
        assert needle not in logged


def test_names_in_keys_and_partition_keys_stay_out_of_reasons_and_logs(
    ingest_stack, captured_logs, capsys
):
    """A name as a field's key, as the partition key, or beside a time out of bounds: the
    quarantine message keeps it in the payload (and the partition key) for repair, and the
    reason and every log line leave it out."""
    named_key = order_event(1, "C1", T1)
    named_key["data"][NAME] = True
    keyed_by_name = order_event(2, "C2", T1)
    far_future = order_event(3, "C3", "9999-12-31T23:59:59.000Z")
    far_future["source"] = NAME
    entries = [
        ("C1", json.dumps(named_key).encode()),
        (NAME, json.dumps(keyed_by_name).encode()),
        ("C3", json.dumps(far_future).encode()),
    ]
    event = kinesis_event(entries, position=ORDER_POSITION, arrival=time.time())

    assert ingest_stack.invoke(order_features, event) == {"batchItemFailures": []}

    quarantined = ingest_stack.quarantined()
    assert len(quarantined) == 3
    for message in quarantined:
        assert NAME not in message["reason"]
    assert {m["partition_key"] for m in quarantined} == {"C1", NAME, "C3"}
    payloads = [base64.b64decode(m["payload_base64"]).decode() for m in quarantined]
    assert sum(NAME in payload for payload in payloads) == 2  # keyed_by_name holds none
    out, err = capsys.readouterr()
    logged = "\n".join([*captured_logs.lines, out, err])
    assert "invalid record quarantined" in logged
    assert "Quackenbush" not in logged
