"""Order handler throughput against a Feature Store that answers each call after 10 ms,
without and with the customer-order-stats aggregates (state in moto's DynamoDB, 10 ms away).

One ``lambda_handler`` invocation on 500 order events (the first 500 of raw/orders.csv),
with the template's defaults (``PUT_CONCURRENCY``, ``STORE_BATCH_SIZE``,
``STORE_BATCH_LINGER_MS``), against a sequential baseline measured in the same run: the same
transform, one PutRecord at a time on one client. The emulator runs in its own process
(``python -m devstack.standins.featurestore``) with
``FaultConfig(latency_ms=10, operations={"PutRecord", "BatchWriteRecord"})``, so a
25-entry call costs the same 10 ms as a single PutRecord. Prints the store calls the handler
made and the emulator's own CPU per record (emulator stats: it shares the machine's cores
with the handler), each handler's cold-start import time (``python -X importtime``, fresh
interpreters) and checks that no heavy package (pandas, scikit-learn, devstack …) is on the
handler import path.

    python bench/handler.py [--strict]   # --strict: exit 1 when a target is missed
    BENCH_EVENTS=3000 python bench/handler.py   # a bigger invocation (default 500 events)
    BENCH_RUNS=5 python bench/handler.py   # invocations (and baselines) measured (default 3)
    STORE_BATCH_LINGER_MS=50 python bench/handler.py   # instead of the template's default
    PUT_CONCURRENCY=16 python bench/handler.py   # calls in flight, instead of the template's

The aggregates side runs the same handler with ``STATS_FEATURE_GROUP_NAME`` and
``AGGREGATE_STATE_TABLE`` set: moto (``devstack.standins.moto_service``) in its own process,
behind ``devstack.standins.dynamodb_faults`` (own process) adding 10 ms to every DynamoDB
call, so each BatchGetItem and TransactWriteItems costs what a nearby state store would.

Monitoring (freshness and data-quality metrics per batch) is measured on and off in the same
run, without aggregates: each round invokes a fresh container with ``STREAM_MONITORING=on``
and one with ``off``, interleaved (the order alternating between rounds), on fresh events,
with metrics enabled as deployed (EMF to /dev/null); the best CPU per record of each side is
compared (target: at
most 5% more with monitoring), and the monitor's own CPU per record is timed in isolation.

The handler's log lines go to a file (:data:`HANDLER_LOG`, named at the end) and its EMF
documents to /dev/null, so only the figures reach stdout. Per-phase figures of the
aggregates side: ``bench/aggregate_phases.py``.

Each run is one invocation on fresh events; the best run of each side is compared (the
machine is shared and noisy) and every run is printed, with the handler's CPU per record
(``time.process_time`` of this process, which runs nothing else during an invocation).

Why the handler batches: botocore spends ~2.5-3.5 ms of client CPU per call on the 2-core
dev machine whatever the call's size, so one PutRecord per record tops out at a few hundred
records/s per core whatever the concurrency; BatchWriteRecord pays that once per 25 records
(see docs/operations.md).
"""

import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

EVENTS = int(os.environ.get("BENCH_EVENTS", "500"))
RUNS = int(os.environ.get("BENCH_RUNS", "3"))
BASELINE_EVENTS = 150
LATENCY_MS = 10
TARGET_RATIO = 10.0
TARGET_RATE = 2000.0
TARGET_MONITORING_OVERHEAD = 0.05
GROUP = "bench-orders"
STATS_GROUP = "bench-customer-order-stats"
STATE_TABLE = "bench-aggregate-state"
STATE_LATENCY_MS = 10


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def stop_processes(*procs: subprocess.Popen) -> None:
    """Terminate the bench's own services and wait for each."""
    for proc in procs:
        proc.terminate()
        proc.wait(timeout=30)


