"""The demo: the whole pipeline on one machine, from CSV to prediction.

Starts (or reuses) the local stack, provisions it from the template, replays both CSVs into
local Kinesis, waits until the trigger runner's consumers have caught up (its ``/status``),
then shows what landed: a summary of counts and rates, a few customers' online features with
their event times, the tutorial's ``get_record``/``batch_get_record``, and predictions from
the inference API. Customer ids and feature values only, never names.
"""

from __future__ import annotations

import _thread
import contextlib
import csv
import json
import os
import shutil
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

from devstack.rigs.aggregates_check import AggregatesVerdict
from devstack.stack.deployment import DevStack, StackConfig
from devstack.stack.process import StackFailure, describe_error
from producers.progress import Progress, ProgressDisplay

SHOWN_CUSTOMERS = 3


def customers_with_orders(orders_csv: Path, count: int = SHOWN_CUSTOMERS) -> list[str]:
    """The ``count`` customers with the newest orders: they have records in both groups, so
    the prediction has every feature it needs, and (replayed as live) a recent order, so
    the prediction is fresh. Ties keep file order."""
    newest: dict[str, str] = {}
    with orders_csv.open(newline="") as handle:
        for row in csv.DictReader(handle):
            customer_id = row.get("customer_id") or ""
            when = row.get("purchased_on") or ""
            if customer_id and when > newest.get(customer_id, ""):
                newest[customer_id] = when
    ranked = sorted(newest, key=lambda customer: newest[customer], reverse=True)
    return ranked[:count]


@dataclass(frozen=True)
class Counts:
    """Trigger-runner totals over every function and shard."""

    read: int = 0
    processed: int = 0
    to_on_failure: int = 0
    behind: int = 0
    caught_up: bool = False

    @classmethod
    def of(cls, status: dict[str, Any]) -> Counts:
        totals = [f["totals"] for f in status.get("functions", {}).values()]
        return cls(
            read=sum(t["records_read"] for t in totals),
            processed=sum(t["records_processed"] for t in totals),
            to_on_failure=sum(t["records_to_on_failure"] for t in totals),
            behind=sum(t["behind"] for t in totals),
            caught_up=bool(status.get("caught_up")),
        )

    def minus(self, base: Counts) -> Counts:
        return Counts(
            self.read - base.read,
            self.processed - base.processed,
            self.to_on_failure - base.to_on_failure,
            self.behind,
            self.caught_up,
        )


@dataclass
class Timings:
    """Seconds per phase, in order."""

    phases: dict[str, float] = field(default_factory=dict)

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        start = time.monotonic()
        try:
            yield
        finally:
            self.phases[name] = self.phases.get(name, 0.0) + time.monotonic() - start

    def line(self) -> str:
        return ", ".join(f"{name} {secs:.1f}s" for name, secs in self.phases.items())


@dataclass
class DemoResult:
    sent: int = 0
    processed: int = 0
    quarantined: int = 0
    on_failure: int = 0
    pipeline_seconds: float = 0.0
    caught_up: bool = False
    timings: Timings = field(default_factory=Timings)
    records: dict[str, dict[str, dict[str, str]]] = field(default_factory=dict)
    predictions: list[dict[str, Any]] = field(default_factory=list)
    aggregates: AggregatesVerdict | None = None
    offline_aggregates: AggregatesVerdict | None = None

    @property
    def rate(self) -> float:
        return self.sent / self.pipeline_seconds if self.pipeline_seconds else 0.0

    def summary_lines(self) -> list[str]:
        return [
            f"events sent          {self.sent:>8}",
            f"processed            {self.processed:>8}",
            f"quarantined          {self.quarantined:>8}",
            f"in on-failure queue  {self.on_failure:>8}",
            f"elapsed              {self.pipeline_seconds:>8.1f} s (replay start to caught up)",
            f"throughput           {self.rate:>8.0f} events/s end to end",
            f"phases               {self.timings.line()}",
        ]


@dataclass
class DemoOptions:
    customers: Path = Path("raw/customers.csv")
    orders: Path = Path("raw/orders.csv")
    show: Sequence[str] = ()  # empty: the first customers of the orders file
    keep_running: bool = False
    catch_up_timeout: float = 900.0
    config: StackConfig = field(default_factory=StackConfig.from_env)


