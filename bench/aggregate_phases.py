"""Where one order-function invocation with aggregates spends its time, phase by phase.

The same setup as ``bench/handler.py`` (the emulator 10 ms away, moto's DynamoDB behind a
hop adding 10 ms per call, each in its own process), the same 500-event invocations; per
phase (orders writes, the state's BatchGetItem reads, its TransactWriteItems, the
customer-order-stats writes): wall time, the handler's CPU (all its threads), calls and
items, the CPU botocore spends in the calls' own threads (serialize, sign, send, parse), and
the CPU the moto and hop processes spent meanwhile (``/proc/<pid>/stat``: they share the
machine's cores with the handler). Phases overlap: the reads run during the orders writes
(their wall time is the orders'), and the customer-order-stats writes start as each
transaction commits, so their wall time includes the transactions'.

    python bench/aggregate_phases.py            # 3 invocations, phases printed for each
    BENCH_RUNS=5 python bench/aggregate_phases.py
    python bench/aggregate_phases.py --client   # botocore's CPU per state call, validation
                                                # on and off (answers canned, no server)
    python bench/aggregate_phases.py --moto     # the moto patch's CPU per transaction, its
                                                # condition cache on and off (in-process)
"""

import contextlib
import os
import sys
import tempfile
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import handler as bench  # noqa: E402  # the bench's own setup, one copy

TICKS = os.sysconf("SC_CLK_TCK")


