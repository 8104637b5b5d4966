"""A background service keeps its address across stop, crash and restart; a dead, unreaped
or replaced process never counts as running; TIME-WAIT sockets never block a restart.

The service here is Python's own ``http.server``: a real process on loopback that closes
each connection itself (HTTP/1.0), which is what leaves TIME-WAIT sockets on its port.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from click.testing import CliRunner

from devstack.stack.deployment import DevStack, StackConfig
from devstack.stack.process import (
    BackgroundService,
    PortInUseError,
    ServiceError,
    ServiceSpec,
    lasting_port,
    port_held,
    port_in_use,
    proc_stat,
)
from devstack.standins.moto_service import moto_spec
from featurestream_cli.main import cli

TIME_WAIT = "06"  # the state column of /proc/net/tcp


def web_spec(folder: Path, port: int = 0) -> ServiceSpec:
    argv = (sys.executable, "-m", "http.server", "--bind", "{host}", "{port}")
    return ServiceSpec("web", (*argv, "--directory", str(folder)), port)


@pytest.fixture
def web(tmp_path: Path) -> Iterator[BackgroundService]:
    service = BackgroundService(web_spec(tmp_path), tmp_path / "state")
    try:
        yield service
    finally:
        service.stop()


def _time_wait_on(port: int) -> bool:
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as rows:
            for row in list(rows)[1:]:
                local, state = row.split()[1], row.split()[3]
                if int(local.rsplit(":", 1)[1], 16) == port and state == TIME_WAIT:
                    return True
    return False


def _get_until_server_closes(port: int) -> None:
    """One request; the server closes first (HTTP/1.0), so its side goes to TIME-WAIT."""
    with socket.create_connection(("127.0.0.1", port)) as conn:
        conn.sendall(b"GET / HTTP/1.0\r\nHost: x\r\n\r\n")
        while conn.recv(65536):
            pass


@contextmanager
def _listening_on(port: int) -> Iterator[None]:
    """Another program listening on ``port`` (which a process that just died may hold for a
    few milliseconds more)."""
    deadline = time.monotonic() + 2
    with socket.socket() as taken:
        taken.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        while True:
            try:
                taken.bind(("127.0.0.1", port))
                break
            except OSError:
                assert time.monotonic() < deadline, f"port {port} never came free"
                time.sleep(0.01)
        taken.listen()
        yield


def _port(url: str | None) -> int:
    assert url is not None
    return int(url.rsplit(":", 1)[1])


def test_a_service_comes_back_on_the_port_it_last_ran_on(
    web: BackgroundService, tmp_path: Path
) -> None:
    first = web.start()
    # outside the range outgoing connections take their local ports from, so none holds it
    ephemeral_low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    assert _port(first.url) < ephemeral_low
    assert web.stop()
    again = BackgroundService(web.spec, web.state_dir).start()  # as a later CLI run would
    assert again.url == first.url
    assert again.pid != first.pid

    assert again.pid is not None
    os.kill(again.pid, signal.SIGKILL)
    deadline = time.monotonic() + 5
    while web.status().running:
        assert time.monotonic() < deadline, "a killed service still counts as running"
        time.sleep(0.05)
    revived = web.start()
    assert revived.url == first.url
    assert revived.running and revived.healthy


def test_a_restart_on_a_fixed_port_with_time_wait_sockets_is_not_refused(
    tmp_path: Path,
) -> None:
    port = lasting_port()
    service = BackgroundService(web_spec(tmp_path, port), tmp_path / "state")
    try:
        service.start()
        _get_until_server_closes(port)
        service.stop()
        assert _time_wait_on(port), "precondition: the server's side is in TIME-WAIT"
        assert not port_held(port)  # TIME-WAIT lasts a minute: it does not count
        # `local up` checks configured ports before starting anything: not "in use" either
        DevStack(StackConfig(moto_port=port, state_dir=tmp_path / "stack")).check_ports()
        again = service.start()
        assert again.running and again.healthy
        assert again.url == f"http://127.0.0.1:{port}"
    finally:
        service.stop()


def test_a_listening_port_still_counts_as_in_use() -> None:
    with socket.socket() as taken:
        taken.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        assert port_in_use(taken.getsockname()[1])


UNREAPING_PARENT = """
import json, sys
from pathlib import Path
from devstack.stack.process import BackgroundService, ServiceSpec
spec = ServiceSpec(**json.loads(sys.argv[1]))
status = BackgroundService(spec, Path(sys.argv[2])).start()
print(status.pid, flush=True)
sys.stdin.readline()  # never reaps the child until told to exit
"""


def test_a_dead_child_that_its_parent_never_reaped_counts_as_stopped(
    web: BackgroundService,
) -> None:
    spec = {"name": "web", "argv": list(web.spec.argv), "port": 0}
    parent = subprocess.Popen(
        [sys.executable, "-c", UNREAPING_PARENT, json.dumps(spec), str(web.state_dir)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert parent.stdout is not None
        pid = int(parent.stdout.readline())
        url = web.url()
        assert web.status().running
        os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 5
        while (proc_stat(pid) or ["?"])[0] != "Z":
            assert time.monotonic() < deadline, "precondition: the child is a zombie"
            time.sleep(0.05)
        assert not web.status().running
        revived = web.start()  # what `local up` does: start it again, on its port
        assert revived.running and revived.pid != pid
        assert revived.url == url
    finally:
        parent.communicate("exit\n", timeout=10)


def test_a_recorded_pid_now_held_by_another_process_is_neither_running_nor_stopped(
    web: BackgroundService,
) -> None:
    web.start()
    bystander = subprocess.Popen(["sleep", "30"])
    try:
        info = json.loads(web.info_file.read_text())
        assert web.stop()
        # A record from before the pid was reused (e.g. from before a reboot).
        web.info_file.write_text(json.dumps({**info, "pid": bystander.pid}))
        assert not web.status().running
        assert not web.stop()  # never signals a process it did not start
        assert bystander.poll() is None
    finally:
        bystander.kill()
        bystander.wait()


def test_a_port_taken_meanwhile_is_a_clear_error_naming_the_service(
    web: BackgroundService,
) -> None:
    port = _port(web.start().url)
    web.stop()
    with _listening_on(port), pytest.raises(PortInUseError) as error:
        web.start()
    assert str(error.value).startswith(f"port {port} for web (where it last ran;")
    assert not web.status().running


def test_local_up_refuses_a_taken_last_port_naming_the_service_and_option(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FEATURESTREAM_STATE_DIR", str(tmp_path))
    monkeypatch.delenv("FEATURESTREAM_MOTO_PORT", raising=False)
    moto = BackgroundService(moto_spec(), tmp_path)
    port = _port(moto.start().url)
    moto.stop()
    with _listening_on(port):
        result = CliRunner().invoke(cli, ["local", "up"])
    assert result.exit_code == 1
    assert f"port {port} for moto, where it last ran" in result.output
    assert "--moto-port" in result.output
    assert "Traceback" not in result.output
    assert not list(tmp_path.glob("run/*.pid"))


def test_a_running_service_that_does_not_answer_is_not_reported_up(
    web: BackgroundService,
) -> None:
    status = web.start()
    assert status.pid is not None
    os.kill(status.pid, signal.SIGSTOP)
    try:
        started = time.monotonic()
        with pytest.raises(ServiceError, match=r"web \(pid \d+\) is running but does not answer"):
            web.start()
        assert time.monotonic() - started < 15
    finally:
        os.kill(status.pid, signal.SIGCONT)