Say = Callable[[str], None]


class Demo:
    """One run of the demo; ``run()`` returns the result, ``stack`` stays for inspection."""

    def __init__(self, options: DemoOptions, say: Say = print, err: TextIO | None = None) -> None:
        self.options = options
        self.say = say
        self.err = err
        self.stack = DevStack(options.config)
        self.show = list(options.show) or customers_with_orders(options.orders)
        self.result = DemoResult()
        self.env: dict[str, str] = {}
        self._failure: StackFailure | None = None
        self._shift = timedelta(0)

    # -- phases ------------------------------------------------------------------------------

    def run(self) -> DemoResult:
        timings = self.result.timings
        already_up = any(service.status().running for service in self.stack.services())
        try:
            with timings.phase("stack up"):
                self.start_stack()
            base = Counts.of(self.stack.watch())
            queued_before = self._queue_depths()
            started = time.monotonic()
            replay_started_ms = time.time() * 1000
            self._replay_and_consume(base, timings)
            self.result.pipeline_seconds = time.monotonic() - started
            quarantined, on_failure = self._queue_depths()
            self.result.quarantined = quarantined - queued_before[0]
            self.result.on_failure = on_failure - queued_before[1]
            self.say("")
            for line in self.result.summary_lines():
                self.say(line)
            self._freshness(replay_started_ms)
            with timings.phase("drift"):
                self._drift()
            with timings.phase("reads + predictions"):
                self._reads_and_predictions()
            with timings.phase("offline join"):
                self._offline_join()
        finally:
            if self.options.keep_running or already_up:
                self.say(f"\nThe stack stays up. Timings: {timings.line()}")
            else:
                with timings.phase("stack down"):
                    self.stack.down()
                self.say(f"\nStack stopped. Timings: {timings.line()}")
        return self.result

    def _freshness(self, since_ms: float) -> None:
        """p50/p99 freshness of this run's writes, from the handlers' EMF documents."""
        from monitoring.freshness_summary import summarize

        self.say(
            "freshness            (event: business time to readable online; "
            "pipeline: Kinesis arrival to written)"
        )
        for line in summarize(self.stack.handler_log, since_ms):
            self.say(f"  {line}")

    def _drift(self) -> None:
        """A one-screen drift summary (each group's older half against its newer half) and
        the HTML reports' paths; a problem reading the offline store is reported, not fatal."""
        from devstack.standins.featurestore.admin import flush_offline
        from monitoring.drift import Thresholds
        from monitoring.offline_window import OfflineReader
        from monitoring.run import Halves, groups_named, run_drift, summary_lines

        # under load the emulator's journal runs behind: move every offline row to Parquet
        flush_offline(self.env["AWS_ENDPOINT_URL_SAGEMAKER"])
        self.say("\ndrift (each group's older half of its event times against its newer half)")
        results = run_drift(
            groups_named(None),
            Halves(),
            reader=OfflineReader.connect(self._workgroup(), None),
            report_dir=self.stack.state_dir / "reports",
            stack_name=self.options.config.stack_name,
            thresholds=Thresholds(),
        )
        for line in summary_lines(results):
            self.say(f"  {line}")
        self.say(
            "  (day counts are stored as of the write time, and a replay writes the whole history "
            "at once:\n   older events carry larger counts, so the recency/tenure features drift "
            "between windows here;\n   inference recomputes them as of the request; the stats "
            "group's older half holds each\n   customer's first aggregates, averages over few "
            "orders, which spread wider)"
        )

    def start_stack(self) -> None:
        """Start (or reuse) and provision the stack; its endpoints go into os.environ."""
        self.say("Starting the local stack and provisioning template.yaml ...")
        self.stack.up(on_step=self._step)
        self.env = self.stack.environment()
        os.environ.update(self.env)

    def _step(self, line: str) -> None:
        """Services and provisioned resources; the not-emulated ones are in `local up`."""
        if not line.startswith(("listed", "skipped")):
            self.say(f"  {line}")

    def _replay_and_consume(self, base: Counts, timings: Timings) -> None:
        """Replay on this thread while another follows the consumers; both have a bar."""
        bars = ProgressDisplay(self.err, eta=False)
        waiter: threading.Thread | None = None
        stop = threading.Event()

        def progress(total: int) -> Progress:
            nonlocal waiter
            consume = bars.task("consume", total)
            waiter = threading.Thread(
                target=self._wait, args=(base, total, consume, stop), daemon=True
            )
            waiter.start()
            return bars.task("replay ", total)

        try:
            with timings.phase("replay"):
                self.replay(progress)
            with timings.phase("catch-up"):
                if waiter is not None:
                    waiter.join()
        except KeyboardInterrupt:
            if self._failure is None:
                raise
        finally:
            stop.set()
            bars.stop()
        if self._failure is not None:
            raise self._failure
        if not self.result.caught_up:
            raise DemoError(
                f"consumers did not catch up within {self.options.catch_up_timeout:.0f} s "
                f"({self.result.processed} of {self.result.sent} processed); "
                "see `featurestream local logs`"
            )

    def replay(self, progress: Callable[[int], Progress]) -> None:
        """Both CSVs into the stack's streams; ``progress(total)`` gets a reporter."""
        from producers.replay import ReplayOptions, run_replay
        from producers.streams import StreamNames

        name = self.options.config.stack_name
        options = ReplayOptions(
            customers=self.options.customers,
            orders=self.options.orders,
            streams=StreamNames(f"{name}-customer-events", f"{name}-order-events"),
            failed_file=self.stack.state_dir / "replay-failed.jsonl",
            as_live=True,
        )
        summary = run_replay(options, progress=progress)
        if self._failure is not None:
            raise self._failure
        if summary.error or summary.failed or summary.interrupted:
            reason = summary.error or f"{summary.failed} events not sent"
            raise DemoError(f"replay failed: {'interrupted' if summary.interrupted else reason}")
        self.result.sent = summary.sent
        self._shift = summary.shift  # as live: what the replay added to every event time

    def _wait(self, base: Counts, total: int, bar: Progress, stop: threading.Event) -> None:
        """Poll the trigger runner until ``total`` records are done and every shard is idle.

        A part that dies or keeps failing (:meth:`DevStack.watch`) stops the replay on the
        main thread the way Ctrl-C does, and the demo ends with that error.
        """
        deadline = time.monotonic() + self.options.catch_up_timeout
        try:
            while not stop.is_set() and time.monotonic() < deadline:
                try:
                    status = self.stack.watch()
                except StackFailure as failure:
                    self._failure = failure
                    _thread.interrupt_main()
                    return
                now = Counts.of(status).minus(base)
                self.result.processed = now.processed
                done = now.processed + now.to_on_failure
                bar.update(min(done, total))
                if done >= total and now.caught_up:
                    self.result.caught_up = True
                    return
                stop.wait(0.25)
        finally:
            bar.close()

    def _queue_depths(self) -> tuple[int, int]:
        import boto3

        from devstack.stack.unsaved import queue_depth

        sqs = boto3.client("sqs")
        name = self.options.config.stack_name
        depths = [
            queue_depth(sqs, sqs.get_queue_url(QueueName=queue)["QueueUrl"])
            for queue in (f"{name}-quarantine", f"{name}-stream-failures")
        ]
        return depths[0], depths[1]

    def _groups(self) -> tuple[str, str]:
        name = self.options.config.stack_name
        return f"{name}-customers", f"{name}-orders"

    def _show_features(self) -> None:
        import boto3

        runtime = boto3.client("sagemaker-featurestore-runtime")
        self.say("\nOnline features (newest record per customer, with its event time):")
        for customer_id in self.show:
            self.result.records[customer_id] = {}
            for group in (*self._groups(), self._stats_group()):
                got = runtime.get_record(
                    FeatureGroupName=group, RecordIdentifierValueAsString=customer_id
                )
                record = {f["FeatureName"]: f["ValueAsString"] for f in got.get("Record", [])}
                self.result.records[customer_id][group] = record
                shown = "  ".join(
                    f"{k}={v}" for k, v in record.items() if k not in ("customer_id", "event_time")
                )
                self.say(
                    f"  {customer_id:<7} {group:<24} event_time={record.get('event_time', '-')}"
                )
                self.say(f"          {shown or '(no record)'}")

    def _stats_group(self) -> str:
        return f"{self.options.config.stack_name}-customer-order-stats"

    def _check_aggregates(self) -> None:
        """Every customer's online aggregates against a pandas group-by of the orders CSV."""
        import boto3

        from devstack.rigs.aggregates_check import compare, expected_from_csv, online_records

        expected = expected_from_csv(self.options.orders, self._shift)
        runtime = boto3.client("sagemaker-featurestore-runtime")
        online = online_records(runtime, self._stats_group(), expected)
        verdict = compare(expected, online)
        self.result.aggregates = verdict
        self.say(f"\nAggregates check (pandas group-by over {self.options.orders.name}):")
        self.say(f"  {'OK' if verdict.exact else 'FAILED'}: {verdict.line()}")
        if not verdict.exact:
            raise DemoError(f"online aggregates differ from the batch group-by: {verdict.line()}")
        self._check_offline_aggregates(online, expected)

    def _check_offline_aggregates(
        self, online: dict[str, dict[str, str]], customers: Iterable[str]
    ) -> None:
        """The same records against the tutorial's aggregate SQL on the offline store's orders
        table (each order_id once), run as ``featurestream offline query`` runs it, for the
        replayed CSV's ``customers`` (a reused stack may hold others)."""
        from botocore.exceptions import BotoCoreError, ClientError

        from devstack.rigs.aggregates_check import compare_offline, expected_from_offline
        from featurestream.contract.params import load_params
        from featurestream.offline.athena import QueryFailed
        from featurestream_cli.commands.offline import OfflineSession

        customers_group, orders_group = self._groups()
        started = time.monotonic()
        try:
            self._flush_offline()
            session = OfflineSession(customers_group, orders_group, self._workgroup(), None)
            expected = expected_from_offline(session, load_params())
        except (OSError, ValueError, QueryFailed, BotoCoreError, ClientError) as error:
            reason = describe_error(error)
            raise DemoError(f"the offline aggregate query failed: {reason}") from None
        verdict = compare_offline(expected, online, customers)
        self.result.offline_aggregates = verdict
        self.say(
            "Aggregates check (the tutorial's SQL on the offline orders table, each order_id "
            f"once, via Athena; amounts unscaled; {time.monotonic() - started:.1f} s):"
        )
        self.say(f"  {'OK' if verdict.exact else 'FAILED'}: {verdict.line()}")
        if not verdict.exact:
            raise DemoError(f"online aggregates differ from the offline store: {verdict.line()}")

    def _workgroup(self) -> str:
        return f"{self.options.config.stack_name}-offline"

    def _flush_offline(self) -> None:
        """Ask the emulator to move every journaled row to the offline Parquet files now."""
        url = self.stack.featurestore().url()
        flush = urllib.request.Request(f"{url}/_emulator/flush", data=b"{}", method="POST")  # noqa: S310 - loopback URL of our own service
        with urllib.request.urlopen(flush, timeout=300):  # noqa: S310  # nosec B310  # the local emulator
            pass

    def _tutorial_reads(self) -> None:
        import boto3

        runtime = boto3.client("sagemaker-featurestore-runtime")
        customers, orders = self._groups()
        first = self.show[0]
        self.say("\nTutorial reads against the local store:")
        self.say(
            f"  featurestore_runtime.get_record(FeatureGroupName={customers!r}, "
            f"RecordIdentifierValueAsString={first!r})"
        )
        got = runtime.get_record(FeatureGroupName=customers, RecordIdentifierValueAsString=first)
        self.say(f"    -> {len(got.get('Record', []))} features")
        ids = list(self.show)
        self.say(
            "  featurestore_runtime.batch_get_record(Identifiers=["
            f"{{FeatureGroupName: {customers!r}, RecordIdentifiersValueAsString: {ids}}}, "
            f"{{FeatureGroupName: {orders!r}, ...}}])"
        )
        batch = runtime.batch_get_record(
            Identifiers=[
                {"FeatureGroupName": group, "RecordIdentifiersValueAsString": ids}
                for group in (customers, orders)
            ]
        )
        self.say(
            f"    -> {len(batch['Records'])} records, {len(batch['Errors'])} errors, "
            f"{len(batch['UnprocessedIdentifiers'])} unprocessed"
        )

    def _reads_and_predictions(self) -> None:
        """The online features, the tutorial's reads and the predictions; a failed call is a
        :class:`DemoError` naming it (or the stand-in that died), never a traceback."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self._show_features()
            self._check_aggregates()
            self._tutorial_reads()
            self._predictions()
        except DemoError:
            self.stack.watch()  # a dead stand-in explains the failure best
            raise
        except (BotoCoreError, ClientError) as error:
            self.stack.watch()
            raise DemoError(f"reading the online store failed: {describe_error(error)}") from None

    def _predictions(self) -> None:
        url = self.env["FEATURESTREAM_API_URL"]
        body = json.dumps({"customer_ids": list(self.show)}).encode()
        request = urllib.request.Request(  # noqa: S310 - loopback URL of our own service
            f"{url}/predictions",
            data=body,
            method="POST",
            headers={
                "Authorization": f"Bearer {self.env['FEATURESTREAM_API_TOKEN']}",
                "Content-Type": "application/json",
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310  # nosec B310  # URL is the local stack's http API
                answer = json.loads(response.read())
        except (OSError, ValueError) as error:
            raise DemoError(f"POST {url}/predictions failed: {_explain(error)}") from None
        self.say(f"\nPredictions (POST {url}/predictions, model {answer.get('model_version')}):")
        for item in answer.get("predictions", []):
            self.result.predictions.append(item)
            self.say(f"  {item['customer_id']:<7} reorder probability {item['prediction']:.3f}")
            self.say(f"          {stale_detail(item)}")
        if any(item.get("stale") for item in answer.get("predictions", [])):
            for line in stale_explanation(answer):
                self.say(line)
        for item in answer.get("missing", []):
            self.say(f"  {item.get('customer_id')}: missing {item.get('missing_groups')}")

    def _offline_join(self) -> None:
        """The tutorial's join of the two groups' offline tables, through Athena's API (the
        stack's stand-in): its first rows and row count, for the newest month of orders (a
        partition filter, as on Athena: every hourly file of six years is a slow first read)."""
        from botocore.exceptions import BotoCoreError, ClientError

        from featurestream.offline.athena import QueryFailed

        try:
            self._flush_offline()
            month = newest_month(self.options.orders, self._shift)
            rows, count, seconds = offline_join(self._groups(), month)
        except (OSError, ValueError, QueryFailed, BotoCoreError, ClientError) as error:
            self.stack.watch()
            raise DemoError(f"the offline join failed: {describe_error(error)}") from None
        self.say(f"\nThe tutorial's join on the offline store (orders of {month}, via Athena):")
        self.say(f"  {TUTORIAL_JOIN_SHOWN}")
        for row in rows:
            self.say("  " + "  ".join(f"{name}={value}" for name, value in row.items()))
        self.say(f"  -> {count} joined rows in {seconds:.1f} s (featurestream offline query)")


TUTORIAL_JOIN_SHOWN = (
    "SELECT ... FROM {customers} c JOIN {orders} o ON c.customer_id = o.customer_id"
)


def newest_month(orders_csv: Path, shift: timedelta = timedelta(0)) -> str:
    """``YYYY-MM`` of the newest order in the CSV the demo replayed (event time = purchase
    time), moved by the replay's as-live ``shift``: the partition its join reads."""
    with orders_csv.open(newline="") as handle:
        newest = max((row["purchased_on"] for row in csv.DictReader(handle)), default="")
    try:
        moment = datetime.fromisoformat(newest)
    except ValueError:
        raise ValueError(f"{orders_csv}: no purchased_on to take a month from") from None
    return (moment + shift).strftime("%Y-%m")


