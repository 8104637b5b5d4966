"""Replay the historical CSV exports into the streams, in event-time order.

Programmatic entry point for the CLI and the local-stack demo::

    summary = run_replay(ReplayOptions(limit=1000))
    raise SystemExit(summary.exit_code)

Delivery is in chunks: the publisher is flushed every ``chunk_records`` events (customer
stream first), then the checkpoint moves past the chunk. With pacing the buffer is also
flushed before any wait of ``LINGER_SECONDS`` or more, so paced events are not held back.
"""

import contextlib
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import BinaryIO, Final, Literal

from producers.checkpoint import Checkpoint, fingerprint
from producers.exit_codes import RunOutcome
from producers.files import OutputError
from producers.jsonlines import append_events
from producers.pacing import Pacer
from producers.progress import Progress
from producers.publisher import DeliveryFailure, EventPublisher, PublishError, PublisherStats
from producers.sources import RowError, SourceFileError
from producers.streams import StreamNames
from producers.timeline import SourceKind, TimelineEvent, read_timeline

LINGER_SECONDS: Final = 0.1
DEFAULT_FAILED_FILE: Final = Path("failed-events.jsonl")

OnError = Literal["skip", "fail"]


@dataclass(frozen=True)
class ReplayOptions:
    customers: Path = Path("raw/customers.csv")
    orders: Path = Path("raw/orders.csv")
    only: SourceKind | None = None
    streams: StreamNames = field(default_factory=StreamNames.from_env)
    since: datetime | None = None
    until: datetime | None = None
    limit: int | None = None
    speedup: float | None = None
    rate: float | None = None
    dry_run: bool = False
    on_error: OnError = "skip"
    checkpoint: Path | None = None
    failed_file: Path = DEFAULT_FAILED_FILE
    chunk_records: int = 2000
    as_live: bool = False
    """Shift the timeline so its newest event is dated at the replay's start (--as-live)."""

    def __post_init__(self) -> None:
        if self.since is not None and self.until is not None and self.since >= self.until:
            raise ValueError("--since must be earlier than --until: the window holds no event")

    def sources(self) -> list[tuple[SourceKind, Path]]:
        chosen: list[tuple[SourceKind, Path]] = [
            ("customers", self.customers),
            ("orders", self.orders),
        ]
        return [(kind, path) for kind, path in chosen if self.only in (None, kind)]


@dataclass
class ReplaySummary(RunOutcome):
    rows_read: dict[str, int] = field(default_factory=dict)
    bad_rows: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    """Bad rows by ``file: field`` (messages may quote values, so they are not grouped)."""
    outside_window: int = 0
    beyond_limit: int = 0
    resumed_from: int = 0
    selected: int = 0
    written: int = 0
    sent: int = 0
    retried: int = 0
    failed: int = 0
    failed_file: Path | None = None
    stopped_at: RowError | None = None
    error: str | None = None
    interrupted: bool = False
    output_closed: bool = False
    dry_run: bool = False
    shift: timedelta = timedelta(0)

    def lines(self) -> list[str]:
        """The human summary; counts and reasons only, never payload."""
        read = sum(self.rows_read.values())
        per_file = ", ".join(f"{kind} {count}" for kind, count in self.rows_read.items())
        out = [f"read      {read} rows ({per_file or 'none'})"]
        reasons = ", ".join(f"{reason} x{count}" for reason, count in self.skipped.most_common())
        out.append(f"skipped   {self.bad_rows} bad rows" + (f" ({reasons})" if reasons else ""))
        if self.outside_window:
            out.append(f"filtered  {self.outside_window} outside --since/--until")
        if self.shift:
            out.append(f"as live   every event time moved by {self.shift.total_seconds():+.0f} s")
        if self.beyond_limit:
            out.append(f"limited   {self.beyond_limit} beyond --limit")
        if self.resumed_from:
            out.append(f"resumed   after {self.resumed_from} events already sent (checkpoint)")
        if self.dry_run:
            out.append(f"written   {self.written} events to stdout (dry run)")
        out.append(f"sent      {self.sent}")
        out.append(f"retried   {self.retried}")
        failed = f"failed    {self.failed}"
        if self.failed and self.failed_file:
            failed += (
                f" (written to {self.failed_file}; re-publish with "
                f"`featurestream publish {self.failed_file}`)"
            )
        out.append(failed)
        if self.stopped_at is not None:
            out.append(f"stopped   at bad row {self.stopped_at} (--on-error fail; nothing sent)")
        if self.error:
            out.append(f"error     {self.error}")
        if self.interrupted:
            out.append("interrupted: buffered events flushed, checkpoint saved")
        return out


class _StopReplay(Exception):
    def __init__(self, row: RowError) -> None:
        super().__init__(str(row))
        self.row = row


