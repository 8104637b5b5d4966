"""``featurestream local up/down/status/env/logs``: configured ports, idempotent up, a clear
error for a port in use or a stack that is not running, and a clean stop."""

import socket
from pathlib import Path

import pytest
from click.testing import CliRunner

from devstack.stack.deployment import DevStack
from devstack.stack.process import free_port
from featurestream_cli.main import cli
from tests.fixtures.stack import PORT_ENV, stack_config, stack_ports


@pytest.fixture
def on_stack(local_stack: DevStack, monkeypatch: pytest.MonkeyPatch) -> DevStack:
    """The CLI pointed at the session stack's state folder and ports."""
    monkeypatch.setenv("FEATURESTREAM_STATE_DIR", str(local_stack.state_dir))
    for name, port in stack_ports(local_stack).items():
        monkeypatch.setenv(PORT_ENV[name], str(port))
    monkeypatch.chdir(Path(__file__).resolve().parents[3])
    return local_stack


def test_status_shows_every_service_healthy_on_its_configured_port(on_stack: DevStack) -> None:
    result = CliRunner().invoke(cli, ["local", "status"])
    assert result.exit_code == 0, result.output
    for name, port in stack_ports(on_stack).items():
        line = next(x for x in result.output.splitlines() if x.startswith(name + " "))
        assert "healthy" in line
        assert f"127.0.0.1:{port}" in line
    assert "OrderFeaturesFunction" in result.output
    # freshness from the handlers' EMF log: the stack is shared with earlier tests, so it
    # either has no figures yet or one line of percentiles per group written so far
    assert "  freshness (s; event = business time to readable online" in result.output
    section = result.output.split("  freshness (s; event = business time to readable online")[1]
    figures = [line for line in section.splitlines()[1:] if line.strip()]
    assert figures, result.output
    assert all(
        "freshness: no " in line or ("PipelineFreshness p50" in line and "p99" in line)
        for line in figures
    ), result.output


def test_env_prints_the_endpoint_variables(on_stack: DevStack) -> None:
    result = CliRunner().invoke(cli, ["local", "env"])
    assert result.exit_code == 0, result.output
    ports = stack_ports(on_stack)
    exports = dict(
        line.removeprefix("export ").split("=", 1) for line in result.output.splitlines()
    )
    for service in ("KINESIS", "SQS", "S3", "DYNAMODB", "CLOUDWATCH"):
        assert exports[f"AWS_ENDPOINT_URL_{service}"] == f"http://127.0.0.1:{ports['moto']}"
    store = f"http://127.0.0.1:{ports['featurestore']}"
    assert exports["AWS_ENDPOINT_URL_SAGEMAKER"] == store
    assert exports["AWS_ENDPOINT_URL_SAGEMAKER_FEATURESTORE_RUNTIME"] == store
    model = f"http://127.0.0.1:{ports['model-endpoint']}"
    assert exports["AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME"] == model
    assert exports["AWS_ACCESS_KEY_ID"] == "testing"


def test_up_again_on_a_running_stack_restarts_and_creates_nothing(on_stack: DevStack) -> None:
    pids = {s.spec.name: s.status().pid for s in on_stack.services()}
    result = CliRunner().invoke(cli, ["local", "up"])
    assert result.exit_code == 0, result.output
    assert {s.spec.name: s.status().pid for s in on_stack.services()} == pids
    assert "\ncreated " not in result.output
    assert "exists   AWS::Kinesis::Stream" in result.output
    assert "run by the trigger runner" in result.output


def test_logs_show_the_handler_log(on_stack: DevStack) -> None:
    on_stack.handler_log.parent.mkdir(parents=True, exist_ok=True)
    with on_stack.handler_log.open("a") as log:
        log.write('{"time": "t", "level": "INFO", "function": "f", "message": "hello-logs"}\n')
    result = CliRunner().invoke(cli, ["local", "logs", "-n", "5"])
    assert result.exit_code == 0, result.output
    assert "hello-logs" in result.output


def test_a_port_in_use_is_a_clear_error_and_starts_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FEATURESTREAM_STATE_DIR", str(tmp_path))
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = CliRunner().invoke(cli, ["local", "up", "--moto-port", str(port)])
    assert result.exit_code == 1
    assert f"port {port} for moto is already in use" in result.output
    assert "Traceback" not in result.output
    assert not list((tmp_path / "run").glob("*.pid")) if (tmp_path / "run").exists() else True


def test_env_on_a_stopped_stack_says_how_to_start_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FEATURESTREAM_STATE_DIR", str(tmp_path))
    result = CliRunner().invoke(cli, ["local", "env"])
    assert result.exit_code == 1
    assert "featurestream local up" in result.output
    status = CliRunner().invoke(cli, ["local", "status"])
    assert status.exit_code == 1
    assert "stopped" in status.output


def test_down_stops_what_runs_and_reports_the_rest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FEATURESTREAM_STATE_DIR", str(tmp_path))
    stack = DevStack(stack_config(tmp_path, moto_port=free_port()))
    moto = stack.moto().start()
    assert moto.running
    result = CliRunner().invoke(cli, ["local", "down"])
    assert result.exit_code == 0, result.output
    lines = dict(line.split(None, 1) for line in result.output.splitlines())
    assert lines["moto"] == "stopped"
    assert lines["trigger"] == "not running"
    assert not stack.moto().status().running
