"""Timestamps: parsing what sources send, and formatting what the Feature Store accepts.

The Feature Store accepts exactly ``yyyy-MM-dd'T'HH:mm:ss[.SSS]Z`` (UTC, milliseconds) for a
String event time; Python's ``isoformat()`` emits microseconds and ``+00:00``, which it does not.
Every timestamp the project writes goes through :func:`format_event_time`.
"""

from datetime import UTC, datetime


def parse_timestamp(text: str) -> datetime:
    """Parse an ISO-8601 timestamp, or a CSV export's ``YYYY-MM-DD HH:MM:SS`` (taken as UTC).

    Raises ``ValueError`` with the offending text on anything else.
    """
    try:  # as stored and sent (no padding): the request path reads two per record
        parsed = datetime.fromisoformat(text)
    except (ValueError, TypeError):
        try:
            parsed = datetime.fromisoformat(text.strip())
        except (ValueError, AttributeError) as error:
            raise ValueError(f"not an ISO-8601 timestamp: {text!r}") from error
    return as_utc(parsed)


def as_utc(moment: datetime) -> datetime:
    """A timezone-aware UTC datetime; naive datetimes are taken to be UTC already."""
    if moment.tzinfo is UTC:  # ``...Z`` parses to it: nothing to convert
        return moment
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def format_event_time(moment: datetime) -> str:
    """``2024-05-01T12:00:00.123Z``: UTC, millisecond precision (truncated), literal ``Z``."""
    # isoformat is implemented in C; on a UTC datetime it ends in "+00:00", which we swap.
    return as_utc(moment).isoformat(timespec="milliseconds")[:-6] + "Z"


def days_between(start: datetime, as_of: datetime) -> int:
    """Whole calendar days from the UTC date of ``start`` to the UTC date of ``as_of``.

    The tutorial's ``get_delta_days`` subtracts dates, not moments: an order at 23:59 is one
    day old at 00:01 the next day. Elapsed-time durations (record ages, TTLs) do not use this.
    """
    return (as_utc(as_of).date() - as_utc(start).date()).days
