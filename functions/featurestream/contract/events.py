"""The event contract: what producers publish to the streams and the Lambdas accept.

Two event types travel on two streams (customer events, order events), each in the same
envelope. ``event_time`` is the business time (``active_since`` for a registration,
``purchased_on`` for an order), never the time the event was sent or ingested; the
validators enforce that so a producer cannot quietly send the wrong clock.

The contract carries no names or free text: only what features are computed from.
JSON Schemas generated from these models are committed under ``docs/events/``.
"""

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any, Final, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    WithJsonSchema,
    model_validator,
)

from featurestream.contract.identifiers import (
    CUSTOMER_ID_PATTERN,
    ORDER_ID_PATTERN,
    PRODUCT_ID_PATTERN,
)
from featurestream.contract.timeutil import format_event_time

SCHEMA_VERSION: Final = 1
MIN_AGE: Final = 18
MAX_AGE: Final = 120
MAX_EVENT_BYTES: Final = 16 * 1024
"""Events are a few hundred bytes; anything near Kinesis' 1 MiB is an attack or a bug."""

CUSTOMER_EVENT_TYPES: Final = ("customer.registered", "customer.updated")
ORDER_EVENT_TYPES: Final = ("order.placed",)
_ALL_EVENT_TYPES: Final = frozenset(CUSTOMER_EVENT_TYPES + ORDER_EVENT_TYPES)
_FIELD_NAME: Final = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
"""What an unknown field's name must look like to be named in a reason."""


def _require_text_or_datetime(value: Any) -> Any:
    """Only an ISO-8601 string or a datetime; pydantic itself requires the zone.

    pydantic's lax parsing would also take epoch numbers, guessing seconds or milliseconds
    from the magnitude; the contract wants an explicit ISO-8601 instant instead.
    """
    if isinstance(value, str | datetime):
        return value
    raise ValueError("timestamp must be an ISO-8601 string such as 2021-03-04T05:06:07.000Z")


UtcTimestamp = Annotated[
    AwareDatetime,
    BeforeValidator(_require_text_or_datetime),
    WithJsonSchema(
        {
            "type": "string",
            "format": "date-time",
            "description": "ISO-8601 instant with a zone, e.g. 2021-03-04T05:06:07.000Z",
        }
    ),
]
"""An aware instant. It is formatted for the Feature Store (UTC, milliseconds) only when
written, by :func:`featurestream.contract.timeutil.format_event_time`."""


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


class CustomerData(_Strict):
    """A customer's profile as of the event: only what features are computed from."""

    customer_id: Annotated[str, Field(pattern=CUSTOMER_ID_PATTERN, examples=["C42"])]
    sex: Annotated[Literal["F", "M"], Field(description="F or M")]
    age: Annotated[int, Field(strict=True, ge=MIN_AGE, le=MAX_AGE, description="years")]
    is_married: Annotated[bool, Field(strict=True)]
    active_since: Annotated[UtcTimestamp, Field(description="when the customer registered")]


class OrderData(_Strict):
    """An order as placed."""

    order_id: Annotated[str, Field(pattern=ORDER_ID_PATTERN, examples=["O1001"])]
    customer_id: Annotated[str, Field(pattern=CUSTOMER_ID_PATTERN, examples=["C42"])]
    product_id: Annotated[str, Field(pattern=PRODUCT_ID_PATTERN, examples=["P7"])]
    purchase_amount: Annotated[float, Field(gt=0, le=1_000_000, description="order total")]
    is_reordered: Annotated[bool, Field(strict=True, description="a repeat of an earlier order")]
    purchased_on: Annotated[UtcTimestamp, Field(description="when the order was placed")]


class _Envelope(_Strict):
    event_id: Annotated[
        str,
        Field(
            min_length=1,
            max_length=128,
            pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]*$",
            description="unique per event; a re-sent event keeps its id",
        ),
    ]
    schema_version: Literal[1]
    event_time: Annotated[UtcTimestamp, Field(description="business time of the event")]
    source: Annotated[
        str,
        Field(min_length=1, max_length=128, description="who published it, e.g. order-service"),
    ]


class CustomerEvent(_Envelope):
    """A customer registered (``event_time`` = ``active_since``) or updated their profile."""

    event_type: Literal["customer.registered", "customer.updated"]
    data: CustomerData

    @model_validator(mode="after")
    def _event_time_is_business_time(self) -> "CustomerEvent":
        if self.event_type == "customer.registered" and self.event_time != self.data.active_since:
            raise ValueError("event_time of customer.registered must equal data.active_since")
        if self.event_type == "customer.updated" and self.event_time < self.data.active_since:
            raise ValueError("event_time of customer.updated cannot precede data.active_since")
        return self

    @property
    def customer_id(self) -> str:
        return self.data.customer_id

    def timestamps(self) -> tuple[tuple[str, datetime], ...]:
        """Every instant the event carries, by field path (``active_since`` feeds tenure)."""
        return (("event_time", self.event_time), ("data.active_since", self.data.active_since))


