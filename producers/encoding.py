"""Turn an event (model, mapping or JSON) into the bytes a Kinesis record carries.

Validation happens here, at the caller, so an invalid event raises
:class:`~featurestream.contract.events.InvalidEvent` with a field-level reason and is never sent.
"""

from collections.abc import Mapping
from typing import Any, Literal, NamedTuple

from featurestream.contract.events import (
    MAX_EVENT_BYTES,
    CustomerEvent,
    InvalidEvent,
    OrderEvent,
    parse_event,
    validate_event,
)

StreamKind = Literal["customer", "order"]
AnyEvent = CustomerEvent | OrderEvent


class EncodedEvent(NamedTuple):
    """A validated event as sent: its JSON bytes, partition key and destination kind.

    Carries only the event id and type besides the payload, so it can be logged by id
    without touching the payload. A named tuple (built in C) because the replay producer
    makes one per event.
    """

    event_id: str
    event_type: str
    kind: StreamKind
    partition_key: str
    data: bytes

    @property
    def size(self) -> int:
        """Bytes Kinesis counts against its limits: data plus partition key."""
        return len(self.data) + len(self.partition_key.encode())


def encode_event(event: AnyEvent | Mapping[str, Any] | bytes | str) -> EncodedEvent:
    """Validate (unless already a model instance, which pydantic validated when it was
    built) and serialise one event; raise ``InvalidEvent`` if it breaks the contract."""
    if isinstance(event, CustomerEvent | OrderEvent):
        model = event
    elif isinstance(event, bytes | str):
        model = parse_event(event)
    elif isinstance(event, Mapping):
        model = validate_event(dict(event))
    else:
        raise InvalidEvent(f"event: expected a mapping, JSON or event model, not {type(event)}")
    data = model.model_dump_json().encode()
    if len(data) > MAX_EVENT_BYTES:
        raise InvalidEvent(f"event is {len(data)} bytes; the limit is {MAX_EVENT_BYTES}")
    kind: StreamKind = "customer" if isinstance(model, CustomerEvent) else "order"
    return EncodedEvent(model.event_id, model.event_type, kind, model.customer_id, data)
