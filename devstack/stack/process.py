"""Background services for the local stack: one process, one port, a pid file, a log file.

A ``BackgroundService`` starts a command detached from the terminal, records its pid and
port under the project-local state folder (``.state/run/``), sends its output to
``.state/logs/<name>.log``, waits for its HTTP health check, and stops it with SIGTERM
(SIGKILL after a timeout). Nothing here knows about any particular emulator, so the
Feature Store emulator, moto and the trigger runner can all be run the same way.

A service keeps its address: the port it ran on stays recorded after it stops or dies, and
the next start takes it again, so every client started against it stays valid. A process
counts as running only if it is alive, not a zombie, and the one that was started (the
kernel may give its pid to another process later).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess  # nosec B404  # starts our own local services
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

STATE_DIR_ENV = "FEATURESTREAM_STATE_DIR"
PROC: Final = Path("/proc")
ENDPOINT_PREFIX: Final = "AWS_ENDPOINT_URL_"
"""Variables pointing a client at a service; a service records those it was started with."""
EPHEMERAL_RANGE: Final = Path("/proc/sys/net/ipv4/ip_local_port_range")
DEFAULT_EPHEMERAL_LOW: Final = 32768
"""Linux's default start of the range (macOS starts at 49152); used where it cannot be read."""
LASTING_PORTS_FROM: Final = 20000
PORT_RELEASE_WAIT: Final = 2.0
"""Seconds a port may stay taken after its process died before it counts as held."""
RUNNING_GRACE: Final = 5.0
"""Seconds a running service gets to answer its health check before ``start`` calls it stuck."""


def project_root(start: Path | None = None) -> Path:
    """The nearest folder at or above ``start`` (default: cwd) holding a pyproject.toml."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "pyproject.toml").is_file():
            return folder
    return here


def state_root() -> Path:
    """The project-local state folder (``.state/``), overridable with FEATURESTREAM_STATE_DIR."""
    override = os.environ.get(STATE_DIR_ENV)
    return Path(override).resolve() if override else project_root() / ".state"


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def lasting_port(host: str = "127.0.0.1") -> int:
    """A free port below the kernel's ephemeral range, for a service to keep across restarts.

    A port from that range (what binding port 0 gives) can be taken at any moment as the
    local end of some program's outgoing connection, and then the service cannot come back
    on it; ports below the range are only ever taken by a program that asks for them.
    Falls back to a kernel-chosen port when the range leaves no room below it.
    """
    try:
        ephemeral_low = int(EPHEMERAL_RANGE.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        ephemeral_low = DEFAULT_EPHEMERAL_LOW
    choices = range(LASTING_PORTS_FROM, ephemeral_low)
    for _ in range(50 if len(choices) > 100 else 0):
        port = choices[secrets.randbelow(len(choices))]
        if not port_in_use(port, host):
            return port
    return free_port(host)


def port_held(port: int, host: str = "127.0.0.1", wait: float = PORT_RELEASE_WAIT) -> bool:
    """True if a program keeps ``port`` for ``wait`` seconds: a process that just died may
    hold its sockets for a moment after it counts as gone."""
    deadline = time.monotonic() + wait
    while port_in_use(port, host):
        if time.monotonic() > deadline:
            return True
        time.sleep(0.1)
    return False


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    """True if a program listens on ``port``. Sockets in TIME-WAIT (left by connections the
    previous server closed) do not count: every server of the stack binds with
    SO_REUSEADDR, so this probe does too."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return True
    return False


class ServiceError(RuntimeError):
    """A service failed to start or stop; the message is meant for the user."""


class StackFailure(ServiceError):
    """A running service died or keeps failing; raised at once to whatever waits on it."""


class PortInUseError(ServiceError):
    """A service's port (configured, or the one it last ran on) is held by another program."""


@dataclass(frozen=True)
class ServiceSpec:
    """What to run. ``argv`` may use ``{port}``, ``{host}`` and ``{state_dir}`` placeholders.

    ``endpoint_env`` lists the environment variables that should point at this service
    (printed by ``featurestream local env``).
    """

    name: str
    argv: tuple[str, ...]
    port: int = 0  # 0: pick a free port at start
    host: str = "127.0.0.1"
    health_path: str = "/"
    endpoint_env: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ServiceStatus:
    name: str
    running: bool
    pid: int | None = None
    url: str | None = None
    healthy: bool = False
    log_file: Path | None = None


