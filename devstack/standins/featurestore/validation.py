"""Service-side checks botocore does not make: types, lengths, patterns, enums, grammars.

botocore validates only ``required`` and ``min`` client-side, so every ``max``, ``pattern``
and ``enum`` in the models is enforced here, with messages in the service's style. Hand-made
requests can also put any JSON type anywhere, so every check first checks the type (a
string is never taken for a list). Messages name the member and the rule, never the value
sent: values may be personal data.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable, Sized
from typing import Any

from devstack.standins.featurestore.errors import ApiError, validation

NAME_RE = re.compile(r"[a-zA-Z0-9]([-_]*[a-zA-Z0-9]){0,63}")
FG_NAME_OR_ARN_RE = re.compile(
    r"(arn:aws[a-z\-]*:sagemaker:[a-z0-9\-]*:[0-9]{12}:feature-group/)?"
    r"([a-zA-Z0-9]([-_]*[a-zA-Z0-9]){0,63})"
)
ROLE_ARN_RE = re.compile(r"arn:aws[a-z\-]*:iam::[0-9]{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+")
S3_URI_RE = re.compile(r"(https|s3)://([^/]+)/?(.*)")
KMS_RE = re.compile(r"[a-zA-Z0-9:/_-]*")


class UnicodeClassPattern:
    """A model pattern of the form ``([\\p{L}\\p{Z}\\p{N}<extra>]*)``: every character a letter
    (L*), a separator (Z*: space, no-break space... but not tab or newline, which are Cc) or a
    number (N*), or one of ``extra``. Python's ``re`` has no ``\\p{..}``; ``\\w\\s`` would let tab
    and newline through."""

    def __init__(self, pattern: str, extra: str) -> None:
        self.pattern = pattern
        self._extra = frozenset(extra)

    def fullmatch(self, value: str) -> bool:
        return all(c in self._extra or unicodedata.category(c)[0] in "LZN" for c in value)


# DataCatalogConfig names: the model's [\u0020-\uD7FF\uE000-\uFFFD\uD800\uDC00-\uDBFF\uDFFF\t]*
# in UTF-16 terms, i.e. any character but the C0 controls other than tab (and unpaired
# surrogates, which a request cannot carry).
CATALOG_NAME_RE = re.compile("[\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff\t]*")
TAG_RE = UnicodeClassPattern(r"([\p{L}\p{Z}\p{N}_.:/=+\-@]*)", "_.:/=+-@")
PARAM_RE = UnicodeClassPattern(r"([\p{L}\p{Z}\p{N}_.:/=+\-]*)", "_.:/=+-")
# [0-9], never \d: the service's numbers and timestamps are ASCII (\d takes "١٢" too).
EVENT_TIME_STRING_RE = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]{3}))?Z"
)
INTEGRAL_RE = re.compile(r"-?[0-9]+")
FRACTIONAL_RE = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?")

FEATURE_TYPES = ("Integral", "Fractional", "String")
COLLECTION_TYPES = ("List", "Set", "Vector")
STORAGE_TYPES = ("Standard", "Standard_V2", "InMemory")
TABLE_FORMATS = ("Default", "Glue", "Iceberg")
THROUGHPUT_MODES = ("OnDemand", "Provisioned")
TARGET_STORES = ("OnlineStore", "OfflineStore")
TTL_UNITS = {"Seconds": 1, "Minutes": 60, "Hours": 3600, "Days": 86400, "Weeks": 604800}
RESERVED_FEATURE_NAMES = ("is_deleted", "write_time", "api_invocation_time")

MAX_VALUE_CHARS = 358_400
MAX_RECORD_BYTES = 350 * 1024
MAX_IDENTIFIER_BYTES = 2 * 1024
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
# 0000-01-01T00:00:00.000Z .. 9999-12-31T23:59:59.999Z, in epoch milliseconds.
EVENT_TIME_MIN_MS = -62_167_219_200_000
EVENT_TIME_MAX_MS = 253_402_300_799_999


def _constraint(member: str, rule: str) -> ApiError:
    return validation(
        f"1 validation error detected: Value at '{member}' failed to satisfy constraint: {rule}"
    )


def check_pattern(
    member: str,
    value: Any,
    pattern: re.Pattern[str] | UnicodeClassPattern,
    min_len: int,
    max_len: int,
) -> str:
    if not isinstance(value, str):
        raise validation(f"{member} must be a string")
    if not min_len <= len(value) <= max_len:
        raise _constraint(member, f"Member must have length between {min_len} and {max_len}")
    if not pattern.fullmatch(value):
        raise _constraint(
            member, f"Member must satisfy regular expression pattern: {pattern.pattern}"
        )
    return value


def _check_size(member: str, value: Sized, min_len: int, max_len: int) -> None:
    if not min_len <= len(value) <= max_len:
        raise _constraint(
            member,
            f"Member must have length less than or equal to {max_len}"
            if min_len == 0
            else f"Member must have length between {min_len} and {max_len}",
        )


def check_length(
    member: str, value: Any, min_len: int, max_len: int, *, required: bool = False
) -> str | None:
    """A string member's length bounds; ``None`` passes unless ``required``."""
    if value is None:
        if required:
            raise validation(f"{member} is required")
        return None
    if not isinstance(value, str):
        raise validation(f"{member} must be a string")
    _check_size(member, value, min_len, max_len)
    return value


