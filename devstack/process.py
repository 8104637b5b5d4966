"""Background services for the local stack: one process, one port, a pid file, a log file.

A ``BackgroundService`` starts a command detached from the terminal, records its pid and
port under the project-local state folder (``.state/run/``), sends its output to
``.state/logs/<name>.log``, waits for its HTTP health check, and stops it with SIGTERM
(SIGKILL after a timeout). Nothing here knows about any particular emulator, so the
Feature Store emulator, moto and the trigger runner can all be run the same way.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess  # nosec B404  # starts our own local services
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

STATE_DIR_ENV = "FEATURESTREAM_STATE_DIR"


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


class ServiceError(RuntimeError):
    """A service failed to start or stop; the message is meant for the user."""


class StackFailure(ServiceError):
    """A running service died or keeps failing; raised at once to whatever waits on it."""


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


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child (started by this very process) counts as gone.
    with contextlib.suppress(ChildProcessError):
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done == pid:
            return False
    return True


class BackgroundService:
    def __init__(self, spec: ServiceSpec, state_dir: Path | None = None) -> None:
        self.spec = spec
        self.state_dir = state_dir or state_root()
        self.run_dir = self.state_dir / "run"
        self.log_file = self.state_dir / "logs" / f"{spec.name}.log"
        self.info_file = self.run_dir / f"{spec.name}.json"
        self.pid_file = self.run_dir / f"{spec.name}.pid"

    # -- recorded state ----------------------------------------------------------------------

    def _info(self) -> dict[str, object] | None:
        try:
            info: dict[str, object] = json.loads(self.info_file.read_text())
        except (OSError, ValueError):
            return None
        return info

    def _forget(self) -> None:
        for path in (self.info_file, self.pid_file):
            path.unlink(missing_ok=True)

    def url(self) -> str | None:
        info = self._info()
        return str(info["url"]) if info else None

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

    def status(self) -> ServiceStatus:
        info = self._info()
        pid = int(info["pid"]) if info else None  # type: ignore[call-overload]
        if info is None or pid is None or not _alive(pid):
            return ServiceStatus(self.spec.name, False, log_file=self.log_file)
        url = str(info["url"])
        return ServiceStatus(self.spec.name, True, pid, url, self.is_healthy(url), self.log_file)

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self, timeout: float = 20.0) -> ServiceStatus:
        """Start unless already running; wait until the health check answers."""
        current = self.status()
        if current.running:
            return current
        self._forget()
        port = self.spec.port or free_port(self.spec.host)
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
        self.info_file.write_text(
            json.dumps({"pid": process.pid, "port": port, "url": url, "argv": argv})
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                self._forget()
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

    def stop(self, timeout: float = 15.0) -> bool:
        """SIGTERM (clean shutdown), then SIGKILL after ``timeout``; False if not running."""
        current = self.status()
        if not current.running or current.pid is None:
            self._forget()
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
        self._forget()
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


def last_exception(log_text: str) -> str | None:
    """The line naming the exception of the last traceback in ``log_text``."""
    lines = log_text.splitlines()
    for start in range(len(lines) - 1, -1, -1):
        if lines[start].startswith("Traceback (most recent call last)"):
            for line in lines[start + 1 :]:
                if line.strip() and not line[0].isspace():
                    return line.strip()
    return None
