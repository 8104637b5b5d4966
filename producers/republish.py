"""Publish events given as JSON lines: a failed-events file, or another app's stdout.

Each line is validated like any event; an invalid line is reported with its line number
and field-level reason (never its content). On a pipe the buffer is flushed whenever no
further input is waiting, so a slow upstream's events are not held back.

The summary records which lines Kinesis acknowledged, so a file of unsent events can be
rewritten to shrink by exactly those (:func:`remove_acknowledged`) and by nothing else.
"""

import contextlib
import select
from collections import Counter
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Literal

from featurestream.contract.events import InvalidEvent
from producers.encoding import EncodedEvent
from producers.exit_codes import RunOutcome
from producers.files import replaced
from producers.jsonlines import MAX_LINE_BYTES, copy_lines_except, read_lines
from producers.publisher import DeliveryFailure, EventPublisher, PublishError

OnError = Literal["skip", "fail"]


@dataclass
class LinesSummary(RunOutcome):
    lines: int = 0
    invalid: int = 0
    reasons: Counter[str] = field(default_factory=Counter)
    sent: int = 0
    retried: int = 0
    failed: int = 0
    failures: list[DeliveryFailure] = field(default_factory=list)
    unsent: list[EncodedEvent] = field(default_factory=list)
    """Valid events read but neither accepted nor failed: a stream error or Ctrl-C came first."""
    acknowledged: set[int] = field(default_factory=set)
    """Numbers of the lines whose event Kinesis accepted."""
    last_line: int = 0
    stopped_at: str | None = None
    error: str | None = None
    interrupted: bool = False

    def undelivered(self) -> bool:
        return self.failed > 0 or bool(self.unsent)

    def summary_lines(self) -> list[str]:
        reasons = "; ".join(f"{reason} x{n}" for reason, n in self.reasons.most_common(5))
        out = [
            f"read      {self.lines} lines",
            f"skipped   {self.invalid} invalid" + (f" ({reasons})" if reasons else ""),
            f"sent      {self.sent}",
            f"retried   {self.retried}",
            f"failed    {self.failed}",
        ]
        if self.unsent:
            out.append(f"not sent  {len(self.unsent)} (stopped before Kinesis accepted them)")
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


def _reason(line: bytes, error: InvalidEvent) -> str:
    """Why a line is invalid, naming the field, never quoting the line."""
    try:
        line.decode()
    except UnicodeDecodeError:
        return "payload is not valid UTF-8"
    return error.reason


def publish_lines(
    handle: BinaryIO,
    publisher: EventPublisher,
    *,
    source_name: str,
    on_error: OnError = "skip",
    on_invalid: Callable[[str], None] | None = None,
) -> LinesSummary:
    """Validate and publish every line; failures and unsent events are in the summary."""
    summary = LinesSummary()
    before = publisher.stats
    put: list[tuple[int, EncodedEvent]] = []

    def flush() -> None:
        summary.failures.extend(publisher.flush())

    try:
        try:
            for line in read_lines(handle):
                summary.lines += 1
                summary.last_line = line.number
                try:
                    if line.too_long:
                        raise InvalidEvent(f"event: longer than {MAX_LINE_BYTES} bytes")
                    put.append((line.number, publisher.put(line.data)))
                except InvalidEvent as error:
                    reason = error.reason if line.too_long else _reason(line.data, error)
                    summary.invalid += 1
                    summary.reasons[reason] += 1
                    where = f"{source_name}:{line.number}"
                    if on_invalid is not None:
                        on_invalid(f"{where}: {reason}")
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
    summary.failures.extend(publisher.take_failures())  # left behind by an interrupted flush
    summary.unsent = publisher.pending()
    not_accepted = {id(event) for event in summary.unsent}
    not_accepted.update(id(failure.event) for failure in summary.failures)
    summary.acknowledged = {number for number, event in put if id(event) not in not_accepted}
    stats = publisher.stats
    summary.sent = stats.sent - before.sent
    summary.retried = stats.retried - before.retried
    summary.failed = stats.failed - before.failed
    return summary


def remove_acknowledged(path: Path, acknowledged: Collection[int]) -> int | None:
    """Rewrite ``path`` without the ``acknowledged`` lines, keeping every other line (invalid,
    failed, unsent or unread) byte for byte and in order; delete it when no line is left.

    Returns the lines kept, or None when nothing was acknowledged (``path`` is untouched).
    Write-then-rename: if anything fails, ``path`` is as it was and
    :class:`~producers.files.OutputError` is raised.
    """
    if not acknowledged:
        return None
    with path.open("rb") as source, replaced(path) as target:
        kept = copy_lines_except(source, target, acknowledged)
    if kept == 0:
        path.unlink()
    return kept
