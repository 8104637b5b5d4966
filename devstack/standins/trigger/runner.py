"""The trigger runner: Lambda's Kinesis event source mappings of ``template.yaml``, locally.

Per mapping it finds the stream's shards (again every ``discovery_interval``, so streams
provisioned after start-up and child shards are picked up), starts a :class:`ShardConsumer`
per shard and shares one warm :class:`WorkerPool` per function between them.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from devstack.stack.lifecycle import Startable
from devstack.stack.process import StackFailure
from devstack.standins.http_service import LoopbackWSGIServer
from devstack.standins.trigger.config import EventSourceMapping, load_mappings
from devstack.standins.trigger.consumer import ShardConsumer
from devstack.standins.trigger.destination import SqsDestination
from devstack.standins.trigger.logfile import JsonLog, default_log_file
from devstack.standins.trigger.pool import WorkerPool
from devstack.standins.trigger.shard_reader import ShardReader
from devstack.standins.trigger.stats import failing_shards, totals
from devstack.standins.trigger.worker import WorkerSpec

log = logging.getLogger(__name__)

CLIENT_CONFIG = Config(
    # Three attempts (about 1.5 s of backoff): a read that still fails is counted, and
    # READ_FAILURES_BEFORE_FAILING of them in a row make the shard fail within seconds.
    retries={"mode": "standard", "total_max_attempts": 3},
    connect_timeout=2,
    read_timeout=30,
    max_pool_connections=64,
)


class _MappingRun:
    """The live state of one mapping: its pool, destination and shard consumers."""

    def __init__(self, mapping: EventSourceMapping, pool: WorkerPool, dest: Any) -> None:
        self.mapping = mapping
        self.pool = pool
        self.destination: SqsDestination | None = dest
        self.shards: dict[str, ShardConsumer] = {}
        self.stream_found = False


class TriggerRunner(Startable):
    """Runs every Kinesis event source mapping of a template until :meth:`stop`.

    ``mappings`` (from :func:`load_mappings`) may be given instead of a template path, e.g.
    with settings changed by ``EventSourceMapping.with_changes``. ``status_port=None`` runs
    no status server; ``0`` picks a free port (see :attr:`status_url`).
    """

    def __init__(
        self,
        template: Path | str = "template.yaml",
        *,
        stack_name: str = "featurestream",
        parameters: Mapping[str, str] | None = None,
        env_overrides: Mapping[str, Mapping[str, str]] | None = None,
        mappings: list[EventSourceMapping] | None = None,
        log_file: Path | None = None,
        status_port: int | None = None,
        status_host: str = "127.0.0.1",
        poll_interval: float = 1.0,
        discovery_interval: float = 5.0,
        max_workers_per_function: int = 4,
        max_pending_per_shard: int = 10_000,
        retry_backoff: float = 0.05,
        prewarm: bool = True,
    ) -> None:
        if mappings is None:
            mappings = load_mappings(
                template, stack_name=stack_name, parameters=parameters, env_overrides=env_overrides
            )
        self.mappings = [m for m in mappings if m.enabled]
        self.stack_name = stack_name
        self.log_file = log_file or default_log_file()
        self.status_port = status_port
        self.status_host = status_host
        self.poll_interval = poll_interval
        self.discovery_interval = discovery_interval
        self.max_workers_per_function = max_workers_per_function
        self.max_pending_per_shard = max_pending_per_shard
        self.retry_backoff = retry_backoff
        self.prewarm = prewarm
        self.started_at: float | None = None
        self._runs: list[_MappingRun] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._discovery: threading.Thread | None = None
        self._server: LoopbackWSGIServer | None = None
        self._log: JsonLog | None = None
        self._kinesis: Any = None

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> TriggerRunner:
        """Read every existing shard from now on; returns once their iterators are taken."""
        region = self.mappings[0].region if self.mappings else None
        self._kinesis = boto3.client("kinesis", region_name=region, config=CLIENT_CONFIG)
        sqs = boto3.client("sqs", region_name=region, config=CLIENT_CONFIG)
        self._log = JsonLog(self.log_file)
        for mapping in self.mappings:
            run = _MappingRun(mapping, self._pool(mapping), self._dest(mapping, sqs))
            if self.prewarm:
                run.pool.prewarm()
            self._runs.append(run)
        self.started_at = time.time()
        self._discover()
        self._discovery = threading.Thread(target=self._rediscover, name="discovery", daemon=True)
        self._discovery.start()
        if self.status_port is not None:
            from devstack.standins.trigger.status import start_status_server

            self._server = start_status_server(self, self.status_host, self.status_port)
        return self

    def stop(self, timeout: float = 30.0) -> None:
        """Stop reading, let invocations in flight finish, then stop the workers."""
        self._stopping.set()
        with self._lock:
            consumers = [c for run in self._runs for c in run.shards.values()]
        for consumer in consumers:
            consumer.stop()
        deadline = time.monotonic() + timeout
        for consumer in consumers:
            consumer.join(max(0.1, deadline - time.monotonic()))
        if self._discovery is not None:
            self._discovery.join(timeout=5)
        for run in self._runs:
            run.pool.close()
        if self._server is not None:
            self._server.stop()
        if self._log is not None:
            self._log.close()
            self._log = None

    @property
    def status_url(self) -> str | None:
        if self._server is None:
            return None
        return f"http://{self.status_host}:{self._server.bound_port}"

    # -- wiring ------------------------------------------------------------------------------

    def _pool(self, mapping: EventSourceMapping) -> WorkerPool:
        spec = WorkerSpec(
            function_name=mapping.function_name,
            function_arn=mapping.function_arn,
            handler=mapping.handler,
            code_dir=str(mapping.code_dir),
            memory_size=mapping.memory_size,
            timeout=mapping.timeout,
            environment=mapping.environment,
            log_file=str(self.log_file),
        )
        assert self._log is not None  # nosec B101  # type narrowing only
        return WorkerPool(spec, self.max_workers_per_function, self._log)

    @staticmethod
    def _dest(mapping: EventSourceMapping, sqs: Any) -> SqsDestination | None:
        arn = mapping.on_failure_arn
        if arn is None:
            return None
        if arn.split(":")[2] != "sqs":
            log.warning("%s: only SQS on-failure destinations run locally", mapping.function_id)
            return None
        return SqsDestination(sqs, arn)

    def _discover(self) -> None:
        for run in self._runs:
            try:
                shard_ids = self._shard_ids(run.mapping.stream_arn)
            except ClientError as error:
                code = error.response.get("Error", {}).get("Code")
                log.info("%s: stream not readable yet (%s)", run.mapping.stream_name, code)
                continue
            except Exception as error:  # Kinesis endpoint down: try again later
                log.warning("%s: ListShards failed (%s)", run.mapping.stream_name, error)
                continue
            first = not run.stream_found
            for shard_id in shard_ids:
                if shard_id in run.shards or self._stopping.is_set():
                    continue
                position = run.mapping.starting_position if first else "TRIM_HORIZON"
                reader = ShardReader(self._kinesis, run.mapping.stream_arn, shard_id, position)
                try:
                    reader.open()
                except Exception as error:  # retried at the next discovery
                    log.warning("%s: GetShardIterator failed (%s)", shard_id, error)
                    continue
                consumer = ShardConsumer(
                    run.mapping,
                    reader,
                    run.pool,
                    run.destination,
                    poll_interval=self.poll_interval,
                    max_pending=self.max_pending_per_shard,
                    retry_backoff=self.retry_backoff,
                )
                with self._lock:
                    run.shards[shard_id] = consumer
                consumer.start()
            run.stream_found = bool(run.shards)

    def _shard_ids(self, stream_arn: str) -> list[str]:
        paginator = self._kinesis.get_paginator("list_shards")
        return [
            shard["ShardId"]
            for page in paginator.paginate(StreamARN=stream_arn)
            for shard in page["Shards"]
        ]

    def _rediscover(self) -> None:
        while not self._stopping.wait(self.discovery_interval):
            self._discover()

    # -- status ------------------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        """Counters and lag per function and shard (the ``GET /status`` document)."""
        functions: dict[str, Any] = {}
        with self._lock:
            runs = [(run, dict(run.shards)) for run in self._runs]
        for run, shards in runs:
            snapshots = {shard_id: c.snapshot() for shard_id, c in sorted(shards.items())}
            mapping = run.mapping
            functions[mapping.function_id] = {
                "function_name": mapping.function_name,
                "event": mapping.event_id,
                "stream": mapping.stream_name,
                "stream_arn": mapping.stream_arn,
                "stream_found": run.stream_found,
                "settings": {
                    "BatchSize": mapping.batch_size,
                    "MaximumBatchingWindowInSeconds": mapping.batching_window,
                    "ParallelizationFactor": mapping.parallelization_factor,
                    "BisectBatchOnFunctionError": mapping.bisect_on_error,
                    "MaximumRetryAttempts": mapping.maximum_retry_attempts,
                    "MaximumRecordAgeInSeconds": mapping.maximum_record_age,
                    "FunctionResponseTypes": (
                        ["ReportBatchItemFailures"] if mapping.report_batch_item_failures else []
                    ),
                    "StartingPosition": mapping.starting_position,
                    "OnFailure": mapping.on_failure_arn,
                    "Timeout": mapping.timeout,
                },
                "totals": totals(list(snapshots.values())),
                "shards": snapshots,
            }
        caught_up = all(f["stream_found"] and f["totals"]["caught_up"] for f in functions.values())
        status: dict[str, Any] = {
            "stack": self.stack_name,
            "started_at": self.started_at,
            "now": time.time(),
            "handler_log": str(self.log_file),
            "caught_up": caught_up,
            "functions": functions,
        }
        status["failing"] = failing_shards(status)
        return status

    def wait_until_caught_up(self, timeout: float = 30.0, since: float | None = None) -> bool:
        """True once every shard was polled empty after ``since`` (default: now) with no
        record left to process; False after ``timeout`` seconds. A shard that keeps failing
        to read raises :class:`~devstack.stack.process.StackFailure` at once, not after the wait."""
        since = time.time() if since is None else since
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status = self.status()
            if status["failing"]:
                raise StackFailure("; ".join(status["failing"]))
            shards = [s for f in status["functions"].values() for s in f["shards"].values()]
            if status["caught_up"] and all(
                s["closed"] or (s["last_poll"] or 0) >= since for s in shards
            ):
                return True
            time.sleep(0.05)
        return False