class OrderEvent(_Envelope):
    """An order was placed (``event_time`` = ``purchased_on``)."""

    event_type: Literal["order.placed"]
    data: OrderData

    @model_validator(mode="after")
    def _event_time_is_business_time(self) -> "OrderEvent":
        if self.event_time != self.data.purchased_on:
            raise ValueError("event_time of order.placed must equal data.purchased_on")
        return self

    @property
    def customer_id(self) -> str:
        return self.data.customer_id

    def timestamps(self) -> tuple[tuple[str, datetime], ...]:
        """Every instant the event carries (``purchased_on`` equals ``event_time``)."""
        return (("event_time", self.event_time),)


Event = Annotated[CustomerEvent | OrderEvent, Field(discriminator="event_type")]
_EVENT_ADAPTER: Final[TypeAdapter[CustomerEvent | OrderEvent]] = TypeAdapter(Event)


class InvalidEvent(ValueError):
    """An event that can never be processed; ``reason`` is safe to log (it holds no values)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def describe_validation_error(error: ValidationError) -> str:
    """One line per problem, ``field.path: message``, without echoing the input values.

    Input values may be personal data, so they never enter a reason that may be logged.
    """
    problems = []
    for item in error.errors(include_url=False, include_input=False):
        loc = list(item["loc"])
        if loc and loc[0] in _ALL_EVENT_TYPES:  # the union's tag, not a field
            loc = loc[1:]
        if item["type"] == "extra_forbidden" and loc and not _FIELD_NAME.match(str(loc[-1])):
            loc[-1] = "(a field whose name is not an identifier)"  # the key is input, too
        location = ".".join(str(part) for part in loc) or "event"
        message = item["msg"]
        if item["type"] == "union_tag_invalid":  # pydantic's message quotes the input tag
            expected = item.get("ctx", {}).get("expected_tags")
            message = f"tag does not match any of the expected tags: {expected}"
        problems.append(f"{location}: {message}")
    return "; ".join(problems)


def parse_event(payload: bytes | str) -> CustomerEvent | OrderEvent:
    """Decode and validate one event from JSON; raise :class:`InvalidEvent` with a reason."""
    size = len(payload.encode() if isinstance(payload, str) else payload)
    if size > MAX_EVENT_BYTES:
        raise InvalidEvent(f"event is {size} bytes; the limit is {MAX_EVENT_BYTES}")
    try:
        return _EVENT_ADAPTER.validate_json(payload)
    except ValidationError as error:
        json_errors = [item for item in error.errors() if item["type"].startswith("json_")]
        if any("recursion limit" in item["msg"] for item in json_errors):
            raise InvalidEvent("payload is nested too deeply") from error
        if json_errors:
            raise InvalidEvent("payload is not valid JSON") from error
        raise InvalidEvent(describe_validation_error(error)) from error


def validate_event(event: dict[str, Any]) -> CustomerEvent | OrderEvent:
    """Validate an event given as a Python mapping (as producers build them)."""
    try:
        return _EVENT_ADAPTER.validate_python(event)
    except ValidationError as error:
        raise InvalidEvent(describe_validation_error(error)) from error


@dataclass(frozen=True)
class EventTimeWindow:
    """The instants an event may carry: from ``not_before`` to the processing time plus
    ``max_skew_seconds``.

    The Feature Store keeps online the record with the newest event time, so one event
    dated in the future would hide every real event of its customer until then. The upper
    bound follows the processing clock, not the data: a replay that shifts history to end
    now still fits, and ``max_skew_seconds`` absorbs producers' clocks running ahead.
    """

    not_before: datetime
    max_skew_seconds: float

    def violation(self, event: CustomerEvent | OrderEvent, now: datetime) -> str | None:
        """Why ``event`` falls outside the window at processing time ``now``, or None.

        The reason names the field and the window, never the value."""
        latest = now + timedelta(seconds=self.max_skew_seconds)
        for field, moment in event.timestamps():
            if moment < self.not_before:
                return (
                    f"{field} is before {format_event_time(self.not_before)}, "
                    "the earliest time accepted (EVENT_TIME_NOT_BEFORE)"
                )
            if moment > latest:
                return (
                    f"{field} is more than {self.max_skew_seconds:g} s after the processing "
                    "time (EVENT_TIME_MAX_SKEW_SECONDS)"
                )
        return None


def event_id_for(event_type: str, natural_key: str) -> str:
    """A deterministic, readable id (``order.placed:O17``) for a business fact that happens
    once, so replaying it twice is recognisably the same event."""
    return f"{event_type}:{natural_key}"


def event_json_schemas() -> dict[str, dict[str, Any]]:
    """The published JSON Schemas, keyed by file stem (``customer-event``, ``order-event``)."""
    return {
        "customer-event": CustomerEvent.model_json_schema(mode="validation"),
        "order-event": OrderEvent.model_json_schema(mode="validation"),
    }
