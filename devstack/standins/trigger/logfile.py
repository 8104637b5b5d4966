"""The handler log: one JSON object per line, shared by every worker process and the runner.

Handlers log JSON already (Powertools); anything else they print (``print``, tracebacks) is
wrapped into a JSON line so ``featurestream local logs`` can parse the whole file. Lines are
appended with one ``write`` on an ``O_APPEND`` descriptor, so concurrent processes never
interleave within a line. Runner lines carry positions and counts only, never record data.
"""

from __future__ import annotations

import io
import json
import os
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from devstack.stack.process import state_root

HANDLER_LOG_NAME: Final = "handlers.log"


def default_log_file() -> Path:
    """``.state/logs/handlers.log`` (the state folder honours FEATURESTREAM_STATE_DIR)."""
    return state_root() / "logs" / HANDLER_LOG_NAME


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class JsonLog:
    """Appends JSON lines to the handler log file."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    def write_line(self, line: str) -> None:
        os.write(self.fd, (line.rstrip("\n") + "\n").encode("utf-8", "replace"))

    def platform(self, event_type: str, function: str, **record: Any) -> None:
        """A Lambda-style platform event (``platform.report``, ``platform.initError`` ...)."""
        self.write_line(
            json.dumps(
                {"time": _now(), "type": f"platform.{event_type}", "function": function, **record}
            )
        )

    def close(self) -> None:
        os.close(self.fd)


class LineWriter(io.TextIOBase):
    """A text stream for a worker's stdout/stderr: whole lines to the log, JSON kept as is."""

    def __init__(self, log: JsonLog, function: str, stream: str) -> None:
        self.log = log
        self.function = function
        self.stream = stream
        self._partial = ""

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        lines = (self._partial + text).split("\n")
        self._partial = lines.pop()
        for line in lines:
            self._emit(line)
        return len(text)

    def flush(self) -> None:
        if self._partial:
            self._emit(self._partial)
            self._partial = ""

    def _emit(self, line: str) -> None:
        stripped = line.strip()
        if not stripped:
            return
        if stripped.startswith("{") and stripped.endswith("}"):
            self.log.write_line(stripped)
            return
        self.log.write_line(
            json.dumps(
                {
                    "time": _now(),
                    "level": "ERROR" if self.stream == "stderr" else "INFO",
                    "function": self.function,
                    "stream": self.stream,
                    "message": line,
                    "timestamp_ms": int(time.time() * 1000),
                }
            )
        )