def offline_join(groups: tuple[str, str], newest: str) -> tuple[list[dict[str, Any]], int, float]:
    """The join for the orders of month ``newest`` (``YYYY-MM``): (first rows, row count,
    seconds). The partition filter keeps Athena, and the stand-in, to that month's files."""
    import boto3

    from featurestream.offline.athena import run_query
    from featurestream.offline.tables import describe_table

    sagemaker = boto3.client("sagemaker")
    customers, orders = (describe_table(sagemaker, group) for group in groups)
    started = time.monotonic()
    year, month = newest.split("-")
    if not (year.isdigit() and month.isdigit()):  # partition values the emulator wrote
        raise ValueError("unexpected partition values in the orders table")
    join = (
        "SELECT c.customer_id, c.sex, c.is_married, o.order_id, o.purchase_amount, "  # noqa: S608  # nosec B608  # names from DescribeFeatureGroup, digits checked
        "o.is_reordered, o.event_time, count(*) OVER () AS joined_rows "
        f"FROM {customers.qualified} c JOIN {orders.qualified} o "
        "ON c.customer_id = o.customer_id "
        f"WHERE o.year = '{year}' AND o.month = '{month}' "
        "ORDER BY o.event_time, o.order_id LIMIT 5"
    )
    result = run_query(
        join, database=orders.database, workgroup=f"{groups[0].rsplit('-', 1)[0]}-offline"
    )
    names = [c.name for c in result.columns]
    rows = [dict(zip(names, row, strict=True)) for row in result.rows]
    count = int(rows[0].pop("joined_rows")) if rows else 0
    for row in rows[1:]:
        row.pop("joined_rows")
    return rows, count, time.monotonic() - started


