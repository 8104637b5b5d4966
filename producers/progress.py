"""Progress on stderr: a rich bar with rate and ETA on a terminal, plain periodic lines
otherwise (logs and CI stay readable). Never on stdout, which ``--dry-run`` owns."""

import sys
import time
from collections.abc import Callable
from typing import Protocol, TextIO


class Progress(Protocol):
    def update(self, done: int) -> None: ...

    def close(self) -> None: ...


class PlainProgress:
    """One line every ``interval`` seconds and a last one on close."""

    def __init__(
        self,
        label: str,
        total: int,
        stream: TextIO,
        *,
        interval: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._label = label
        self._total = total
        self._stream = stream
        self._interval = interval
        self._clock = clock
        self._start = self._last = clock()
        self._done = 0

    def update(self, done: int) -> None:
        self._done = done
        if self._clock() - self._last >= self._interval:
            self._print()

    def close(self) -> None:
        self._print()

    def _print(self) -> None:
        self._last = self._clock()
        elapsed = max(self._last - self._start, 1e-9)
        rate = self._done / elapsed
        share = 100.0 * self._done / self._total if self._total else 100.0
        eta = f", ETA {(self._total - self._done) / rate:.0f}s" if rate > 0 else ""
        print(
            f"{self._label}: {self._done}/{self._total} events ({share:.1f}%), "
            f"{rate:.0f} events/s{eta}",
            file=self._stream,
            flush=True,
        )


class RichProgress:
    """A rich progress bar on the terminal behind ``stream``."""

    def __init__(self, label: str, total: int, stream: TextIO) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )
        from rich.progress import Progress as RichBar

        self._bar = RichBar(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]}"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=Console(file=stream),
            transient=False,
        )
        self._start = time.monotonic()
        self._task = self._bar.add_task(label, total=total, rate="")
        self._bar.start()

    def update(self, done: int) -> None:
        rate = done / max(time.monotonic() - self._start, 1e-9)
        self._bar.update(self._task, completed=done, rate=f"{rate:,.0f} events/s")

    def close(self) -> None:
        self._bar.stop()


def progress_for(label: str, total: int, stream: TextIO | None = None) -> Progress:
    """Rich on a TTY, plain lines otherwise."""
    target = stream or sys.stderr
    if target.isatty():
        return RichProgress(label, total, target)
    return PlainProgress(label, total, target)
