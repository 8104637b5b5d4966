"""Run-time settings of the stream Lambdas, read from the environment once per container.

The template sets every variable; names are plain so ``sam local``, ``featurestream invoke``
and tests can set them the same way. Endpoints are *not* settings: boto3 reads
``AWS_ENDPOINT_URL_<SERVICE>`` itself, so the deployed code and the local stack are the same.
"""

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final, TypeVar

from featurestream.contract.timeutil import as_utc

N = TypeVar("N", int, float)

# BatchWriteRecord calls in flight at once (threads and connections). A call costs its
# thread ~1-3 ms of CPU and waits ~10 ms on the store, so a few calls keep a core busy.
DEFAULT_PUT_CONCURRENCY: Final = 8
DEFAULT_STORE_BATCH_SIZE: Final = 25  # entries per BatchWriteRecord call, 1-25
# How long a call with room left may wait for a call in flight whose customers have more
# records waiting (see featurestream.ingest.store_writer); otherwise it goes at once.
DEFAULT_STORE_BATCH_LINGER_MS: Final = 20.0
DEFAULT_STORE_MAX_ATTEMPTS: Final = 4
DEFAULT_QUEUE_MAX_ATTEMPTS: Final = 4
# The window of event times accepted (see featurestream.contract.events.EventTimeWindow); the same
# defaults as the template's EventTimeNotBefore and EventTimeMaxSkewSeconds.
DEFAULT_EVENT_TIME_NOT_BEFORE: Final = datetime(2000, 1, 1, tzinfo=UTC)
DEFAULT_EVENT_TIME_MAX_SKEW_SECONDS: Final = 300.0
MAX_EVENT_TIME_MAX_SKEW_SECONDS: Final = 86400.0  # the template's MaxValue
# The template's defaults for the bound of the order-id dedupe records' lifetime
# (featurestream.ingest.aggregate_state.dedupe_ttl_seconds).
DEFAULT_STREAM_RETENTION_HOURS: Final = 168.0
DEFAULT_PRODUCER_RESEND_WINDOW_HOURS: Final = 24.0


class ConfigError(RuntimeError):
    """A required variable is missing or malformed: a deployment error, never retried away."""


@dataclass(frozen=True)
class Settings:
    """What one stream Lambda needs to know about its deployment."""

    feature_group_name: str
    quarantine_queue_url: str
    put_concurrency: int = DEFAULT_PUT_CONCURRENCY
    store_max_attempts: int = DEFAULT_STORE_MAX_ATTEMPTS
    store_retry_mode: str = "standard"
    store_connect_timeout: float = 2.0
    store_read_timeout: float = 5.0
    queue_max_attempts: int = DEFAULT_QUEUE_MAX_ATTEMPTS
    store_batch_size: int = DEFAULT_STORE_BATCH_SIZE
    store_batch_linger_ms: float = DEFAULT_STORE_BATCH_LINGER_MS
    event_time_not_before: datetime = DEFAULT_EVENT_TIME_NOT_BEFORE
    event_time_max_skew_seconds: float = DEFAULT_EVENT_TIME_MAX_SKEW_SECONDS
    stats_feature_group_name: str | None = None
    aggregate_state_table: str | None = None
    stream_retention_hours: float = DEFAULT_STREAM_RETENTION_HOURS
    producer_resend_window_hours: float = DEFAULT_PRODUCER_RESEND_WINDOW_HOURS
    monitoring: bool = True
    """Freshness and data-quality metrics per batch (``STREAM_MONITORING=off`` for the bench)."""

    @property
    def aggregates(self) -> bool:
        """Whether this function keeps the customer-order-stats aggregates."""
        return self.aggregate_state_table is not None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> "Settings":
        """Settings from ``FEATURE_GROUP_NAME``, ``QUARANTINE_QUEUE_URL`` and the optional knobs."""
        env = os.environ if environ is None else environ
        missing = [n for n in ("FEATURE_GROUP_NAME", "QUARANTINE_QUEUE_URL") if not env.get(n)]
        if missing:
            raise ConfigError(f"missing environment variable(s): {', '.join(missing)}")
        retry_mode = env.get("STORE_RETRY_MODE", "standard")
        if retry_mode not in ("standard", "adaptive", "legacy"):
            raise ConfigError(f"STORE_RETRY_MODE must be standard/adaptive/legacy: {retry_mode}")
        batch_size = positive_int(env, "STORE_BATCH_SIZE", DEFAULT_STORE_BATCH_SIZE)
        if batch_size > 25:
            raise ConfigError(f"STORE_BATCH_SIZE must be 1-25: {batch_size}")
        stats_group = env.get("STATS_FEATURE_GROUP_NAME") or None
        state_table = env.get("AGGREGATE_STATE_TABLE") or None
        if (stats_group is None) != (state_table is None):
            raise ConfigError(
                "STATS_FEATURE_GROUP_NAME and AGGREGATE_STATE_TABLE go together: set both "
                "to keep the aggregates, or neither"
            )
        return cls(
            feature_group_name=env["FEATURE_GROUP_NAME"],
            quarantine_queue_url=env["QUARANTINE_QUEUE_URL"],
            put_concurrency=positive_int(env, "PUT_CONCURRENCY", DEFAULT_PUT_CONCURRENCY),
            store_max_attempts=positive_int(env, "STORE_MAX_ATTEMPTS", DEFAULT_STORE_MAX_ATTEMPTS),
            store_retry_mode=retry_mode,
            store_connect_timeout=positive_float(env, "STORE_CONNECT_TIMEOUT", 2.0),
            store_read_timeout=positive_float(env, "STORE_READ_TIMEOUT", 5.0),
            queue_max_attempts=positive_int(env, "QUEUE_MAX_ATTEMPTS", DEFAULT_QUEUE_MAX_ATTEMPTS),
            store_batch_size=batch_size,
            store_batch_linger_ms=non_negative_float(
                env, "STORE_BATCH_LINGER_MS", DEFAULT_STORE_BATCH_LINGER_MS
            ),
            event_time_not_before=instant(
                env, "EVENT_TIME_NOT_BEFORE", DEFAULT_EVENT_TIME_NOT_BEFORE
            ),
            event_time_max_skew_seconds=_max_skew(env),
            stats_feature_group_name=stats_group,
            aggregate_state_table=state_table,
            stream_retention_hours=positive_float(
                env, "STREAM_RETENTION_HOURS", DEFAULT_STREAM_RETENTION_HOURS
            ),
            producer_resend_window_hours=positive_float(
                env, "PRODUCER_RESEND_WINDOW_HOURS", DEFAULT_PRODUCER_RESEND_WINDOW_HOURS
            ),
            monitoring=_switch(env, "STREAM_MONITORING"),
        )


