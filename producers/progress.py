"""Progress on stderr: a rich bar with rate and ETA on a terminal, plain periodic lines
otherwise (logs and CI stay readable). Never on stdout, which ``--dry-run`` owns."""

import sys
import time
from collections.abc import Callable
from typing import Any, Protocol, TextIO


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


class ProgressDisplay:
    """One display for one or more progress tasks on ``stream`` (stderr by default): rich
    bars with rate (and ETA unless ``eta=False``) on a terminal, plain periodic lines
    otherwise. Tasks from :meth:`task` show together until :meth:`stop`."""

    def __init__(self, stream: TextIO | None = None, *, eta: bool = True) -> None:
        self.stream = stream or sys.stderr
        self._bars: Any = None
        if self.stream.isatty():
            self._bars = _rich_bars(self.stream, eta=eta)
            self._bars.start()

    def task(self, label: str, total: int, *, stops_display: bool = False) -> Progress:
        """A task of ``total`` events. Closing it stops the whole display only with
        ``stops_display`` (a display of one task); otherwise that is :meth:`stop`'s job."""
        if self._bars is None:
            return PlainProgress(label, total, self.stream)
        return RichTask(self._bars, label, total, on_close=self.stop if stops_display else None)

    def stop(self) -> None:
        if self._bars is not None:
            self._bars.stop()


def _rich_bars(stream: TextIO, *, eta: bool) -> Any:
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        ProgressColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )
    from rich.progress import Progress as RichBars

    columns: list[ProgressColumn] = [
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
    ]
    if eta:
        columns += [TextColumn("ETA"), TimeRemainingColumn()]
    return RichBars(*columns, console=Console(file=stream))


class RichTask:
    """One bar of a rich display, with its own rate; ``on_close`` runs when it closes."""

    def __init__(
        self, bars: Any, label: str, total: int, on_close: Callable[[], None] | None = None
    ) -> None:
        self._bars = bars
        self._task = bars.add_task(label, total=total, rate="")
        self._start = time.monotonic()
        self._on_close = on_close

    def update(self, done: int) -> None:
        rate = done / max(time.monotonic() - self._start, 1e-9)
        self._bars.update(self._task, completed=done, rate=f"{rate:,.0f} events/s")

    def close(self) -> None:
        if self._on_close is not None:
            self._on_close()


def progress_for(label: str, total: int, stream: TextIO | None = None) -> Progress:
    """A display of one task, which stops when the task closes: rich on a TTY, plain lines
    otherwise."""
    return ProgressDisplay(stream).task(label, total, stops_display=True)
