"""Run one fault scenario on a running local stack and measure what it left behind.

Per scenario: drain both queues, switch the emulator's faults on, publish the workload
(through the producer's fault wrapper when partial failures are planned, paced when a
process is to be killed or restarted meanwhile), wait until every record is done and the
consumers caught up, switch faults off, then check online, offline and both queues.
"""

from __future__ import annotations

import json
import random
import threading
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3

from devstack.rigs.chaos.disrupt import (
    kill_busy_worker,
    kill_emulator,
    restart_emulator,
    wait_for_idle_workers,
)
from devstack.rigs.chaos.figures import Figures
from devstack.rigs.chaos.plan import FaultPlan
from devstack.rigs.chaos.redrive import redrive
from devstack.rigs.chaos.verify import (
    check_aggregates,
    check_offline,
    check_online,
    check_quarantine,
    newest_events,
)
from devstack.rigs.chaos.workload import (
    PILL_EVENT_TIME,
    PoisonPill,
    Workload,
    build_workload,
    customer_slice,
    read_slice,
)
from devstack.stack.deployment import DevStack
from devstack.standins.featurestore import admin
from devstack.standins.featurestore.config import FaultConfig
from featurestream.contract.catalog import CUSTOMER_ORDER_STATS, CUSTOMERS, ORDERS
from featurestream.contract.params import load_params
from producers.encoding import EncodedEvent
from producers.faults import PartialFailureKinesis
from producers.publisher import EventPublisher, make_kinesis_client
from producers.streams import StreamNames

WRITE_OPERATIONS = frozenset({"PutRecord", "BatchWriteRecord"})
QUARANTINE_QUEUE = "quarantine"
FAILURE_QUEUE = "stream-failures"
KILL_WINDOW_LATENCY_MS = 20.0
"""Store latency while a worker is to be killed, so invocations last long enough to be
caught mid-batch (each write call waits this long; benign on its own)."""
PACED_CHUNKS = 12
"""A disrupted scenario is sent in this many chunks, ``pace_s`` apart."""


@dataclass(frozen=True)
class RunSettings:
    seed: int = 7
    drain_timeout_s: float = 120.0
    pace_s: float = 0.25