def start_state_store() -> tuple[list[subprocess.Popen], str]:
    """moto, and the latency hop in front of it; returns both processes and the hop's URL."""
    port = free_port()
    moto = subprocess.Popen(
        [sys.executable, "-m", "devstack.standins.moto_service", "--port", str(port)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    upstream = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(f"{upstream}/moto-api/config", timeout=1)  # nosec B310
            break
        except OSError:
            if time.monotonic() > deadline or moto.poll() is not None:
                moto.kill()
                raise SystemExit("moto did not start") from None
            time.sleep(0.2)
    hop = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "devstack.standins.dynamodb_faults",
            "--upstream",
            upstream,
            "--latency-ms",
            str(STATE_LATENCY_MS),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    line = hop.stdout.readline().strip() if hop.stdout else ""
    if not line.startswith("dynamodb-faults ready"):
        hop.kill()
        moto.kill()
        raise SystemExit(f"the DynamoDB latency hop did not start: {line!r}")
    return [moto, hop], line.split()[-1]


def start_emulator(state_dir: str) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "devstack.standins.featurestore",
            "--state-dir",
            state_dir,
            "--log-level",
            "WARNING",
            "--flush-interval",
            "5",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    line = proc.stdout.readline().strip()
    if not line.startswith("featurestore ready"):
        proc.kill()
        raise SystemExit(f"emulator did not start: {line!r}")
    url = line.split()[-1]
    faults = {"latency_ms": LATENCY_MS, "operations": ["PutRecord", "BatchWriteRecord"]}
    admin(url, "faults", faults)
    return proc, url


def admin(url: str, action: str, body: object | None = None) -> dict:
    """The emulator's local control API (faults, stats)."""
    data = None if body is None else json.dumps(body).encode()
    method = "GET" if body is None else "POST"
    request = urllib.request.Request(f"{url}/_emulator/{action}", data=data, method=method)
    with urllib.request.urlopen(request) as response:  # nosec B310 - the local emulator
        return json.loads(response.read() or b"{}")


def store_calls(url: str) -> tuple[dict[str, int], float]:
    """Runtime write calls served since the last reset, by operation, and the emulator's CPU
    seconds in them (it shares the machine's cores with the handler)."""
    operations = admin(url, "stats")["operations"]
    writes = [op for op in ("PutRecord", "BatchWriteRecord") if op in operations]
    calls = {op: int(operations[op]["calls"]) for op in writes}
    return calls, sum(float(operations[op]["cpu_seconds"]) for op in writes)


def order_events(count: int, skip: int = 0):
    from itertools import islice

    from producers.sources import SourceRow, read_order_events

    rows = (r for r in read_order_events(ROOT / "raw" / "orders.csv") if isinstance(r, SourceRow))
    return [row.event for row in islice(rows, skip, skip + count)]


def lambda_event(events, first_index: int):
    from devstack.standins.kinesis_event import StreamPosition, kinesis_event

    entries = [(e.customer_id, e.model_dump_json().encode()) for e in events]
    return kinesis_event(
        entries,
        position=StreamPosition("featurestream-order-events"),
        arrival=time.time(),
        first_index=first_index,
    )


def baseline(events) -> float:
    """Records/s writing one record at a time: transform + PutRecord, sequentially."""
    import boto3

    from featurestream.contract.params import load_params
    from featurestream.contract.transforms import features_for, to_record

    client = boto3.client("sagemaker-featurestore-runtime")
    params, now = load_params(), datetime.now(UTC)
    started = time.perf_counter()
    for event in events:
        _, features = features_for(event, params=params, as_of=now)
        client.put_record(FeatureGroupName=GROUP, Record=to_record(features))
    return len(events) / (time.perf_counter() - started)


@dataclass(frozen=True)
class Run:
    """One measured invocation."""

    elapsed: float
    cpu: float
    records: int
    failures: int
    calls: dict[str, int]
    store_cpu: float

    @property
    def rate(self) -> float:
        return self.records / self.elapsed

    @property
    def cpu_ms_per_record(self) -> float:
        return self.cpu * 1000 / self.records


HANDLER_LOG = Path(tempfile.gettempdir()) / "featurestream-bench-handler.log"
"""Where the handler's log lines go during the bench (printed at the end), not stdout: the
bench's events break a scaled-value rule, so monitoring logs a WARNING per invocation."""


@contextlib.contextmanager
def handler_output():
    """The handler's EMF documents to /dev/null and its log lines to :data:`HANDLER_LOG`,
    for the block; the library's logger is pointed back at its stream afterwards."""
    from featurestream.aws.observability import logger

    stream_handler = logger.registered_handler
    with (
        open(os.devnull, "w") as sink,
        HANDLER_LOG.open("a") as log,
        contextlib.redirect_stdout(sink),
    ):
        previous = stream_handler.setStream(log)  # type: ignore[attr-defined]
        try:
            yield
        finally:
            stream_handler.setStream(previous)  # type: ignore[attr-defined]


def invoke(handler, event: dict, url: str) -> Run:
    from tests.fixtures.kinesis_events import lambda_context

    admin(url, "stats/reset", {})
    cpu, started = time.process_time(), time.perf_counter()
    response = handler(event, lambda_context())
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    failures = len(response["batchItemFailures"])
    return Run(elapsed, cpu, len(event["Records"]), failures, *store_calls(url))


def measure(handler, url: str, skip: int, first_index: int) -> list[Run]:
    """A warm-up invocation (container init), then RUNS measured ones on fresh events."""
    from tests.fixtures.kinesis_events import lambda_context

    warmup = lambda_event(order_events(20, skip=skip), first_index)
    runs: list[Run] = []
    with handler_output():
        handler.app.reset()
        handler.lambda_handler(warmup, lambda_context())
        for n in range(RUNS):
            start = skip + 20 + n * EVENTS
            event = lambda_event(order_events(EVENTS, skip=start), first_index + 100 + start)
            runs.append(invoke(handler.lambda_handler, event, url))
    return runs


def monitoring_cpu_us(events) -> float:
    """The monitor's own CPU per record, in isolation (µs): the per-record check on the
    features the handler writes, plus one batch's metrics, repeated to rise above noise."""
    from featurestream.contract.catalog import ORDERS
    from featurestream.contract.params import load_params
    from featurestream.contract.transforms import features_for
    from featurestream.monitoring.stream_metrics import StreamMonitor

    params, now = load_params(), datetime.now(UTC)
    features = [features_for(e, params=params, as_of=now)[1] for e in events]
    times = [e.event_time for e in events]
    arrivals = [time.time()] * len(events)
    monitor = StreamMonitor(ORDERS)
    rounds = 40
    with handler_output():  # its WARNING per batch (the bench events break a rule) too
        cpu = time.process_time()
        for _ in range(rounds):
            violated = [monitor.violated(f) for f in features]
            monitor.measure(times, arrivals, violated, time.time())
        cpu = time.process_time() - cpu
    return cpu / rounds / len(events) * 1e6


def report_monitoring(runs: list[Run], runs_off: list[Run]) -> float:
    """Print the monitoring-off runs and the CPU per record on/off; returns the overhead."""
    best_off = max(runs_off, key=lambda run: run.rate)
    print(f"monitoring off: {best_off.rate:8.1f} records/s  (best of {RUNS} invocations)")
    for n, run in enumerate(runs_off, 1):
        print(
            f"  invocation {n}: {run.rate:7.1f} records/s  {run.elapsed * 1000:4.0f} ms  "
            f"handler CPU {run.cpu_ms_per_record:.3f} ms/record  failures: {run.failures}"
        )
    cpu_on = min(run.cpu_ms_per_record for run in runs)
    cpu_off = min(run.cpu_ms_per_record for run in runs_off)
    overhead = cpu_on / cpu_off - 1
    print(
        f"monitoring CPU per record: on {cpu_on:.3f} ms, off {cpu_off:.3f} ms: "
        f"{overhead:+.1%} (best of {RUNS} each; target <= +{TARGET_MONITORING_OVERHEAD:.0%})"
    )
    isolated = monitoring_cpu_us(order_events(EVENTS))
    print(
        f"monitoring alone (check + metrics, in isolation): {isolated:.1f} µs/record = "
        f"{isolated / (cpu_off * 1000):.1%} of the handler's CPU per record without it"
    )
    return overhead


def measure_monitoring(order_features, url: str, skip: int) -> tuple[list[Run], list[Run]]:
    """RUNS rounds of one invocation with monitoring on and one with it off, each in a fresh
    container (``app.reset()``) warmed by a small invocation, on fresh events."""
    from tests.fixtures.kinesis_events import lambda_context

    runs: list[Run] = []
    runs_off: list[Run] = []
    fresh = skip + 2 * RUNS * EVENTS
    with handler_output():
        for n in range(RUNS):
            order = (("on", runs), ("off", runs_off))
            for monitoring, into in order if n % 2 == 0 else order[::-1]:  # no order bias
                os.environ["STREAM_MONITORING"] = monitoring
                order_features.app.reset()  # a fresh container with this setting
                warmup = lambda_event(order_events(20, skip=fresh), 0)
                fresh += 20
                order_features.lambda_handler(warmup, lambda_context())  # its init
                start = skip + (2 * n + (monitoring == "off")) * EVENTS
                event = lambda_event(order_events(EVENTS, skip=start), 100 + start)
                into.append(invoke(order_features.lambda_handler, event, url))
    return runs, runs_off


def print_runs(label: str, runs: list[Run], concurrency: str) -> Run:
    best = max(runs, key=lambda run: run.rate)
    print(
        f"handler {label} ({EVENTS} order events, PUT_CONCURRENCY={concurrency}): "
        f"{best.rate:8.1f} records/s  (best of {RUNS} invocations)"
    )
    for n, run in enumerate(runs, 1):
        print(
            f"  invocation {n}: {run.rate:7.1f} records/s  {run.elapsed * 1000:4.0f} ms  "
            f"handler CPU {run.cpu_ms_per_record:.3f} ms/record  "
            f"store CPU {run.store_cpu * 1000 / run.records:.3f} ms/record  "
            f"store calls: {', '.join(f'{op} {k}' for op, k in run.calls.items()) or 'none'}  "
            f"failures: {run.failures}"
        )
    return best


def create_groups_and_table():
    """Both bench groups on the emulator and the state table on moto, as the template says."""
    import boto3

    from featurestream.contract.catalog import ORDERS

    boto3.client("sagemaker").create_feature_group(
        FeatureGroupName=GROUP,
        RecordIdentifierFeatureName=ORDERS.record_identifier,
        EventTimeFeatureName=ORDERS.event_time_feature,
        FeatureDefinitions=ORDERS.feature_definitions(),
        OnlineStoreConfig={"EnableOnlineStore": True},
    )
    from devstack.stack.provision import create_table
    from devstack.stack.template import Template
    from featurestream.contract.catalog import CUSTOMER_ORDER_STATS

    boto3.client("sagemaker").create_feature_group(
        FeatureGroupName=STATS_GROUP,
        RecordIdentifierFeatureName=CUSTOMER_ORDER_STATS.record_identifier,
        EventTimeFeatureName=CUSTOMER_ORDER_STATS.event_time_feature,
        FeatureDefinitions=CUSTOMER_ORDER_STATS.feature_definitions(),
        OnlineStoreConfig={"EnableOnlineStore": True},
    )
    template = Template.load(ROOT / "template.yaml")
    table = template.resource("AggregateStateTable")["Properties"]
    create_table(boto3.client("dynamodb"), STATE_TABLE, table)
    return template


def configure(url: str, state_url: str) -> None:
    """The handler's environment (the emulator, moto behind the hop, the template's
    defaults), the bench groups and the state table."""
    os.environ.update(
        {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_REGION": "us-east-1",
            "AWS_ENDPOINT_URL_SAGEMAKER": url,
            "AWS_ENDPOINT_URL_SAGEMAKER_FEATURESTORE_RUNTIME": url,
            "AWS_ENDPOINT_URL_SQS": "http://127.0.0.1:9",  # never called: all events valid
            "AWS_ENDPOINT_URL_DYNAMODB": state_url,
            "FEATURE_GROUP_NAME": GROUP,
            "QUARANTINE_QUEUE_URL": "http://127.0.0.1:9/000000000000/unused",
            "POWERTOOLS_TRACE_DISABLED": "true",
            "POWERTOOLS_METRICS_DISABLED": "false",  # as deployed: EMF to /dev/null
            "POWERTOOLS_LOG_LEVEL": "WARNING",
        }
    )
    template = create_groups_and_table()
    defaults = template.parameter_defaults()
    # an explicit PUT_CONCURRENCY / STORE_BATCH_LINGER_MS (printed) tries another value
    os.environ.setdefault("PUT_CONCURRENCY", str(defaults["PutConcurrency"]))
    os.environ["STORE_BATCH_SIZE"] = str(defaults["StoreBatchSize"])
    os.environ.setdefault("STORE_BATCH_LINGER_MS", str(defaults["StoreBatchLingerMs"]))


def main() -> int:
    from _importtime import measure_import

    HANDLER_LOG.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory() as state:
        proc, url = start_emulator(state)
        state_procs, state_url = start_state_store()
        try:
            configure(url, state_url)
            concurrency = os.environ["PUT_CONCURRENCY"]

            from handlers import order_features

            side = RUNS * EVENTS + 20  # events each side uses, warm-up included
            base_rates = [
                baseline(order_events(BASELINE_EVENTS, skip=2 * side + n * BASELINE_EVENTS))
                for n in range(RUNS)
            ]
            runs = measure(order_features, url, skip=0, first_index=0)
            os.environ["STATS_FEATURE_GROUP_NAME"] = STATS_GROUP
            os.environ["AGGREGATE_STATE_TABLE"] = STATE_TABLE
            with_stats = measure(order_features, url, skip=side, first_index=10 * side)
            del os.environ["STATS_FEATURE_GROUP_NAME"], os.environ["AGGREGATE_STATE_TABLE"]
            monitoring_skip = 2 * side + RUNS * BASELINE_EVENTS
            runs_on, runs_off = measure_monitoring(order_features, url, monitoring_skip)
        finally:
            stop_processes(proc, *state_procs)
    base_rate = max(base_rates)
    print(f"store latency: {LATENCY_MS} ms per PutRecord/BatchWriteRecord (emulator, own process)")
    print(f"state store latency: {STATE_LATENCY_MS} ms per DynamoDB call (moto behind a hop)")
    print(
        f"baseline  (sequential, 1 PutRecord at a time): {base_rate:8.1f} records/s "
        f"(best of {RUNS}: {', '.join(f'{r:.1f}' for r in base_rates)})"
    )
    best = print_runs("without aggregates", runs, concurrency)
    best_stats = print_runs("with aggregates   ", with_stats, concurrency)
    ratio = best.rate / base_rate
    print(
        f"aggregates: {best_stats.rate / best.rate:.2f}x the records/s, "
        f"{best_stats.cpu_ms_per_record / best.cpu_ms_per_record:.2f}x the handler CPU per record"
    )
    print(
        f"(STORE_BATCH_SIZE={os.environ['STORE_BATCH_SIZE']}, "
        f"STORE_BATCH_LINGER_MS={os.environ['STORE_BATCH_LINGER_MS']})"
    )
    print(f"ratio: {ratio:.1f}x (target >= {TARGET_RATIO:.0f}x and >= {TARGET_RATE:.0f} records/s)")
    overhead = report_monitoring(runs_on, runs_off)
    heavy_found = False
    for module in ("handlers.customer_features", "handlers.order_features"):
        cost = measure_import(module, runs=5)
        heavy_found |= bool(cost.heavy_loaded)
        print(
            f"cold-start import {module}: {cost.median_ms:.0f} ms "
            f"({cost.modules_loaded} modules; heavy: {', '.join(cost.heavy_loaded) or 'none'})"
        )
    lines = len(HANDLER_LOG.read_text().splitlines()) if HANDLER_LOG.exists() else 0
    print(f"handler log lines during the bench: {lines} (in {HANDLER_LOG})")
    failures = sum(run.failures for run in runs + with_stats + runs_on + runs_off)
    ok = (
        failures == 0
        and ratio >= TARGET_RATIO
        and best.rate >= TARGET_RATE
        and best_stats.rate >= TARGET_RATE
        and overhead <= TARGET_MONITORING_OVERHEAD
    )
    if heavy_found:
        print("FAILED: heavy import on the handler path")
        return 1
    if not ok:
        print("BELOW TARGET" + (" (failing: --strict)" if "--strict" in sys.argv else ""))
        return 1 if "--strict" in sys.argv else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
