"""The order function, given any Kinesis batch, writes each valid event and quarantines each
other one with a reason that names no value: never an exception, never a record lost or
reported as a transient failure when the store is healthy."""

from hypothesis import given
from hypothesis import strategies as st

import handlers.order_features as order_features
from devstack.standins.kinesis_event import kinesis_event
from tests.fixtures.kinesis_events import ORDER_POSITION
from tests.fuzz.strategies import NAME, event_payloads

partition_keys = st.one_of(st.just("C7"), st.just(NAME), st.text(min_size=1, max_size=20))


@given(st.lists(st.tuples(partition_keys, event_payloads), min_size=1, max_size=6))
def test_any_batch_is_written_or_quarantined_with_value_free_reasons(ingest_stack, records):
    import time

    event = kinesis_event(records, position=ORDER_POSITION, arrival=time.time())
    response = ingest_stack.invoke(order_features, event)
    assert response == {"batchItemFailures": []}
    for message in ingest_stack.quarantined():
        assert NAME not in message["reason"]