def _explain(error: Exception) -> str:
    """``Type: message``, with the API's own message for an HTTP error answer."""
    if isinstance(error, urllib.error.HTTPError):
        try:
            detail = json.loads(error.read()).get("message", "")
        except (OSError, ValueError, AttributeError):
            detail = ""
        return f"the API answered {error.code}" + (f": {detail}" if detail else "")
    return describe_error(error)


def _days(seconds: float) -> str:
    return f"{seconds / 86400:,.0f} days"


def stale_detail(prediction: dict[str, Any]) -> str:
    """Per group: its record's event time and age as of the request, flagged if stale."""
    parts = []
    for group, meta in sorted(prediction.get("feature_groups", {}).items()):
        flag = " STALE" if meta.get("stale") else ""
        age = _days(float(meta.get("age_seconds") or 0))
        parts.append(f"{group}: {meta.get('event_time')} ({age} old){flag}")
    return "; ".join(parts) or "(no feature metadata)"


def stale_explanation(answer: dict[str, Any]) -> list[str]:
    """Why a prediction of the demo is stale, in plain words."""
    ages = ", ".join(
        f"{group} {_days(float(seconds))}" if seconds else f"{group}: no limit"
        for group, seconds in sorted(answer.get("max_record_age_seconds", {}).items())
    )
    return [
        f"  A prediction flagged stale scores a record older than the inference function's max "
        f"record age ({ages})",
        f"  as of the request ({answer.get('as_of')}). The demo replays the history as live "
        "(its newest event dated now),",
        "  so only a customer whose latest order is older than that is flagged; its time-relative",
        "  features are then recomputed as of today, which the runbook in docs/monitoring.md "
        "covers.",
    ]


