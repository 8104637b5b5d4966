"""Pure checks: event-time grammar and range, value grammars, name patterns."""

import pytest

from devstack.standins.featurestore.errors import ApiError
from devstack.standins.featurestore.validation import (
    check_fg_name_or_arn,
    check_scalar,
    parse_event_time,
    ttl_seconds,
)


@pytest.mark.parametrize(
    ("value", "millis"),
    [
        ("1970-01-01T00:00:00Z", 0),
        ("2024-05-01T12:00:00.123Z", 1_714_564_800_123),
        ("2024-02-29T00:00:00Z", 1_709_164_800_000),
        ("0000-01-01T00:00:00.000Z", -62_167_219_200_000),
        ("9999-12-31T23:59:59.999Z", 253_402_300_799_999),
    ],
)
def test_string_event_times_parse_to_epoch_millis(value, millis):
    assert parse_event_time(value, "String") == millis


@pytest.mark.parametrize(
    "value",
    [
        "2023-02-29T00:00:00Z",
        "2024-05-01T24:00:00Z",
        "2024-13-01T00:00:00Z",
        "2024-05-01T12:00:00.12Z",
    ],
)
def test_impossible_string_event_times_are_rejected(value):
    with pytest.raises(ApiError) as exc:
        parse_event_time(value, "String")
    assert exc.value.code == "ValidationError"


def test_fractional_event_times_are_seconds_with_millisecond_precision():
    assert parse_event_time("1714564800.123", "Fractional") == 1_714_564_800_123
    assert parse_event_time("1714564800", "Fractional") == 1_714_564_800_000
    with pytest.raises(ApiError, match="epoch seconds, not ms"):
        parse_event_time("1714564800123", "Fractional")


def test_integral_range_is_int64():
    check_scalar("f", "Integral", str(2**63 - 1))
    check_scalar("f", "Integral", str(-(2**63)))
    with pytest.raises(ApiError):
        check_scalar("f", "Integral", str(2**63))


@pytest.mark.parametrize("value", ["nan", "NaN", "Infinity", "-inf", "1,5", ""])
def test_fractional_must_be_finite_decimal(value):
    with pytest.raises(ApiError):
        check_scalar("f", "Fractional", value)


def test_group_name_or_arn_pattern():
    check_fg_name_or_arn("n", "arn:aws:sagemaker:us-east-1:123456789012:feature-group/customers")
    for bad in ("-lead", "trail-", "has space", "x" * 151):
        with pytest.raises(ApiError):
            check_fg_name_or_arn("n", bad)


def test_ttl_units():
    assert ttl_seconds("t", {"Unit": "Weeks", "Value": 2}) == 14 * 86400
    assert ttl_seconds("t", None) is None
    with pytest.raises(ApiError):
        ttl_seconds("t", {"Unit": "Seconds"})
