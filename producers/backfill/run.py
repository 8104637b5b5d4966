"""Run a backfill: check the groups, plan the entries, send them in chunks on a worker pool,
keep what failed and where the run got to.

Entries go out in chunks of ``chunk_entries``; each chunk's calls run on ``workers``
threads. Only when every call of a chunk has an outcome, and its failures are saved to the
failures file, does the checkpoint move past the chunk. A run killed mid-chunk therefore
resends at most that chunk: online, a resent record carries the event time already stored
and is not applied again; offline, it may add a duplicate row of the same event (the offline
store is append-only; docs/backfill.md says how readers drop them).
"""

import contextlib
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from featurestream.contract.params import FittedParams, load_params
from producers.backfill.failures import load_failures, save_failures
from producers.backfill.groups import check_group
from producers.backfill.plan import GROUP_SPECS, Entry, GroupKind, plan_backfill
from producers.backfill.writer import MAX_ENTRIES, BatchWriter, EntryFailure, WriteStopped
from producers.checkpoint import Checkpoint, fingerprint
from producers.exit_codes import RunOutcome
from producers.progress import Progress
from producers.sources import RowError, SourceFileError

DEFAULT_WORKERS: Final = 8
DEFAULT_FAILED_FILE: Final = Path("backfill-failed.jsonl")
DEFAULT_GROUP_NAMES: Final[dict[GroupKind, str]] = {
    "customers": "featurestream-customers",
    "orders": "featurestream-orders",
}


@dataclass(frozen=True)
class BackfillOptions:
    customers: Path = Path("raw/customers.csv")
    orders: Path = Path("raw/orders.csv")
    group: GroupKind | None = None
    group_names: dict[GroupKind, str] = field(default_factory=lambda: dict(DEFAULT_GROUP_NAMES))
    since: datetime | None = None
    until: datetime | None = None
    workers: int = DEFAULT_WORKERS
    offline_only_history: bool = False
    on_error: str = "skip"
    checkpoint: Path | None = None
    failed_file: Path = DEFAULT_FAILED_FILE
    retry_failed: bool = False
    """Send the entries in ``failed_file`` again instead of reading the exports."""
    attempts: int = 6
    chunk_entries: int = 5000

    def __post_init__(self) -> None:
        if self.since is not None and self.until is not None and self.since >= self.until:
            raise ValueError("--since must be earlier than --until: the window holds no event")
        if self.workers < 1:
            raise ValueError("--workers must be at least 1")

    def kinds(self) -> list[GroupKind]:
        return [kind for kind in GROUP_SPECS if self.group in (None, kind)]

    def sources(self) -> list[tuple[GroupKind, Path]]:
        paths: dict[GroupKind, Path] = {"customers": self.customers, "orders": self.orders}
        return [(kind, paths[kind]) for kind in self.kinds()]


@dataclass
class BackfillSummary(RunOutcome):
    rows_read: dict[str, int] = field(default_factory=dict)
    bad_rows: int = 0
    outside_window: int = 0
    events: int = 0
    online_records: int = 0
    entries: int = 0
    resumed_from: int = 0
    written: int = 0
    calls: int = 0
    retried: int = 0
    failed: int = 0
    failed_file: Path | None = None
    elapsed: float = 0.0
    stopped_at: RowError | None = None
    error: str | None = None
    interrupted: bool = False

    def lines(self) -> list[str]:
        """The human summary: counts and reasons, never values."""
        out = []
        if self.rows_read:
            per_file = ", ".join(f"{kind} {count}" for kind, count in self.rows_read.items())
            out.append(f"read      {sum(self.rows_read.values())} rows ({per_file})")
            out.append(f"skipped   {self.bad_rows} bad rows")
        if self.outside_window:
            out.append(f"filtered  {self.outside_window} outside --since/--until")
        if self.events:
            out.append(f"records   {self.events} events -> {self.online_records} online records")
        if self.resumed_from:
            out.append(f"resumed   after {self.resumed_from} entries already written (checkpoint)")
        rate = self.written / self.elapsed if self.elapsed > 0 else 0.0
        out.append(f"written   {self.written} of {self.entries} entries ({rate:,.0f}/s)")
        out.append(f"calls     {self.calls} BatchWriteRecord")
        out.append(f"retried   {self.retried} entries")
        failed = f"failed    {self.failed}"
        if self.failed and self.failed_file is not None:
            failed += f" (saved to {self.failed_file}; send again with --retry-failed)"
        out.append(failed)
        out.append(f"elapsed   {self.elapsed:.1f}s")
        if self.stopped_at is not None:
            out.append(f"stopped   at bad row {self.stopped_at} (--on-error fail; nothing written)")
        if self.error:
            out.append(f"error     {self.error}")
        if self.interrupted:
            out.append("interrupted: the checkpoint is at the last finished chunk")
        return out


class _Stop(Exception):
    def __init__(self, row: RowError) -> None:
        super().__init__(str(row))
        self.row = row


@dataclass
class Clients:
    """The two clients a backfill uses; tests pass their own."""

    runtime: Any
    control: Any


def default_clients(workers: int) -> Clients:
    """botocore clients from the standard configuration (endpoint env vars, region,
    credentials): the same code against the local stack and AWS."""
    from featurestream.aws.clients import client_config, create_client
    from featurestream.aws.store_errors import make_runtime_client

    runtime = make_runtime_client(
        client_config(max_attempts=3, pool_size=workers, read_timeout=30.0)
    )
    control = create_client("sagemaker", client_config(max_attempts=3))
    return Clients(runtime, control)