def process_cpu(pid: int) -> float:
    """CPU seconds (user + system) another process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


@dataclass
class Phase:
    wall: float = 0.0
    cpu: float = 0.0
    calls: int = 0
    items: int = 0
    call_cpu: float = 0.0
    others: dict[str, float] = field(default_factory=dict)


class Phases:
    """Phase timers and call counters, wrapped around the live objects of one container."""

    def __init__(self, others: dict[str, int]) -> None:
        self.others = others
        self.phases: dict[str, Phase] = defaultdict(Phase)
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def phase(self, name: str):
        before = {label: process_cpu(pid) for label, pid in self.others.items()}
        cpu, wall = time.process_time(), time.perf_counter()
        try:
            yield
        finally:
            phase = self.phases[name]
            phase.wall += time.perf_counter() - wall
            phase.cpu += time.process_time() - cpu
            for label, pid in self.others.items():
                spent = process_cpu(pid) - before[label]
                phase.others[label] = phase.others.get(label, 0.0) + spent

    def time_phase(self, owner: Any, method: str, name: str, materialize: bool = False) -> None:
        original = getattr(owner, method)

        def timed(*args: Any, **kwargs: Any) -> Any:
            with self.phase(name):
                result = original(*args, **kwargs)
                return list(result) if materialize else result

        setattr(owner, method, timed)

    def count_calls(self, client: Any, method: str, name: str, items: Any) -> None:
        original = getattr(client, method)

        def counted(**kwargs: Any) -> Any:
            cpu = time.thread_time()
            try:
                return original(**kwargs)
            finally:
                spent = time.thread_time() - cpu
                with self._lock:
                    phase = self.phases[name]
                    phase.calls += 1
                    phase.items += items(kwargs)
                    phase.call_cpu += spent

        setattr(client, method, counted)

    def print(self) -> None:
        for name, phase in self.phases.items():
            others = "  ".join(f"{k} CPU {v * 1000:4.0f} ms" for k, v in phase.others.items())
            print(
                f"    {name:<22} {phase.wall * 1000:5.0f} ms"
                f"  handler CPU {phase.cpu * 1000:4.0f} ms"
                f"  calls {phase.calls:3d}  items {phase.items:4d}"
                f"  CPU in the calls {phase.call_cpu * 1000:4.0f} ms  {others}"
            )


def instrument(order_features: Any, phases: Phases) -> None:
    ingestor = order_features.app.ingestor
    keeper = ingestor._order_stats
    state = keeper.state
    phases.time_phase(ingestor._writer, "write_all", "orders writes")
    phases.time_phase(state, "_read", "state BatchGetItem")
    phases.time_phase(state, "_write_all", "state TransactWrite", materialize=True)
    phases.time_phase(keeper.writer, "write_all", "stats writes")
    phases.count_calls(
        state._client,
        "batch_get_item",
        "state BatchGetItem",
        lambda kw: sum(len(t["Keys"]) for t in kw["RequestItems"].values()),
    )
    phases.count_calls(
        state._client,
        "transact_write_items",
        "state TransactWrite",
        lambda kw: len(kw["TransactItems"]),
    )


def client_cpu(rounds: int = 200) -> None:
    """botocore's CPU per TransactWriteItems of 99 items (the state's shape) and per
    BatchGetItem of 100 keys, with parameter validation on and off, interleaved; every
    call is answered by a canned ``200 {}`` before it is sent, so only the client counts."""
    from datetime import UTC, datetime
    from decimal import Decimal

    from botocore.awsrequest import AWSResponse

    from featurestream.aws.clients import client_config, create_client
    from featurestream.contract.aggregates import OrderStats
    from featurestream.ingest.aggregate_state import Aggregate, order_key, state_item

    class Canned:
        def stream(self, **_: Any) -> Any:
            yield b"{}"

    def answer(request: Any, **_: Any) -> AWSResponse:
        return AWSResponse(request.url, 200, {"x-amz-crc32": "2745614147"}, Canned())

    now = datetime(2024, 1, 1, tzinfo=UTC)
    stats = OrderStats("C1", 3, Decimal("12.25"), 1, now, now)
    put = {"TableName": "t", "Item": state_item(Aggregate(stats, 1, 3))}
    put |= {"ConditionExpression": "version = :read"}
    put |= {"ExpressionAttributeValues": {":read": {"N": "2"}}}
    orders = [
        {
            "Put": {
                "TableName": "t",
                "Item": {"pk": {"S": order_key(f"O{n}")}, "expires_at": {"N": "1"}},
                "ConditionExpression": "attribute_not_exists(pk)",
            }
        }
        for n in range(98)
    ]
    transaction = [{"Put": put}, *orders]
    keys = {"t": {"Keys": [{"pk": {"S": order_key(f"O{n}")}} for n in range(100)]}}
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    clients = {}
    for validate in (False, True):
        client = create_client("dynamodb", client_config(max_attempts=1, validate=validate))
        client.meta.events.register("before-send.dynamodb", answer)
        clients[validate] = client
    spent: dict[tuple[str, bool], float] = defaultdict(float)
    for n in range(rounds):
        for validate in (False, True) if n % 2 == 0 else (True, False):
            client = clients[validate]
            cpu = time.process_time()
            client.transact_write_items(TransactItems=transaction)
            spent["TransactWriteItems (99 items)", validate] += time.process_time() - cpu
            cpu = time.process_time()
            client.batch_get_item(RequestItems=keys)
            spent["BatchGetItem (100 keys)", validate] += time.process_time() - cpu
    for call in ("TransactWriteItems (99 items)", "BatchGetItem (100 keys)"):
        off, on = spent[call, False] / rounds * 1000, spent[call, True] / rounds * 1000
        print(
            f"{call}: botocore CPU {off:.2f} ms per call without validation, {on:.2f} ms "
            f"with it ({on / off:.2f}x; {rounds} calls each, interleaved)"
        )


def moto_patch_cpu(rounds: int = 60) -> None:
    """CPU of the patched TransactWriteItems backend call (what runs under the patch's
    lock) on 99 items of the state's shape, with the condition cache and without it (each
    condition parsed per item), interleaved, in this process."""
    import boto3
    from moto import mock_aws
    from moto.dynamodb.comparisons import get_filter_expression
    from moto.dynamodb.models import DynamoDBBackend, dynamodb_backends

    from devstack.standins import moto_service

    for name, value in (("AWS_DEFAULT_REGION", "us-east-1"), ("AWS_ACCESS_KEY_ID", "testing")):
        os.environ.setdefault(name, value)
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    parsers = {True: moto_service._parsed_condition, False: get_filter_expression}
    spent = {True: 0.0, False: 0.0}
    with mock_aws(), moto_service.patched_moto():
        boto3.client("dynamodb").create_table(
            TableName="t",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        backend = dynamodb_backends["123456789012"]["us-east-1"]
        try:
            for n in range(rounds):
                for cached in (True, False) if n % 2 == 0 else (False, True):
                    moto_service._parsed_condition = parsers[cached]  # type: ignore[assignment]
                    items = [
                        {
                            "Put": {
                                "TableName": "t",
                                "Item": {"pk": {"S": f"order#{n}-{cached}-{k}"}},
                                "ConditionExpression": "attribute_not_exists(pk)",
                            }
                        }
                        for k in range(99)
                    ]
                    cpu = time.process_time()
                    DynamoDBBackend.transact_write_items(backend, items)
                    spent[cached] += time.process_time() - cpu
        finally:
            moto_service._parsed_condition = parsers[True]  # type: ignore[assignment]
    on, off = spent[True] / rounds * 1000, spent[False] / rounds * 1000
    print(
        f"moto patch, TransactWriteItems of 99 items: {on:.1f} ms CPU with the condition "
        f"cache, {off:.1f} ms without ({off / on:.2f}x; {rounds} calls each, interleaved)"
    )


def main() -> int:
    from tests.fixtures.kinesis_events import lambda_context

    if "--client" in sys.argv:
        client_cpu()
        return 0
    if "--moto" in sys.argv:
        moto_patch_cpu()
        return 0

    with tempfile.TemporaryDirectory() as folder:
        emulator, url = bench.start_emulator(folder)
        state_procs, state_url = bench.start_state_store()
        try:
            bench.configure(url, state_url)
            os.environ["STATS_FEATURE_GROUP_NAME"] = bench.STATS_GROUP
            os.environ["AGGREGATE_STATE_TABLE"] = bench.STATE_TABLE
            from handlers import order_features

            others = {
                "moto": state_procs[0].pid,
                "hop": state_procs[1].pid,
                "emulator": emulator.pid,
            }
            with bench.handler_output():
                order_features.app.reset()
                warmup = bench.lambda_event(bench.order_events(20), 0)
                order_features.lambda_handler(warmup, lambda_context())
            for n in range(bench.RUNS):
                phases = Phases(others)
                instrument(order_features, phases)
                start = 20 + n * bench.EVENTS
                event = bench.lambda_event(
                    bench.order_events(bench.EVENTS, skip=start), 100 + start
                )
                with bench.handler_output(), phases.phase("invocation"):
                    response = order_features.lambda_handler(event, lambda_context())
                failures = len(response["batchItemFailures"])
                whole = phases.phases.pop("invocation")
                print(
                    f"invocation {n + 1}: {bench.EVENTS / whole.wall:6.0f} records/s  "
                    f"{whole.wall * 1000:4.0f} ms  handler CPU {whole.cpu * 1000:4.0f} ms  "
                    f"failures {failures}  "
                    + "  ".join(f"{k} CPU {v * 1000:4.0f} ms" for k, v in whole.others.items())
                )
                phases.print()
                order_features.app.reset()  # a fresh container: the wrappers go with it
                with bench.handler_output():
                    order_features.lambda_handler(
                        bench.lambda_event(bench.order_events(20, skip=9000 + 20 * n), 0),
                        lambda_context(),
                    )
        finally:
            bench.stop_processes(emulator, *state_procs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
