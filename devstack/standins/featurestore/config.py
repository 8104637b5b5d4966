"""Emulator settings: identity, storage, the documented switches and fault injection.

Everything defaults to "behave like the service, as fast as possible"; faults are off.
"""

from __future__ import annotations

import enum
import random
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from featurestream.contract.events import describe_validation_error

DEFAULT_ACCOUNT_ID = "123456789012"
DEFAULT_REGION = "us-east-1"


class TiePolicy(enum.StrEnum):
    """What an online write does when its event time equals the stored one.

    The service documents only "greater wins"; a tie is undocumented, so it is a switch.
    ``historic`` (default) follows the doc's wording: a tie is not applied online.
    """

    HISTORIC = "historic"
    APPLY = "apply"


MAX_LATENCY_MS = 60_000.0
"""Longest injected delay: botocore's default read timeout (60 s); longer only hangs."""


class FaultSettingsError(ValueError):
    """Fault settings that cannot be applied; the message names the fields, not values."""


class _FaultSettings(BaseModel):
    """What ``POST /_emulator/faults`` accepts: every field typed and bounded, so a bad
    request is refused with its field named instead of reaching the request path."""

    model_config = ConfigDict(extra="forbid", strict=True)

    latency_ms: float = Field(0.0, ge=0.0, le=MAX_LATENCY_MS, allow_inf_nan=False)
    throttle_rate: float = Field(0.0, ge=0.0, le=1.0, allow_inf_nan=False)
    error_rate: float = Field(0.0, ge=0.0, le=1.0, allow_inf_nan=False)
    # Sent back as the x-amzn-ErrorType header: a plain identifier, nothing a header can break on.
    error_code: str = Field("ServiceUnavailable", pattern=r"^[A-Za-z][A-Za-z0-9.]{0,127}$")
    error_status: int = Field(503, ge=400, le=599)
    operations: list[str] | None = Field(None, min_length=1, max_length=64)
    include_control_plane: bool = False
    seed: int | None = Field(None, ge=0, le=2**63 - 1)
    injected: dict[str, int] | None = None  # what GET returns; accepted and ignored

    @model_validator(mode="after")
    def _shares_fit(self) -> Self:
        if self.throttle_rate + self.error_rate > 1.0:
            raise ValueError("throttle_rate + error_rate must be at most 1")
        return self


@dataclass
class FaultConfig:
    """Artificial faults for resilience tests and benchmarks; all off by default.

    ``latency_ms`` delays every matching call; ``throttle_rate`` and ``error_rate`` are the
    shares of matching calls answered with ``ThrottlingException`` (400) or a 5xx
    (``error_code``/``error_status``). ``operations`` limits faults to those operation
    names (e.g. ``{"PutRecord"}``); ``None`` means every runtime operation. ``injected``
    counts the calls failed on purpose so far (``throttle``, ``error``), for fault runs.
    """

    latency_ms: float = 0.0
    throttle_rate: float = 0.0
    error_rate: float = 0.0
    error_code: str = "ServiceUnavailable"
    error_status: int = 503
    operations: frozenset[str] | None = None
    include_control_plane: bool = False
    seed: int | None = None
    injected: dict[str, int] = field(default_factory=dict, compare=False)
    _rng: random.Random = field(default_factory=random.Random, repr=False, compare=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.seed is not None:
            self._rng.seed(self.seed)

    @property
    def active(self) -> bool:
        return self.latency_ms > 0 or self.throttle_rate > 0 or self.error_rate > 0

    def applies_to(self, operation: str, control_plane: bool) -> bool:
        if control_plane and not self.include_control_plane:
            return False
        return self.operations is None or operation in self.operations

    def draw(self) -> float:
        """A uniform number in [0, 1); locked because handlers run on many threads."""
        with self._lock:
            return self._rng.random()

    def count(self, kind: str) -> None:
        with self._lock:
            self.injected[kind] = self.injected.get(kind, 0) + 1

    def to_dict(self) -> dict[str, object]:
        return {
            "latency_ms": self.latency_ms,
            "throttle_rate": self.throttle_rate,
            "error_rate": self.error_rate,
            "error_code": self.error_code,
            "error_status": self.error_status,
            "operations": sorted(self.operations) if self.operations is not None else None,
            "include_control_plane": self.include_control_plane,
            "seed": self.seed,
            "injected": dict(self.injected),
        }

    @classmethod
    def from_dict(cls, data: object) -> FaultConfig:
        """Parse the admin API's JSON; :class:`FaultSettingsError` names each bad field.

        Rates are probabilities in [0, 1] (together at most 1), latency is 0-60,000 ms,
        ``error_status`` a 4xx or 5xx, ``error_code`` an identifier.
        """
        try:
            settings = _FaultSettings.model_validate(data)
        except ValidationError as error:
            # the library's wording: field paths and messages, never a value or a key that
            # is not an identifier (a key is input too)
            problems = describe_validation_error(error)
            raise FaultSettingsError(f"Invalid fault settings: {problems}") from None
        return cls(
            latency_ms=settings.latency_ms,
            throttle_rate=settings.throttle_rate,
            error_rate=settings.error_rate,
            error_code=settings.error_code,
            error_status=settings.error_status,
            operations=frozenset(settings.operations) if settings.operations else None,
            include_control_plane=settings.include_control_plane,
            seed=settings.seed,
        )


@dataclass
class EmulatorConfig:
    """How one emulator instance stores data and which undocumented behaviours it picks."""

    state_dir: Path
    account_id: str = DEFAULT_ACCOUNT_ID
    region: str | None = None  # None: take the request's signing region
    tie_policy: TiePolicy = TiePolicy.HISTORIC
    offline_flush_interval: float = 1.0  # seconds a row may wait before its Parquet file is written
    offline_max_buffered_rows: int = 5000  # flush earlier when this many rows are waiting
    offline_s3_endpoint: str | None = None  # write Parquet to this S3 endpoint (moto) instead
    glue_endpoint: str | None = None  # register each offline table in this Glue (moto); None: none
    max_feature_groups: int = 100  # the service's soft quota; shared test servers raise it
    faults: FaultConfig = field(default_factory=FaultConfig)

    @property
    def db_path(self) -> Path:
        return self.state_dir / "featurestore.sqlite3"

    @property
    def offline_dir(self) -> Path:
        return self.state_dir / "offline-store"
