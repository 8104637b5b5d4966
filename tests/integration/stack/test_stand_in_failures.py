"""A part of the local stack that dies or keeps failing is an error within seconds, with
the stand-in's own message, for `local status`, for anything that waits on the stack
(``DevStack.watch``) and for the demo; never a wait that runs into its timeout."""

import os
import signal
import sys
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import boto3
import pytest
from click.testing import CliRunner

from devstack.stack.deployment import DevStack
from devstack.stack.process import BackgroundService, StackFailure
from featurestream_cli.main import cli
from tests.e2e.test_pipeline import _subset
from tests.fixtures.stack import point_cli_at, stack_config

REPO = Path(__file__).resolve().parents[3]
DETECTION_BOUND_S = 30.0
"""Far above the expected ~5 s (3 reads of ~1.5 s of retries each), far below a hang."""


class BrokenMotoStack(DevStack):
    def moto(self) -> BackgroundService:
        service = super().moto()
        argv = (sys.executable, "-m", "tests.integration.stack.broken_moto")
        spec = replace(
            service.spec,
            argv=(*argv, "--host", "{host}", "--port", "{port}"),
            env={**service.spec.env, "PYTHONPATH": str(REPO)},
        )
        return BackgroundService(spec, service.state_dir)


@pytest.fixture
def broken_stack(tmp_path: Path) -> Iterator[BrokenMotoStack]:
    stack = BrokenMotoStack(stack_config(tmp_path / "state"))
    try:
        stack.up()  # empty shards read fine, so the stack comes up
        yield stack
    finally:
        stack.down()


def _watch_until_failure(stack: DevStack) -> tuple[StackFailure, float]:
    started = time.monotonic()
    while time.monotonic() - started < 4 * DETECTION_BOUND_S:
        try:
            stack.watch()
        except StackFailure as failure:
            return failure, time.monotonic() - started
        time.sleep(0.1)
    pytest.fail("the broken consumer was never reported")


@pytest.mark.timeout(240)
def test_a_consumer_that_cannot_read_is_reported_with_the_stand_in_s_error(
    broken_stack: BrokenMotoStack, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    env = broken_stack.environment()
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    boto3.client("kinesis").put_record(
        StreamName="featurestream-order-events", Data=b"{}", PartitionKey="C1"
    )
    failure, elapsed = _watch_until_failure(broken_stack)
    message = str(failure)
    assert "cannot read featurestream-order-events" in message
    assert "GetRecords calls in a row failed" in message
    assert "moto's log says: TypeError: broken on purpose" in message
    assert elapsed < DETECTION_BOUND_S

    point_cli_at(broken_stack, monkeypatch)
    status = CliRunner().invoke(cli, ["local", "status"])
    assert status.exit_code == 1
    assert "reads in a row failed" in status.output
    assert "caught up no" in status.output

    # the demo on this stack ends with the same error instead of waiting out its timeout
    customers_csv, orders_csv, _ = _subset(tmp_path, first=40)
    monkeypatch.chdir(REPO)
    started = time.monotonic()
    demo = CliRunner().invoke(
        cli, ["demo", "--customers", str(customers_csv), "--orders", str(orders_csv)]
    )
    assert demo.exit_code == 1, demo.output
    assert "cannot read featurestream-" in demo.output
    assert "TypeError: broken on purpose" in demo.output
    assert time.monotonic() - started < 2 * DETECTION_BOUND_S


@pytest.mark.timeout(240)
def test_a_dead_stand_in_is_reported_at_once(broken_stack: BrokenMotoStack) -> None:
    endpoint = broken_stack.model_endpoint().status()
    assert endpoint.pid is not None
    os.kill(endpoint.pid, signal.SIGKILL)
    failure, elapsed = _watch_until_failure(broken_stack)
    assert str(failure).startswith("model-endpoint is not running any more")
    assert elapsed < 5.0