class DemoError(RuntimeError):
    """The demo could not complete; the message is for the user."""


def cli_command() -> str:
    """How to run this CLI from the user's shell: ``featurestream`` when that name finds this
    very program on PATH, else its path (``.venv/bin/featurestream`` after ``make up``)."""
    here = Path(sys.executable).with_name("featurestream")
    found = shutil.which("featurestream")
    if found and Path(found).resolve() == here.resolve():
        return "featurestream"
    with contextlib.suppress(ValueError):
        return str(here.relative_to(Path.cwd()))
    return str(here)


def next_steps(env: dict[str, str]) -> list[str]:
    """Commands to try against a running stack (printed by ``make up``/``demo --keep``),
    spelled so they run as shown in the user's shell."""
    api = env.get("FEATURESTREAM_API_URL", "$FEATURESTREAM_API_URL")
    cli = cli_command()
    width = len(cli) + 23
    return [
        f'eval "$({cli} local env)"',
        f"{cli + ' local status':<{width}} # services, records read/processed, read errors",
        f"{cli + ' local logs -f':<{width}} # the handlers' structured logs",
        f"{'aws kinesis list-streams':<{width}} # or any boto3 client: endpoints come from the env",
        f"{cli + ' replay --limit 1000':<{width}} # send more events",
        f'curl -H "Authorization: Bearer $FEATURESTREAM_API_TOKEN" {api}/customers/C1/features',
        f"{cli + ' local down':<{width}} # stop ({cli} local reset wipes .state/)",
    ]