def run_replay(
    options: ReplayOptions,
    *,
    publisher: EventPublisher | None = None,
    dry_run_out: BinaryIO | None = None,
    progress: Callable[[int], Progress] | None = None,
    on_bad_row: Callable[[RowError], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> ReplaySummary:
    """Read, order and publish (or with ``dry_run`` write to ``dry_run_out``) the events.

    Raises :class:`~producers.sources.SourceFileError` (bad file) and
    :class:`~producers.checkpoint.CheckpointError`; everything else ends in the summary.
    ``progress`` is called with the number of events to send and returns a reporter.
    """
    summary = ReplaySummary(failed_file=options.failed_file, dry_run=options.dry_run)

    def bad_row(row: RowError) -> None:
        summary.bad_rows += 1
        summary.skipped[f"{Path(row.path).name}: {row.field}"] += 1
        if on_bad_row is not None:
            on_bad_row(row)
        if options.on_error == "fail":
            raise _StopReplay(row)

    sources = options.sources()
    checkpoint = None
    if options.checkpoint is not None:
        params = {
            "only": options.only,
            "since": options.since.isoformat() if options.since else None,
            "until": options.until.isoformat() if options.until else None,
        }
        try:
            inputs = fingerprint([path for _, path in sources], params)
        except OSError as error:
            raise SourceFileError(f"{error.filename}: cannot open ({error.strerror})") from error
        checkpoint = Checkpoint.open(options.checkpoint, inputs)
    try:
        timeline = read_timeline(
            sources,
            since=options.since,
            until=options.until,
            on_bad_row=bad_row,
            as_live_at=datetime.now(UTC) if options.as_live else None,
        )
    except _StopReplay as stop:
        summary.stopped_at = stop.row
        return summary
    except KeyboardInterrupt:  # nothing was sent yet; the checkpoint is untouched
        summary.interrupted = True
        return summary
    summary.rows_read = timeline.rows_read
    summary.outside_window = timeline.outside_window
    summary.shift = timeline.shift
    events = timeline.events
    if options.limit is not None:
        summary.beyond_limit = max(0, len(events) - options.limit)
        events = events[: options.limit]
    start = min(checkpoint.position, len(events)) if checkpoint else 0
    summary.resumed_from = start
    todo = events[start:]
    summary.selected = len(todo)
    reporter = progress(len(todo)) if progress else None
    try:
        if options.dry_run:
            _write(todo, dry_run_out, summary, reporter)
        else:
            _publish(
                options=options,
                todo=todo,
                start=start,
                checkpoint=checkpoint,
                given=publisher,
                summary=summary,
                reporter=reporter,
                sleep=sleep,
                clock=clock,
            )
    finally:
        if reporter is not None:
            reporter.close()
    return summary


def _write(
    todo: list[TimelineEvent],
    out: BinaryIO | None,
    summary: ReplaySummary,
    reporter: Progress | None,
) -> None:
    if out is None:
        raise ValueError("dry_run needs dry_run_out")
    try:
        for item in todo:
            out.write(item.event.data + b"\n")
            summary.written += 1
            if reporter is not None and summary.written % 1000 == 0:
                reporter.update(summary.written)
        out.flush()
    except KeyboardInterrupt:
        summary.interrupted = True
    except BrokenPipeError:  # e.g. `| head`: the reader has all it wanted
        summary.output_closed = True
    if reporter is not None:
        reporter.update(summary.written)


def _publish(
    *,
    options: ReplayOptions,
    todo: list[TimelineEvent],
    start: int,
    checkpoint: Checkpoint | None,
    given: EventPublisher | None,
    summary: ReplaySummary,
    reporter: Progress | None,
    sleep: Callable[[float], None],
    clock: Callable[[], float],
) -> None:
    chunk = max(1, options.chunk_records)
    publisher = given
    before = PublisherStats()
    queued = start
    try:
        if publisher is None:
            publisher = EventPublisher(
                options.streams, buffer_records=chunk + 1, flush_at_exit=False
            )
        before = publisher.stats
        pacer = Pacer(speedup=options.speedup, rate=options.rate, clock=clock)
        committed = start
        last_flush = clock()

        def commit() -> None:
            nonlocal committed, last_flush
            assert publisher is not None  # nosec B101  # type narrowing only
            _append_failures(options.failed_file, publisher.flush())
            if checkpoint is not None:
                checkpoint.save(queued)
            committed, last_flush = queued, clock()
            if reporter is not None:
                reporter.update(committed - start)

        try:
            for item in todo:
                if pacer.active:
                    delay = pacer.delay_for(item.event_time)
                    if queued > committed and (
                        delay >= LINGER_SECONDS or clock() - last_flush >= LINGER_SECONDS
                    ):
                        commit()
                    if delay > 0:
                        sleep(delay)
                publisher.put_encoded(item.event)
                queued += 1
                if queued - committed >= chunk:
                    commit()
            commit()
        except KeyboardInterrupt:
            summary.interrupted = True
            with contextlib.suppress(KeyboardInterrupt):  # a second Ctrl-C abandons the flush
                commit()
    except (PublishError, OutputError) as error:
        # The checkpoint stays before the chunk in flight, so a rerun resends it; failures
        # collected before the error still go to the failed-events file.
        summary.error = str(error)
        if isinstance(error, _FailuresNotSaved):
            summary.failed_file = None
        if publisher is not None:
            _save_failures(options.failed_file, publisher, summary)
    finally:
        if publisher is not None:
            stats = publisher.stats
            summary.sent = stats.sent - before.sent
            summary.retried = stats.retried - before.retried
            summary.failed = stats.failed - before.failed


def _save_failures(path: Path, publisher: EventPublisher, summary: ReplaySummary) -> None:
    """Append the failures a stopped flush left behind; report if even that is impossible."""
    try:
        _append_failures(path, publisher.take_failures())
    except _FailuresNotSaved as error:
        summary.error = f"{summary.error}; also {error}"
        summary.failed_file = None


def _append_failures(path: Path, failures: list[DeliveryFailure]) -> None:
    """Append failed events to the failed-events file; if that fails, the error names them."""
    try:
        append_events(path, (failure.event for failure in failures))
    except OutputError as error:
        ids = ", ".join(failure.event.event_id for failure in failures[:20])
        raise _FailuresNotSaved(f"{error}; failed and not saved: {ids}") from error


class _FailuresNotSaved(OutputError):
    """The failed-events file could not take the failures; the message names them."""