def proc_stat(pid: int) -> list[str] | None:
    """The fields of ``/proc/<pid>/stat`` after the command name, starting with the state
    (field 3); None if the process is gone or there is no ``/proc`` (not Linux)."""
    try:
        text = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    return text[text.rindex(")") + 2 :].split()


def start_ticks(pid: int) -> int | None:
    """When the process started (clock ticks after boot; field 22), None where unknown."""
    fields = proc_stat(pid)
    return int(fields[19]) if fields else None


def _alive(pid: int, started: int | None = None) -> bool:
    """Alive and not a zombie, and (when ``started`` is known) the very process started
    then, not a later one the kernel gave the same pid."""
    # Reap our own dead child first, so it is gone from /proc too.
    with contextlib.suppress(ChildProcessError):
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done == pid:
            return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    fields = proc_stat(pid)
    if fields is None:
        return not PROC.is_dir()  # gone meanwhile; without /proc, kill(0) is all we know
    if fields[0] in {"Z", "X"}:  # dead, waiting for a parent that does not reap it
        return False
    return started is None or int(fields[19]) == started


class BackgroundService:
    def __init__(self, spec: ServiceSpec, state_dir: Path | None = None) -> None:
        self.spec = spec
        self.state_dir = state_dir or state_root()
        self.run_dir = self.state_dir / "run"
        self.log_file = self.state_dir / "logs" / f"{spec.name}.log"
        self.info_file = self.run_dir / f"{spec.name}.json"
        self.pid_file = self.run_dir / f"{spec.name}.pid"

    # -- recorded state ----------------------------------------------------------------------

    def _info(self) -> dict[str, Any] | None:
        try:
            info: dict[str, Any] = json.loads(self.info_file.read_text())
        except (OSError, ValueError):
            return None
        return info

    def _record(self, info: dict[str, Any]) -> None:
        """Write the info file whole or not at all (a reader never sees half of it)."""
        self.run_dir.mkdir(parents=True, exist_ok=True)
        partial = self.info_file.with_suffix(".json.tmp")
        partial.write_text(json.dumps(info))
        partial.replace(self.info_file)

    def _retire(self) -> None:
        """Forget the process but keep its address, for the next start and for clients."""
        info = self._info()
        self.pid_file.unlink(missing_ok=True)
        if info is not None and "pid" in info:
            self._record({"port": info["port"], "url": info["url"]})

    def url(self) -> str | None:
        """Where the service runs, or last ran (the address its clients were given)."""
        info = self._info()
        return str(info["url"]) if info else None

    def last_port(self) -> int | None:
        """The port the service runs or last ran on, None if it never started here."""
        info = self._info()
        return int(info["port"]) if info else None

    def started_with(self) -> dict[str, str]:
        """The ``AWS_ENDPOINT_URL_*`` variables the running process was started with."""
        info = self._info() or {}
        return dict(info.get("endpoints", {}))

    def started_at(self) -> float | None:
        """Wall-clock time the running process was started, None if it is not running."""
        info = self._info() or {}
        return float(info["started_at"]) if "started_at" in info else None

    def is_healthy(self, url: str | None = None, timeout: float = 1.0) -> bool:
        base = url or self.url()
        if base is None:
            return False
        try:
            with urllib.request.urlopen(base + self.spec.health_path, timeout=timeout) as resp:  # noqa: S310  # nosec B310  # local http URL we built
                return bool(resp.status < 500)
        except urllib.error.HTTPError as exc:
            return exc.code < 500
        except OSError:
            return False

    def is_running(self) -> bool:
        """The recorded process is alive (no health check: cheap enough to poll)."""
        return self._pid() is not None

    def _pid(self) -> int | None:
        info = self._info() or {}
        pid = int(info["pid"]) if "pid" in info else None
        return pid if pid is not None and _alive(pid, info.get("started")) else None

    def status(self) -> ServiceStatus:
        pid = self._pid()
        info = self._info()
        if pid is None or info is None:
            return ServiceStatus(self.spec.name, False, log_file=self.log_file)
        url = str(info["url"])
        return ServiceStatus(self.spec.name, True, pid, url, self.is_healthy(url), self.log_file)

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self, timeout: float = 20.0) -> ServiceStatus:
        """Start unless already running; wait until the health check answers.

        The port: the spec's, else the one the service last ran on, else a free one that
        lasts (:func:`lasting_port`). A running process that does not answer its health
        check within ``RUNNING_GRACE`` seconds is an error (it is stuck), not "up".
        """
        current = self.status()
        if current.running:
            return self._answering(current)
        self._retire()
        recorded = self.last_port()
        port = self.spec.port or recorded or lasting_port(self.spec.host)
        if port_held(port, self.spec.host):
            where = " (where it last ran; its clients use that address)" if port == recorded else ""
            raise PortInUseError(
                f"port {port} for {self.spec.name}{where} is in use by another program; "
                "stop that program or give the service another port"
            )
        values = {"port": str(port), "host": self.spec.host, "state_dir": str(self.state_dir)}
        argv = [part.format(**values) for part in self.spec.argv]
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        url = f"http://{self.spec.host}:{port}"
        with self.log_file.open("ab") as log:
            process = subprocess.Popen(  # noqa: S603  # nosec B603  # argv is our own spec, no shell
                argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # survives the terminal; no Ctrl-C from the shell
                env={**os.environ, **self.spec.env},
            )
        self.pid_file.write_text(str(process.pid))
        endpoints = {k: v for k, v in self.spec.env.items() if k.startswith(ENDPOINT_PREFIX)}
        self._record(
            {
                "pid": process.pid,
                "started": start_ticks(process.pid),
                "started_at": time.time(),
                "port": port,
                "url": url,
                "argv": argv,
                "endpoints": endpoints,
            }
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                self._retire()
                raise ServiceError(
                    f"{self.spec.name} exited with code {process.returncode} while starting; "
                    f"last log lines:\n{self.log_tail()}"
                )
            if self.is_healthy(url, timeout=0.5):
                return self.status()
            time.sleep(0.1)
        self.stop()
        raise ServiceError(
            f"{self.spec.name} did not answer {url}{self.spec.health_path} within {timeout:.0f} s; "
            f"see {self.log_file}"
        )

    def _answering(self, current: ServiceStatus) -> ServiceStatus:
        """``current`` once its health check answers; ServiceError after ``RUNNING_GRACE``."""
        deadline = time.monotonic() + RUNNING_GRACE
        while not current.healthy:
            if time.monotonic() > deadline:
                raise ServiceError(
                    f"{self.spec.name} (pid {current.pid}) is running but does not answer "
                    f"{current.url}{self.spec.health_path}; see {self.log_file}, or stop it "
                    f"with `kill {current.pid}` and start again"
                )
            time.sleep(0.2)
            current = self.status()
            if not current.running:
                return self.start()
        return current

    def stop(self, timeout: float = 15.0) -> bool:
        """SIGTERM (clean shutdown), then SIGKILL after ``timeout``; False if not running.
        The port stays recorded: the next start takes it again."""
        current = self.status()
        if not current.running or current.pid is None:
            self._retire()
            return False
        pid = current.pid
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        if _alive(pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            while _alive(pid) and time.monotonic() < deadline + 5:
                time.sleep(0.05)
        self._retire()
        return True

    def log_tail(self, lines: int = 20, max_bytes: int = 256 * 1024) -> str:
        """The log's last ``lines`` lines (read from its last ``max_bytes`` only)."""
        try:
            with self.log_file.open("rb") as log:
                log.seek(max(0, log.seek(0, os.SEEK_END) - max_bytes))
                text = log.read().decode(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def last_error(self) -> str | None:
        """The exception line (``Type: message``) that ends the log's newest traceback."""
        return last_exception(self.log_tail(400))


def describe_error(error: BaseException) -> str:
    """``Type: message``, one line: what a user needs to see of a failed call."""
    message = " ".join(str(error).split())
    return f"{type(error).__name__}: {message}" if message else type(error).__name__


def last_exception(log_text: str) -> str | None:
    """The line naming the exception of the last traceback in ``log_text``."""
    lines = log_text.splitlines()
    for start in range(len(lines) - 1, -1, -1):
        if lines[start].startswith("Traceback (most recent call last)"):
            for line in lines[start + 1 :]:
                if line.strip() and not line[0].isspace():
                    return line.strip()
    return None