_JSON_TYPES: dict[type, str] = {str: "strings", dict: "objects", list: "lists"}


def check_list(
    member: str,
    value: Any,
    min_len: int,
    max_len: int,
    *,
    items: type | None = None,
    required: bool = False,
) -> list[Any]:
    """A list member's size bounds and, with ``items``, its members' JSON type (``str``,
    ``dict`` or ``list``); an absent member is an empty list unless ``required``."""
    if value is None:
        if required:
            raise validation(f"{member} is required")
        return []
    if not isinstance(value, list):
        raise validation(f"{member} must be a list")
    _check_size(member, value, min_len, max_len)
    if items is not None and not all(isinstance(item, items) for item in value):
        raise validation(f"{member} must contain only {_JSON_TYPES[items]}")
    return value


def check_object(member: str, value: Any, *, required: bool = False) -> dict[str, Any] | None:
    """A structure member: a JSON object; ``None`` passes unless ``required``."""
    if value is None:
        if required:
            raise validation(f"{member} is required")
        return None
    if not isinstance(value, dict):
        raise validation(f"{member} must be an object")
    return value


def check_int(member: str, value: Any, low: int, high: int) -> int:
    """An integer member within [low, high] (JSON true/false and 1.5 are not integers)."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise validation(f"{member} must be an integer")
    if not low <= value <= high:
        raise _constraint(member, f"Member must have value between {low} and {high}")
    return value


def check_number(member: str, value: Any) -> float:
    """A finite JSON number (timestamps are epoch seconds on the JSON 1.1 wire)."""
    if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value):
        raise validation(f"{member} must be a number")
    return float(value)


def check_enum(member: str, value: Any, allowed: Iterable[str]) -> str:
    options = list(allowed)
    if not isinstance(value, str) or value not in options:
        raise _constraint(member, f"Member must satisfy enum value set: [{', '.join(options)}]")
    return value


def check_tags(tags: Any, member: str = "tags") -> list[dict[str, Any]]:
    """A TagList: at most 50 {Key, Value} with the model's lengths and pattern."""
    checked = check_list(member, tags, 0, 50, items=dict)
    for tag in checked:
        check_pattern(f"{member}.member.key", tag.get("Key"), TAG_RE, 1, 128)
        check_pattern(f"{member}.member.value", tag.get("Value", ""), TAG_RE, 0, 256)
    return checked


def check_offline_strings(offline: Any) -> None:
    """OfflineStoreConfig strings the rest of CreateFeatureGroup does not read: the
    ``ResolvedOutputS3Uri`` a caller may send (the service computes its own) and the
    ``DataCatalogConfig`` names' pattern."""
    if not isinstance(offline, dict):
        return
    member = "offlineStoreConfig"
    s3 = offline.get("S3StorageConfig")
    if isinstance(s3, dict) and s3.get("ResolvedOutputS3Uri") is not None:
        check_pattern(
            f"{member}.s3StorageConfig.resolvedOutputS3Uri",
            s3["ResolvedOutputS3Uri"],
            S3_URI_RE,
            0,
            1024,
        )
    catalog = offline.get("DataCatalogConfig")
    if isinstance(catalog, dict):
        for key in ("TableName", "Catalog", "Database"):
            if catalog.get(key) is not None:
                check_pattern(
                    f"{member}.dataCatalogConfig.{key[0].lower()}{key[1:]}",
                    catalog[key],
                    CATALOG_NAME_RE,
                    1,
                    255,
                )


def check_collection_config(member: str, config: Any) -> None:
    """A feature's CollectionConfig: VectorConfig.Dimension is 1-8192."""
    if config is None:
        return
    vector = (check_object(member, config) or {}).get("VectorConfig")
    if vector is not None:
        dimension = (check_object(f"{member}.vectorConfig", vector) or {}).get("Dimension")
        check_int(f"{member}.vectorConfig.dimension", dimension, 1, 8192)


