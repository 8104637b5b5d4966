"""A time window of event times, as the drift command takes it: ``START/END``.

Each side is an ISO-8601 time (zone-less is UTC), ``now``, ``now-<N>d``/``now-<N>h``, or
empty for unbounded; START is inclusive, END exclusive. ``/2021-12-31T23:58:25Z`` is every
event before that moment.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

_RELATIVE = re.compile(r"^now(?:-(\d+(?:\.\d+)?)([dh]))?$")


class WindowError(ValueError):
    """A window that cannot be read; the message names the part, not the whole value."""


@dataclass(frozen=True)
class Window:
    start: datetime | None
    end: datetime | None

    def label(self) -> str:
        def side(moment: datetime | None) -> str:
            return moment.strftime("%Y-%m-%dT%H:%M:%SZ") if moment else ""

        return f"{side(self.start)}/{side(self.end)}"


def _moment(text: str, now: datetime, which: str) -> datetime | None:
    text = text.strip()
    if not text:
        return None
    relative = _RELATIVE.match(text)
    if relative:
        amount, unit = relative.groups()
        if amount is None:
            return now
        hours = float(amount) * (24 if unit == "d" else 1)
        return now - timedelta(hours=hours)
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise WindowError(f"window {which}: not an ISO-8601 time or now-<N>d") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def parse_window(text: str, now: datetime | None = None) -> Window:
    """``START/END`` → :class:`Window`; raises :class:`WindowError`."""
    if text.count("/") != 1:
        raise WindowError("a window is START/END (either side may be empty)")
    now = now or datetime.now(UTC)
    start_text, end_text = text.split("/")
    window = Window(_moment(start_text, now, "start"), _moment(end_text, now, "end"))
    if window.start and window.end and window.start >= window.end:
        raise WindowError("window start must be before its end")
    return window
