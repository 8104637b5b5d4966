"""A part of the local stack killed with SIGKILL comes back on its port with `local up`, so
the trigger runner and the API keep working against the URLs they were started with;
`local status` names an endpoint that does not answer; `local down` refuses, with counts,
while moto holds data a stop would lose, and `--discard` stops anyway.

The stack here is this module's own, on ports picked at first start (0), in a temp state
folder: it is killed and stopped on purpose.
"""

import json
import os
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from click.testing import CliRunner, Result

from devstack.stack.deployment import DevStack
from devstack.stack.process import BackgroundService
from featurestream_cli.main import cli
from tests.fixtures.kinesis_events import order_event
from tests.fixtures.stack import stack_config

REPO = Path(__file__).resolve().parents[3]
PORT_VARIABLES = (
    "FEATURESTREAM_MOTO_PORT",
    "FEATURESTREAM_FEATURESTORE_PORT",
    "FEATURESTREAM_MODEL_ENDPOINT_PORT",
    "FEATURESTREAM_TRIGGER_PORT",
    "FEATURESTREAM_API_PORT",
)
ANY_FREE_PORT = dict.fromkeys(
    (
        "moto_port",
        "featurestore_port",
        "model_endpoint_port",
        "athena_port",
        "trigger_port",
        "api_port",
    ),
    0,
)


@pytest.fixture(scope="module")
def crash_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevStack]:
    stack = DevStack(stack_config(tmp_path_factory.mktemp("crash-state"), **ANY_FREE_PORT))
    try:
        stack.up()
        yield stack
    finally:
        stack.down()


@pytest.fixture
def local(crash_stack: DevStack, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Result]:
    """``featurestream local ...`` on this stack, as a shell with no port settings runs it."""
    monkeypatch.setenv("FEATURESTREAM_STATE_DIR", str(crash_stack.state_dir))
    for variable in PORT_VARIABLES:
        monkeypatch.delenv(variable, raising=False)
    for key, value in crash_stack.environment().items():
        monkeypatch.setenv(key, value)
    monkeypatch.chdir(REPO)

    def run(*args: str) -> Result:
        return CliRunner().invoke(cli, ["local", *args])

    return run


def _kill(service: BackgroundService) -> None:
    pid = service.status().pid
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while service.status().running:
        assert time.monotonic() < deadline, f"{service.spec.name} still counts as running"
        time.sleep(0.05)


def _snapshot(stack: DevStack) -> tuple[dict[str, str | None], dict[str, int | None]]:
    services = stack.services()
    return {s.spec.name: s.url() for s in services}, {s.spec.name: s.status().pid for s in services}


def _to_on_failure(stack: DevStack) -> int:
    functions = stack.watch()["functions"].values()
    return sum(int(f["totals"]["records_to_on_failure"]) for f in functions)


def _written_through_the_trigger_runner(stack: DevStack, customer: str, order: int) -> None:
    """Put an order event on the stream; wait until the handler's write is in the store."""
    base = _to_on_failure(stack)
    event = order_event(order, customer, "2021-06-01T09:00:00.000Z")
    boto3.client("kinesis").put_record(
        StreamName="featurestream-order-events", Data=json.dumps(event), PartitionKey=customer
    )
    runtime = boto3.client("sagemaker-featurestore-runtime")
    deadline = time.monotonic() + 60
    while True:
        got = runtime.get_record(
            FeatureGroupName="featurestream-orders", RecordIdentifierValueAsString=customer
        )
        if got.get("Record"):
            break
        assert time.monotonic() < deadline, f"the order of {customer} never reached the store"
        time.sleep(0.2)
    assert _to_on_failure(stack) == base


def _line(output: str, name: str) -> str:
    return next(x for x in output.splitlines() if x.startswith(name + " "))


@pytest.mark.timeout(300)
def test_a_killed_part_comes_back_on_its_port_and_the_trigger_runner_writes_again(
    crash_stack: DevStack, local: Callable[..., Result]
) -> None:
    stack = crash_stack
    urls, pids = _snapshot(stack)

    _kill(stack.featurestore())
    status = local("status")
    assert status.exit_code == 1
    assert f"stopped    (last at {urls['featurestore']})" in _line(status.output, "featurestore")
    unreachable = f"  uses featurestore   {urls['featurestore']}  does not answer"
    assert status.output.count(unreachable) == 2  # the trigger runner and the API

    up = local("up")
    assert up.exit_code == 0, up.output
    now_urls, now_pids = _snapshot(stack)
    assert now_urls == urls
    assert (now_pids["trigger"], now_pids["api"]) == (pids["trigger"], pids["api"])
    assert "restart" not in up.output
    _written_through_the_trigger_runner(stack, "C9001", 9001)

    _kill(stack.moto())  # its streams go with it: the runner's positions in them are void
    up = local("up")
    assert up.exit_code == 0, up.output
    now_urls, now_pids = _snapshot(stack)
    assert now_urls == urls
    assert "restart  trigger        (moto restarted after it" in up.output
    assert now_pids["trigger"] != pids["trigger"]
    assert now_pids["api"] == pids["api"]
    _written_through_the_trigger_runner(stack, "C9002", 9002)

    status = local("status")
    assert status.exit_code == 0, status.output
    assert "does not answer" not in status.output


@pytest.mark.timeout(300)
def test_down_refuses_while_moto_holds_unconsumed_data_and_discard_stops(
    crash_stack: DevStack, local: Callable[..., Result]
) -> None:
    stack = crash_stack
    stack.trigger().stop()
    kinesis: Any = boto3.client("kinesis")
    for n in range(4):
        kinesis.put_record(
            StreamName="featurestream-customer-events", Data=b"{}", PartitionKey=f"C{n}"
        )
    sqs: Any = boto3.client("sqs")
    queue = sqs.get_queue_url(QueueName="featurestream-stream-failures")["QueueUrl"]
    sqs.send_message(QueueUrl=queue, MessageBody="{}")
    _, pids = _snapshot(stack)

    down = local("down")
    assert down.exit_code == 1
    assert "stream featurestream-customer-events: 4 records not yet consumed" in down.output
    assert "queue featurestream-stream-failures: 1 message\n" in down.output
    assert "the trigger runner is not running" in down.output
    assert "featurestream local down --discard" in down.output
    assert "Traceback" not in down.output
    assert _snapshot(stack)[1] == pids  # nothing was stopped

    down = local("down", "--discard")
    assert down.exit_code == 0, down.output
    assert not any(s.status().running for s in stack.services())
