"""Emulator settings: identity, storage, the documented switches and fault injection.

Everything defaults to "behave like the service, as fast as possible"; faults are off.
"""

from __future__ import annotations

import enum
import random
import threading
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_ACCOUNT_ID = "123456789012"
DEFAULT_REGION = "us-east-1"


class TiePolicy(enum.StrEnum):
    """What an online write does when its event time equals the stored one.

    The service documents only "greater wins"; a tie is undocumented, so it is a switch.
    ``historic`` (default) follows the doc's wording: a tie is not applied online.
    """

    HISTORIC = "historic"
    APPLY = "apply"


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
    def from_dict(cls, data: dict[str, object]) -> FaultConfig:
        ops = data.get("operations")
        return cls(
            latency_ms=float(data.get("latency_ms", 0.0)),  # type: ignore[arg-type]
            throttle_rate=float(data.get("throttle_rate", 0.0)),  # type: ignore[arg-type]
            error_rate=float(data.get("error_rate", 0.0)),  # type: ignore[arg-type]
            error_code=str(data.get("error_code", "ServiceUnavailable")),
            error_status=int(data.get("error_status", 503)),  # type: ignore[call-overload]
            operations=frozenset(ops) if isinstance(ops, list) else None,
            include_control_plane=bool(data.get("include_control_plane", False)),
            seed=None if data.get("seed") is None else int(data["seed"]),  # type: ignore[call-overload]
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
    max_feature_groups: int = 100  # the service's soft quota; shared test servers raise it
    faults: FaultConfig = field(default_factory=FaultConfig)

    @property
    def db_path(self) -> Path:
        return self.state_dir / "featurestore.sqlite3"

    @property
    def offline_dir(self) -> Path:
        return self.state_dir / "offline-store"