def check_fg_name_or_arn(member: str, value: Any, max_len: int = 150) -> str:
    """Runtime names/ARNs are 1-150 chars; the control plane allows ARNs up to 256."""
    return check_pattern(member, value, FG_NAME_OR_ARN_RE, 1, max_len)


def fg_name_from(name_or_arn: str) -> str:
    return name_or_arn.rsplit("/", 1)[-1] if name_or_arn.startswith("arn:") else name_or_arn


def ttl_seconds(member: str, ttl: Any) -> int | None:
    """Validate a ``TtlDuration`` ({Unit, Value}) and return it in seconds."""
    if ttl is None:
        return None
    if not isinstance(ttl, dict) or "Unit" not in ttl or "Value" not in ttl:
        raise validation(f"{member} must have both Unit and Value")
    unit = check_enum(f"{member}.unit", ttl["Unit"], TTL_UNITS)
    value = ttl["Value"]
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise _constraint(f"{member}.value", "Member must have value greater than or equal to 1")
    seconds = value * TTL_UNITS[unit]
    if seconds * 1000 > EVENT_TIME_MAX_MS - EVENT_TIME_MIN_MS:
        raise validation(
            f"{member} is longer than the event-time range (0000-01-01 .. 9999-12-31): "
            "a record would expire after the last representable instant"
        )
    return seconds


def parse_event_time(value: str, feature_type: str, member: str = "EventTime") -> int:
    """Parse an event time to epoch milliseconds, accepting only the documented formats.

    String: ``yyyy-MM-dd'T'HH:mm:ssZ`` or ``yyyy-MM-dd'T'HH:mm:ss.SSSZ`` (UTC, literal Z).
    Fractional: Unix epoch seconds (millisecond precision); epoch milliseconds fall
    outside the documented range and are rejected.
    """
    if feature_type == "Fractional":
        if not FRACTIONAL_RE.fullmatch(value):
            raise validation(
                f"Invalid {member}: a Fractional event time must be Unix epoch "
                "seconds, e.g. 1714564800.123"
            )
        seconds = float(value)
        millis = round(seconds * 1000)
        if not math.isfinite(seconds) or not EVENT_TIME_MIN_MS <= millis <= EVENT_TIME_MAX_MS:
            raise validation(
                f"Invalid {member}: out of range 0000-01-01T00:00:00.000Z .. "
                "9999-12-31T23:59:59.999Z (Fractional event times are epoch seconds, not ms)"
            )
        return millis
    match = EVENT_TIME_STRING_RE.fullmatch(value)
    if not match:
        raise validation(
            f"Invalid {member}: expected yyyy-MM-dd'T'HH:mm:ssZ or "
            "yyyy-MM-dd'T'HH:mm:ss.SSSZ (UTC with a literal Z, at most milliseconds)"
        )
    year, month, day, hour, minute, second = (int(g) for g in match.groups()[:6])
    frac = match.group(7)
    if not (1 <= month <= 12 and 1 <= day <= _days_in_month(year, month)):
        raise validation(f"Invalid {member}: not a calendar date")
    if hour > 23 or minute > 59 or second > 59:
        raise validation(f"Invalid {member}: not a valid time of day")
    seconds_total = _days_from_civil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second
    return seconds_total * 1000 + (int(frac) if frac else 0)


def _days_from_civil(year: int, month: int, day: int) -> int:
    """Days since 1970-01-01 for any proleptic Gregorian date (year 0000 included)."""
    year -= month <= 2
    era = year // 400
    yoe = year - era * 400
    doy = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def _days_in_month(year: int, month: int) -> int:
    leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    return [31, 29 if leap else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]


def check_scalar(feature: str, feature_type: str, value: str) -> None:
    """Integral must be a base-10 int64; Fractional a finite decimal; String anything."""
    if feature_type == "Integral":
        if not INTEGRAL_RE.fullmatch(value) or not INT64_MIN <= int(value) <= INT64_MAX:
            raise validation(
                f"Invalid value for feature {feature} of type Integral: "
                "expected a base-10 64-bit signed integer"
            )
    elif feature_type == "Fractional" and (
        not FRACTIONAL_RE.fullmatch(value) or not math.isfinite(float(value))
    ):
        raise validation(
            f"Invalid value for feature {feature} of type Fractional: "
            "expected a finite decimal number"
        )
