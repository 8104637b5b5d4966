"""Publish events given as JSON lines: a failed-events file, or another app's stdout.

Each line is validated like any event; an invalid line is reported with its line number
and field-level reason (never its content). On a pipe the buffer is flushed whenever no
further input is waiting, so a slow upstream's events are not held back.
"""

import contextlib
import select
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import BinaryIO, Literal

from featurestream.events import InvalidEvent
from producers.exit_codes import exit_code_for
from producers.jsonlines import read_lines
from producers.publisher import DeliveryFailure, EventPublisher, PublishError

OnError = Literal["skip", "fail"]


@dataclass
class LinesSummary:
    lines: int = 0
    invalid: int = 0
    reasons: Counter[str] = field(default_factory=Counter)
    sent: int = 0
    retried: int = 0
    failed: int = 0
    failures: list[DeliveryFailure] = field(default_factory=list)
    stopped_at: str | None = None
    error: str | None = None
    interrupted: bool = False

    @property
    def exit_code(self) -> int:
        return exit_code_for(
            interrupted=self.interrupted,
            bad_input=self.stopped_at is not None,
            failed=self.error is not None or self.failed > 0,
        )

    def summary_lines(self) -> list[str]:
        reasons = "; ".join(f"{reason} x{n}" for reason, n in self.reasons.most_common(5))
        out = [
            f"read      {self.lines} lines",
            f"skipped   {self.invalid} invalid" + (f" ({reasons})" if reasons else ""),
            f"sent      {self.sent}",
            f"retried   {self.retried}",
            f"failed    {self.failed}",
        ]
        if self.stopped_at:
            out.append(f"stopped   at {self.stopped_at} (--on-error fail)")
        if self.error:
            out.append(f"error     {self.error}")
        if self.interrupted:
            out.append("interrupted: buffered events flushed")
        return out


def _input_waiting(handle: BinaryIO) -> bool:
    """True when more input is ready now (always for regular files)."""
    try:
        ready, _, _ = select.select([handle], [], [], 0)
    except (OSError, ValueError, TypeError):
        return True
    return bool(ready)


def publish_lines(
    handle: BinaryIO,
    publisher: EventPublisher,
    *,
    source_name: str,
    on_error: OnError = "skip",
    on_invalid: Callable[[str], None] | None = None,
) -> LinesSummary:
    """Validate and publish every line; failures are returned in the summary."""
    summary = LinesSummary()
    before = publisher.stats

    def flush() -> None:
        summary.failures.extend(publisher.flush())

    try:
        try:
            for number, line in read_lines(handle):
                summary.lines += 1
                try:
                    publisher.put(line)
                except InvalidEvent as error:
                    summary.invalid += 1
                    summary.reasons[error.reason] += 1
                    where = f"{source_name}:{number}"
                    if on_invalid is not None:
                        on_invalid(f"{where}: {error.reason}")
                    if on_error == "fail":
                        summary.stopped_at = where
                        break
                    continue
                if publisher.buffered and not _input_waiting(handle):
                    flush()
            flush()
        except KeyboardInterrupt:
            summary.interrupted = True
            with contextlib.suppress(KeyboardInterrupt):
                flush()
    except PublishError as error:
        summary.error = str(error)
    stats = publisher.stats
    summary.sent = stats.sent - before.sent
    summary.retried = stats.retried - before.retried
    summary.failed = stats.failed - before.failed
    return summary
