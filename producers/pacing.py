"""When to send each event: ``--speedup`` replays the timeline N times faster than it
happened, ``--rate`` caps events per second; both may apply, the later deadline wins."""

import time
from collections.abc import Callable
from datetime import datetime


class Pacer:
    """Computes how long to wait before the next event; it never sleeps itself, so the
    caller can flush buffered events first and sleep interruptibly."""

    def __init__(
        self,
        *,
        speedup: float | None = None,
        rate: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if speedup is not None and speedup <= 0:
            raise ValueError("speedup must be positive")
        if rate is not None and rate <= 0:
            raise ValueError("rate must be positive")
        self._speedup = speedup
        self._interval = 1.0 / rate if rate else None
        self._clock = clock
        self._origin: tuple[float, datetime] | None = None
        self._last: float | None = None

    @property
    def active(self) -> bool:
        return self._speedup is not None or self._interval is not None

    def delay_for(self, event_time: datetime) -> float:
        """Seconds to wait before sending the event with ``event_time`` (0 if due)."""
        now = self._clock()
        due = now
        if self._speedup is not None:
            if self._origin is None:
                self._origin = (now, event_time)
            wall0, time0 = self._origin
            due = max(due, wall0 + (event_time - time0).total_seconds() / self._speedup)
        if self._interval is not None and self._last is not None:
            due = max(due, self._last + self._interval)
        self._last = due
        return due - now