def run_backfill(
    options: BackfillOptions,
    *,
    clients: Clients | None = None,
    params: FittedParams | None = None,
    as_of: datetime | None = None,
    progress: Callable[[int], Progress] | None = None,
    on_bad_row: Callable[[RowError], None] | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> BackfillSummary:
    """Check, plan and write. Raises :class:`SourceFileError` (an unreadable input),
    :class:`~producers.checkpoint.CheckpointError`, :class:`~producers.backfill.groups.GroupError`
    and :class:`~producers.files.OutputError`; everything else ends in the summary."""
    started = clock()
    summary = BackfillSummary(failed_file=options.failed_file)
    clients = clients or default_clients(options.workers)
    previous = load_failures(options.failed_file)
    checkpoint = None
    if options.retry_failed:
        entries = [failure.entry for failure in previous]
        previous = []
        summary.entries = len(entries)
        for name in sorted({entry["FeatureGroupName"] for entry in entries}):
            kind = next((k for k, v in options.group_names.items() if v == name), None)
            if kind is not None:
                check_group(clients.control, name, GROUP_SPECS[kind])
    else:
        checkpoint = _open_checkpoint(options)
        for kind in options.kinds():
            check_group(clients.control, options.group_names[kind], GROUP_SPECS[kind])
        planned = _plan(options, summary, params, as_of, on_bad_row)
        if planned is None:
            return summary
        entries = planned
    start = min(checkpoint.position, len(entries)) if checkpoint else 0
    summary.resumed_from = start
    writer = BatchWriter(clients.runtime, attempts=options.attempts)
    reporter = progress(len(entries) - start) if progress else None
    failures: list[EntryFailure] = list(previous)
    reached = [start]
    try:
        _send(
            options,
            entries,
            start=start,
            writer=writer,
            checkpoint=checkpoint,
            failures=failures,
            reporter=reporter,
            reached=reached,
        )
    except WriteStopped as error:
        summary.error = f"the Feature Store refused or could not be reached: {error}"
    except KeyboardInterrupt:
        summary.interrupted = True
    finally:
        if reporter is not None:
            reporter.close()
        if options.retry_failed:  # what a stopped retry did not finish stays in the file
            failures += [EntryFailure(entry, "NotSent") for entry in entries[reached[0] :]]
        save_failures(options.failed_file, failures)
        stats = writer.stats
        summary.written, summary.calls = stats.written, stats.calls
        summary.retried, summary.failed = stats.retried, stats.failed
        summary.elapsed = clock() - started
    return summary


def _plan(
    options: BackfillOptions,
    summary: BackfillSummary,
    params: FittedParams | None,
    as_of: datetime | None,
    on_bad_row: Callable[[RowError], None] | None,
) -> list[Entry] | None:
    """The entries to write, or ``None`` when a bad row stopped the run (``--on-error fail``)."""

    def bad_row(row: RowError) -> None:
        summary.bad_rows += 1
        if on_bad_row is not None:
            on_bad_row(row)
        if options.on_error == "fail":
            raise _Stop(row)

    try:
        plan = plan_backfill(
            options.sources(),
            options.group_names,
            params=params or load_params(),
            as_of=as_of or datetime.now(UTC),
            offline_only_history=options.offline_only_history,
            since=options.since,
            until=options.until,
            on_bad_row=bad_row,
        )
    except _Stop as stop:
        summary.stopped_at = stop.row
        return None
    summary.rows_read = plan.rows_read
    summary.outside_window = plan.outside_window
    summary.events = plan.events
    summary.online_records = sum(plan.records.values())
    summary.entries = len(plan.entries)
    return plan.entries


def _open_checkpoint(options: BackfillOptions) -> Checkpoint | None:
    if options.checkpoint is None:
        return None
    params = {
        "command": "backfill",
        "group": options.group,
        "since": options.since.isoformat() if options.since else None,
        "until": options.until.isoformat() if options.until else None,
        "history": "offline-only" if options.offline_only_history else "both",
        "names": ",".join(options.group_names[kind] for kind in options.kinds()),
    }
    paths = [path for _, path in options.sources()]
    try:
        inputs = fingerprint(paths, params)
    except OSError as error:
        raise SourceFileError(f"{error.filename}: cannot open ({error.strerror})") from error
    return Checkpoint.open(options.checkpoint, inputs)


def _send(
    options: BackfillOptions,
    entries: list[Entry],
    *,
    start: int,
    writer: BatchWriter,
    checkpoint: Checkpoint | None,
    failures: list[EntryFailure],
    reporter: Progress | None,
    reached: list[int],
) -> None:
    """Chunk by chunk: all calls of a chunk on the pool, then failures saved, then the
    checkpoint moved (and ``reached[0]`` with it). Any exception leaves both before the
    chunk in flight."""
    chunk = max(MAX_ENTRIES, options.chunk_entries)
    done = 0
    with ThreadPoolExecutor(options.workers, thread_name_prefix="backfill") as pool:
        try:
            for low in range(start, len(entries), chunk):
                high = min(low + chunk, len(entries))
                sizes: dict[Future[list[EntryFailure]], int] = {
                    pool.submit(writer.write, entries[at : min(at + MAX_ENTRIES, high)]): min(
                        MAX_ENTRIES, high - at
                    )
                    for at in range(low, high, MAX_ENTRIES)
                }
                new: list[EntryFailure] = []
                pending = set(sizes)
                while pending:
                    finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                    for call in finished:
                        new += call.result()  # re-raises WriteStopped
                        done += sizes[call]
                    if reporter is not None:
                        reporter.update(done)
                if new:
                    failures += new
                    save_failures(options.failed_file, failures)
                if checkpoint is not None:
                    checkpoint.save(high)
                reached[0] = high
        finally:
            with contextlib.suppress(Exception):
                pool.shutdown(wait=True, cancel_futures=True)