def _setting(
    env: Mapping[str, str],
    name: str,
    default: N,
    *,
    convert: Callable[[str], N],
    accept: Callable[[N], bool],
    expected: str,
) -> N:
    """One numeric setting: unset or empty → ``default``; anything else must parse and pass."""
    text = env.get(name)
    if not text:
        return default
    try:
        value = convert(text)
    except ValueError:
        raise ConfigError(f"{name} must be {expected}: {text!r}") from None
    if not accept(value):  # comparisons with nan are false, so nan is refused too
        raise ConfigError(f"{name} must be {expected}: {text!r}")
    return value


def positive_int(env: Mapping[str, str], name: str, default: int) -> int:
    return _setting(
        env, name, default, convert=int, accept=lambda v: v >= 1, expected="a positive integer"
    )


def positive_float(env: Mapping[str, str], name: str, default: float) -> float:
    return _setting(
        env, name, default, convert=float, accept=lambda v: v > 0, expected="a positive number"
    )


def non_negative_float(env: Mapping[str, str], name: str, default: float) -> float:
    return _setting(
        env, name, default, convert=float, accept=lambda v: v >= 0, expected="a number >= 0"
    )


def instant(env: Mapping[str, str], name: str, default: datetime) -> datetime:
    """An ISO-8601 date or time (``2000-01-01``, ``2000-01-01T00:00:00Z``); no zone = UTC."""
    text = env.get(name, "").strip()
    if not text:
        return default
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ConfigError(f"{name} must be an ISO-8601 date or time: {text!r}") from None
    return as_utc(moment)


def _max_skew(env: Mapping[str, str]) -> float:
    """``EVENT_TIME_MAX_SKEW_SECONDS``: 0 to a day; a day ahead is no clock skew but a bug."""
    name = "EVENT_TIME_MAX_SKEW_SECONDS"
    return _setting(
        env,
        name,
        DEFAULT_EVENT_TIME_MAX_SKEW_SECONDS,
        convert=float,
        accept=lambda v: 0 <= v <= MAX_EVENT_TIME_MAX_SKEW_SECONDS,
        expected=f"a number of seconds from 0 to {MAX_EVENT_TIME_MAX_SKEW_SECONDS:g}",
    )


def _switch(env: Mapping[str, str], name: str) -> bool:
    """``on`` (the default when unset or empty) or ``off``."""
    text = (env.get(name) or "on").strip().lower()
    if text not in ("on", "off"):
        raise ConfigError(f"{name} must be on or off")
    return text == "on"