class ScenarioRunner:
    """Runs scenarios on one stack; reads its endpoints from ``stack.environment()``, so
    the caller's process environment must already point boto3 at the stack."""

    def __init__(self, stack: DevStack, settings: RunSettings | None = None) -> None:
        self.stack = stack
        self.settings = settings or RunSettings()
        env = stack.environment()
        self.trigger_url = env["FEATURESTREAM_TRIGGER_URL"]
        self.store_url = env["AWS_ENDPOINT_URL_SAGEMAKER_FEATURESTORE_RUNTIME"]
        name = stack.config.stack_name
        self.groups = {CUSTOMERS.name: f"{name}-customers", ORDERS.name: f"{name}-orders"}
        self.stats_group = f"{name}-{CUSTOMER_ORDER_STATS.name}"
        self.state_table = f"{name}-aggregate-state"
        self.moto_url = env["AWS_ENDPOINT_URL_DYNAMODB"]
        self.queues = {q: f"{name}-{q}" for q in (QUARANTINE_QUEUE, FAILURE_QUEUE)}
        self.streams = StreamNames.from_env()
        self.sqs = boto3.client("sqs")
        self.kinesis = boto3.client("kinesis")
        self.runtime = boto3.client("sagemaker-featurestore-runtime")
        self.offline_roots = self._offline_roots(boto3.client("sagemaker"))

    # -- stack readings ----------------------------------------------------------------------

    def _offline_roots(self, sagemaker: Any) -> dict[str, Path]:
        root = self.stack.state_dir / "featurestore" / "offline-store"
        roots = {}
        for group, name in self.groups.items():
            described = sagemaker.describe_feature_group(FeatureGroupName=name)
            uri = described["OfflineStoreConfig"]["S3StorageConfig"]["ResolvedOutputS3Uri"]
            roots[group] = root / uri.split("://", 1)[1]
        return roots

    def _totals(self) -> dict[str, Any]:
        status = self.stack.watch()
        summed: dict[str, Any] = {"caught_up": bool(status["caught_up"])}
        for function in status["functions"].values():
            for name, value in function["totals"].items():
                if isinstance(value, int) and not isinstance(value, bool):
                    summed[name] = summed.get(name, 0) + value
        return summed

    def _drain(self, queue: str) -> list[dict[str, Any]]:
        url = self.sqs.get_queue_url(QueueName=self.queues[queue])["QueueUrl"]
        bodies: list[dict[str, Any]] = []
        while True:
            got = self.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
            if not got:
                return bodies
            for message in got:
                bodies.append(json.loads(message["Body"]))
                self.sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])

    def _handler_log_offset(self) -> int:
        path = self.stack.handler_log
        return path.stat().st_size if path.exists() else 0

    def _invoked_records(self, offset: int) -> tuple[int, int]:
        """Records handed to handlers and crashed invocations, from the platform reports
        written to the handler log since ``offset``."""
        records = crashes = 0
        with self.stack.handler_log.open("rb") as log:
            log.seek(offset)
            for line in log:
                if b'"platform.report"' not in line:
                    continue
                report = json.loads(line)
                records += int(report.get("records") or 0)
                crashes += report.get("errorType") == "Runtime.ExitError"
        return records, crashes

    def _store_faults(self, plan: FaultPlan) -> FaultConfig:
        return FaultConfig(
            latency_ms=KILL_WINDOW_LATENCY_MS if plan.kill_worker else 0.0,
            throttle_rate=plan.store_throttle,
            error_rate=plan.store_error,
            operations=WRITE_OPERATIONS,
            seed=self.settings.seed,
        )

    def _state_faults(self, throttle_rate: float) -> int:
        """Set moto's throttling of the state table (0: off); returns how many calls it
        throttled since it was last set."""
        from devstack.standins.moto_service import FAULTS_PATH

        body = {"table": self.state_table, "throttle_rate": throttle_rate}
        if throttle_rate:
            body["seed"] = self.settings.seed
        url = f"{self.moto_url}{FAULTS_PATH}"
        data = json.dumps(body).encode()
        request = urllib.request.Request(url, data=data, method="POST")  # noqa: S310  # local moto
        with urllib.request.urlopen(request, timeout=5) as answer:  # noqa: S310  # nosec B310
            return int(json.loads(answer.read())["throttled"])

    # -- one scenario ------------------------------------------------------------------------

    def run(self, plan: FaultPlan, valid: list[EncodedEvent]) -> Figures:
        rng = random.Random(f"{self.settings.seed}:{plan.name}")  # noqa: S311  # nosec B311
        workload = build_workload(valid, plan, rng)
        figures = Figures(
            plan.name,
            events=len(valid),
            customers=len({e.partition_key for e in valid}),
            duplicates=workload.duplicates,
            pills=len(workload.pills),
        )
        for queue in self.queues:
            self._drain(queue)
        before = self._totals()
        log_offset = self._handler_log_offset()
        faults = self._store_faults(plan)
        admin.set_faults(self.store_url, faults)
        self._state_faults(plan.state_throttle)
        started_wall, started = datetime.now(UTC), time.monotonic()
        try:
            sent, producer_retries, injected_store, disrupted = self._send(
                plan, workload, faults, before
            )
            published = time.monotonic()
            self._wait_drained(before, sent)
            drained = time.monotonic()
            store_counts = admin.injected_faults(self.store_url)
            figures.state_faults = self._state_faults(0.0)
        finally:
            admin.set_faults(self.store_url, FaultConfig())
            self._state_faults(0.0)
        figures.sent = sent
        figures.producer_retries = producer_retries
        figures.store_faults = injected_store + sum(store_counts.values())
        figures.drain_s = drained - published
        after = self._totals()
        figures.on_failure = after["records_to_on_failure"] - before["records_to_on_failure"]
        figures.on_failure_allowed = plan.stops_the_store
        parked = self._drain(FAILURE_QUEUE)
        if parked:
            figures.redriven = redrive(self.kinesis, parked)
            self._wait_drained(after, figures.redriven)
            after = self._totals()
        figures.total_s = time.monotonic() - started
        figures.batch_retries = sum(after[k] - before[k] for k in ("retries", "bisections"))
        invoked, crashes = self._invoked_records(log_offset)
        figures.redelivered = invoked - (after["records_read"] - before["records_read"])
        if plan.kill_worker:
            figures.notes.append(f"{crashes} invocation(s) ended by the killed worker")
            if not crashes:
                figures.missed.append("the killed worker was running no invocation")
        if disrupted:
            figures.notes.append(disrupted)
        self._check(workload, figures, (started_wall, datetime.now(UTC)))
        return figures

    def _send(
        self,
        plan: FaultPlan,
        workload: Workload,
        faults: FaultConfig,
        before: dict[str, Any],
    ) -> tuple[int, int, int, str]:
        """Publish everything; returns (records accepted, producer resends, store faults
        counted before a restart reset them, what the disruptions did)."""
        client: Any = make_kinesis_client()
        wrapper = (
            PartialFailureKinesis(client, plan.partial_put, seed=self.settings.seed)
            if plan.partial_put
            else None
        )
        publisher = EventPublisher(self.streams, client=wrapper or client, flush_at_exit=False)
        chunks = PACED_CHUNKS if plan.disrupts else 2
        size = -(-len(workload.sends) // chunks)
        pill_after: dict[int, list[PoisonPill]] = {}
        for index, pill in enumerate(workload.pills):
            pill_after.setdefault(index * chunks // len(workload.pills), []).append(pill)
        disruption = _Disruption(
            self, plan, faults, before, len(workload.sends) + len(workload.pills)
        )
        if plan.kill_worker:  # a batch must find a warm worker, seen idle, to be killed in
            wait_for_idle_workers(self.stack.trigger().status().pid or 0, timeout=120.0)
        disruption.start()
        sent_pills = 0
        for chunk in range(chunks):
            for pill in pill_after.get(chunk, []):
                self.kinesis.put_record(
                    StreamName=self.streams.for_kind(pill.stream),
                    Data=pill.data,
                    PartitionKey=pill.partition_key,
                )
                sent_pills += 1
            for event in workload.sends[chunk * size : (chunk + 1) * size]:
                publisher.put_encoded(event)
            failures = publisher.flush()
            if failures:
                raise RuntimeError(f"{len(failures)} event(s) could not be published")
            if chunks > 1:
                time.sleep(self.settings.pace_s)
        disruption.join()
        stats = publisher.stats
        return stats.sent + sent_pills, stats.retried, disruption.store_faults, disruption.summary

    def _wait_drained(self, before: dict[str, Any], expected: int) -> None:
        deadline = time.monotonic() + self.settings.drain_timeout_s
        while True:
            now = self._totals()
            done = (now["records_processed"] - before["records_processed"]) + (
                now["records_to_on_failure"] - before["records_to_on_failure"]
            )
            if done >= expected and now["caught_up"]:
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"consumers stuck at {done}/{expected} records")
            time.sleep(0.1)

    def _check(
        self,
        workload: Workload,
        figures: Figures,
        window: tuple[datetime, datetime],
    ) -> None:
        newest = newest_events(workload.valid)
        online = check_online(self.runtime, self.groups, newest, window, load_params())
        admin.flush_offline(self.store_url)
        future = PILL_EVENT_TIME if workload.pills else None
        offline = check_offline(self.offline_roots, workload.valid, future)
        quarantine = check_quarantine(self._drain(QUARANTINE_QUEUE), workload.pills)
        aggregates = check_aggregates(self.runtime, self.stats_group, workload.valid)
        figures.aggregates_wrong = len(aggregates.missing) + len(aggregates.wrong)
        figures.lost = len(set(offline.lost) | {f"online {m}" for m in online.missing})
        figures.double_applied = len(online.stale)
        figures.wrong = len(online.wrong) + offline.invalid_rows
        figures.quarantined = quarantine.matched
        figures.misquarantined = quarantine.unexpected + len(quarantine.wrong_reason)
        figures.on_failure_left = len(self._drain(FAILURE_QUEUE))
        figures.offline_extra = offline.extra_rows
        details = [
            *offline.lost[:3],
            *online.missing[:3],
            *online.stale[:3],
            *online.wrong[:3],
            *(f"aggregates {c}" for c in aggregates.missing[:3]),
            *(f"aggregates {c}" for c in aggregates.wrong[:3]),
            *quarantine.missing,
            *quarantine.wrong_reason,
        ]
        if details:
            figures.notes.append("examples: " + "; ".join(details[:8]))
        if quarantine.repeats:
            figures.notes.append(
                f"{quarantine.repeats} pill(s) quarantined again after a redelivery"
            )


class _Disruption(threading.Thread):
    """Kills a busy worker and/or restarts the emulator while the scenario is sent."""

    def __init__(
        self,
        runner: ScenarioRunner,
        plan: FaultPlan,
        faults: FaultConfig,
        before: dict[str, Any],
        expected: int,
    ) -> None:
        super().__init__(name=f"disrupt {plan.name}", daemon=True)
        self.runner, self.plan, self.faults, self.before, self.expected = (
            runner,
            plan,
            faults,
            before,
            expected,
        )
        self.summary = ""
        self.store_faults = 0
        self.error: BaseException | None = None

    def _progress(self) -> int:
        now = self.runner._totals()
        return int(now["records_processed"] - self.before["records_processed"])

    def _wait_for(self, records: int, timeout: float = 60.0) -> None:
        """Until the handlers have processed ``records`` of this scenario (or ``timeout``)."""
        deadline = time.monotonic() + timeout
        while self._progress() < records and time.monotonic() < deadline:
            time.sleep(0.05)

    def run(self) -> None:
        try:
            notes = []
            if self.plan.kill_worker:
                trigger = self.runner.stack.trigger().status()
                killed = kill_busy_worker(trigger.pid or 0, timeout=60.0)
                notes.append(
                    f"worker {killed.pid} killed mid-batch after {killed.searched_s:.1f} s"
                    if killed
                    else "no busy worker found to kill"
                )
            url = self.runner.store_url
            if self.plan.restart_emulator:
                self._wait_for(self.expected // 3)
                self.store_faults += sum(admin.injected_faults(url).values())
                restart = restart_emulator(self.runner.stack)
                admin.set_faults(url, self.faults)  # a restart starts with faults off
                notes.append(
                    f"emulator restarted after {self._progress()} records, "
                    f"down {restart.down_s:.1f} s"
                )
            if self.plan.kill_emulator:
                self._wait_for(
                    self.expected * 2 // 3 if self.plan.restart_emulator else self.expected // 3
                )
                self.store_faults += sum(admin.injected_faults(url).values())
                dead = kill_emulator(self.runner.stack)
                admin.set_faults(url, self.faults)
                notes.append(
                    f"emulator killed (SIGKILL) after {self._progress()} records, "
                    f"down {dead.down_s:.1f} s"
                )
            self.summary = "; ".join(notes)
        except BaseException as error:  # reported by join()
            self.error = error

    def join(self, timeout: float | None = None) -> None:
        super().join(timeout)
        if self.error is not None:
            raise self.error


def run_suite(
    stack: DevStack,
    plans: list[FaultPlan],
    *,
    raw_dir: Path,
    work_dir: Path,
    first_customer: int,
    customers_per_scenario: int,
    settings: RunSettings | None = None,
    on_result: Callable[[Figures], None] | None = None,
) -> list[Figures]:
    """Each plan on its own slice of customers (``first_customer`` on, consecutive)."""
    slices = [
        customer_slice(first_customer + i * customers_per_scenario, customers_per_scenario)
        for i in range(len(plans))
    ]
    events = read_slice(raw_dir, [c for ids in slices for c in ids], work_dir)
    runner = ScenarioRunner(stack, settings)
    # A fresh stack's workers are still cold-starting: let them finish, so the first
    # scenario's drain time is not a cold start's.
    wait_for_idle_workers(stack.trigger().status().pid or 0, timeout=120.0)
    results = []
    for plan, ids in zip(plans, slices, strict=True):
        members = set(ids)
        figures = runner.run(plan, [e for e in events if e.partition_key in members])
        results.append(figures)
        if on_result is not None:
            on_result(figures)
    return results
