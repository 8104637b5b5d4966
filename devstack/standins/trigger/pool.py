"""Worker processes of one function: started lazily, kept warm, replaced when they die.

Like Lambda's execution environments: a function gets up to ``size`` concurrent workers
(one per concurrent batch); init time is not billed to the invocation's timeout; a timeout
or crash kills the worker (the next invocation is a cold start) and comes back as a
function error.
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing
import threading
import time
import uuid
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any, Final

from devstack.standins.trigger.logfile import JsonLog
from devstack.standins.trigger.worker import WorkerSpec, serve

INIT_TIMEOUT: Final = 30.0
"""Seconds a cold start may take (imports, clients); Lambda allows 10 s, imports here are slower."""

# Never fork the threaded runner itself: workers fork from a single-threaded fork server
# that has the worker module and boto3 imported already, so a cold start costs the
# handler's own imports only (a spawn would re-import everything each time).
_SPAWN = multiprocessing.get_context("forkserver")
_SPAWN.set_forkserver_preload(
    ["devstack.standins.trigger.worker", "devstack.stack.lambda_runtime", "boto3"]
)


@dataclass(frozen=True)
class InvokeResult:
    """The outcome of one invocation: a response, or a function error (type + message)."""

    request_id: str
    response: Any = None
    error_type: str | None = None
    error_message: str | None = None
    duration_ms: float = 0.0

    @property
    def ok(self) -> bool:
        return self.error_type is None


class Worker:
    """One worker process and its pipe (parent side)."""

    def __init__(self, spec: WorkerSpec) -> None:
        parent, child = _SPAWN.Pipe()
        self.conn: Connection = parent
        self.process: BaseProcess = _SPAWN.Process(
            target=serve, args=(child, spec), name=f"worker-{spec.function_name}", daemon=True
        )
        self.process.start()
        child.close()

    def wait_ready(self, timeout: float) -> dict[str, Any] | None:
        """None when ready, else the init error (the worker is gone then)."""
        if not self.conn.poll(timeout):
            self.kill()
            return {"errorType": "Runtime.InitTimeout", "errorMessage": "init timed out"}
        try:
            kind, details = self.conn.recv()
        except (EOFError, OSError):
            return self._exit_error("init")
        if kind == "ready":
            return None
        self.kill()
        return dict(details)

    def invoke(self, request_id: str, event: dict[str, Any], timeout: float) -> InvokeResult:
        start = time.monotonic()
        try:
            self.conn.send(("invoke", request_id, event))
            if not self.conn.poll(timeout):
                self.kill()
                return InvokeResult(
                    request_id,
                    error_type="Sandbox.Timedout",
                    error_message=f"RequestId: {request_id} Error: Task timed out after "
                    f"{timeout:.2f} seconds",
                    duration_ms=(time.monotonic() - start) * 1000,
                )
            kind, payload = self.conn.recv()
        except (EOFError, OSError, BrokenPipeError):
            details = self._exit_error(request_id)
            return InvokeResult(
                request_id,
                error_type=details["errorType"],
                error_message=details["errorMessage"],
                duration_ms=(time.monotonic() - start) * 1000,
            )
        duration = (time.monotonic() - start) * 1000
        if kind == "result":
            return InvokeResult(request_id, response=json.loads(payload), duration_ms=duration)
        return InvokeResult(
            request_id,
            error_type=str(payload.get("errorType")),
            error_message=str(payload.get("errorMessage")),
            duration_ms=duration,
        )

    def _exit_error(self, request_id: str) -> dict[str, Any]:
        self.process.join(timeout=2)
        self.kill()
        code = self.process.exitcode
        status = f"signal {-code}" if code is not None and code < 0 else f"exit status {code}"
        return {
            "errorType": "Runtime.ExitError",
            "errorMessage": f"RequestId: {request_id} Error: Runtime exited with error: {status}",
        }

    @property
    def alive(self) -> bool:
        return self.process.is_alive()

    def kill(self) -> None:
        if self.process.is_alive():
            self.process.kill()
        self.process.join(timeout=5)
        with contextlib.suppress(OSError):
            self.conn.close()

    def stop(self, timeout: float = 5.0) -> None:
        """Ask the worker to exit after its current invocation; kill it if it does not."""
        with contextlib.suppress(OSError, BrokenPipeError):
            self.conn.send(("stop",))
        self.process.join(timeout)
        self.kill()


class WorkerPool:
    """Up to ``size`` warm workers of one function, lent out one invocation at a time."""

    def __init__(self, spec: WorkerSpec, size: int, log: JsonLog) -> None:
        self.spec = spec
        self.size = max(1, size)
        self.log = log
        self._idle: list[Worker] = []
        self._count = 0
        self._cond = threading.Condition()
        self._closed = False

    def _acquire(self) -> Worker | None:
        """An idle worker, or None when the caller should start one (a slot is reserved)."""
        with self._cond:
            while not self._idle and self._count >= self.size:
                self._cond.wait()
            if self._idle:
                return self._idle.pop()
            self._count += 1
            return None

    def _release(self, worker: Worker | None) -> None:
        with self._cond:
            if worker is not None and worker.alive and not self._closed:
                self._idle.append(worker)
            else:
                self._count -= 1
                if worker is not None:
                    worker.kill()
            self._cond.notify()

    def prewarm(self) -> None:
        """Start one worker now (in the background), so the first batch is not a cold start."""

        def warm() -> None:
            existing = self._acquire()
            if existing is not None:  # already warm
                self._release(existing)
                return
            worker: Worker | None = None
            try:
                worker = Worker(self.spec)
                if worker.wait_ready(INIT_TIMEOUT) is not None:
                    worker = None
            finally:
                self._release(worker)

        threading.Thread(
            target=warm, name=f"prewarm {self.spec.function_name}", daemon=True
        ).start()

    def invoke(self, event: dict[str, Any]) -> InvokeResult:
        """Invoke on a warm worker (or a new one); errors of any kind come back as results."""
        request_id = str(uuid.uuid4())
        worker = self._acquire()
        try:
            if worker is None:
                worker = Worker(self.spec)
                init_error = worker.wait_ready(INIT_TIMEOUT)
                if init_error is not None:
                    self.log.platform(
                        "initError",
                        self.spec.function_name,
                        requestId=request_id,
                        errorType=init_error.get("errorType"),
                    )
                    worker = None
                    return InvokeResult(
                        request_id,
                        error_type=str(init_error.get("errorType")),
                        error_message=str(init_error.get("errorMessage")),
                    )
            result = worker.invoke(request_id, event, self.spec.timeout)
            self.log.platform(
                "report",
                self.spec.function_name,
                requestId=request_id,
                status="success" if result.ok else "error",
                errorType=result.error_type,
                durationMs=round(result.duration_ms, 1),
                records=len(event.get("Records", [])),
            )
            if result.error_type in ("Sandbox.Timedout", "Runtime.ExitError"):
                self.log.platform(
                    "runtimeDone",
                    self.spec.function_name,
                    requestId=request_id,
                    errorMessage=result.error_message,
                )
            return result
        finally:
            self._release(worker)

    def close(self) -> None:
        with self._cond:
            self._closed = True
            workers, self._idle = self._idle, []
        for worker in workers:
            worker.stop()
