"""The worker process: one warm "container" of a function, reused across invocations.

It sets the function's environment, sends stdout/stderr to the handler log, imports the
handler once (clients created at module scope stay warm), then serves invocations from a
pipe. The parent enforces the timeout and treats a dead pipe as a crash, so nothing a
handler does (``os._exit``, an endless loop, a segfault) can take the runner down.
Kept free of boto3 imports so a spawn starts quickly.
"""

from __future__ import annotations

import importlib
import json
import os
import signal
import sys
import traceback
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any


@dataclass(frozen=True)
class WorkerSpec:
    """What a worker needs to run one function (picklable: it crosses the spawn)."""

    function_name: str
    function_arn: str
    handler: str
    code_dir: str
    memory_size: int
    timeout: float
    environment: dict[str, str]
    log_file: str


def _error(error: BaseException) -> dict[str, Any]:
    return {
        "errorType": type(error).__name__,
        "errorMessage": str(error),
        "stackTrace": traceback.format_tb(error.__traceback__),
    }


def _redirect_output(spec: WorkerSpec) -> None:
    from devstack.standins.trigger.logfile import JsonLog, LineWriter

    log = JsonLog(__import__("pathlib").Path(spec.log_file))
    # Raw writes (C extensions, faulthandler) land in the same file, unwrapped.
    os.dup2(log.fd, 1)
    os.dup2(log.fd, 2)
    sys.stdout = LineWriter(log, spec.function_name, "stdout")
    sys.stderr = LineWriter(log, spec.function_name, "stderr")


class _InitError(Exception):
    """The handler could not be loaded; ``error_type`` is Lambda's name for the cause."""

    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(message)
        self.error_type = error_type


def _load_handler(spec: WorkerSpec) -> Any:
    module_name, _, attribute = spec.handler.rpartition(".")
    if spec.code_dir not in sys.path:
        sys.path.insert(0, spec.code_dir)
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        message = f"Unable to import module '{module_name}': {error}"
        raise _InitError("Runtime.ImportModuleError", message) from error
    if not callable(getattr(module, attribute, None)):
        message = f"Handler '{attribute}' missing on module '{module_name}'"
        raise _InitError("Runtime.HandlerNotFound", message)
    return getattr(module, attribute)


def serve(conn: Connection, spec: WorkerSpec) -> None:
    """Process entry point (spawned): init, report ready, then invoke until told to stop."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the runner's to handle
    os.environ.clear()
    os.environ.update(spec.environment)
    _redirect_output(spec)
    try:
        handler = _load_handler(spec)
    except Exception as error:  # an init error is a function error, as in Lambda
        details = _error(error)
        details["errorType"] = getattr(error, "error_type", "Runtime.Unknown")
        print(json.dumps({"level": "ERROR", "message": "init failed", **details}))
        sys.stdout.flush()
        conn.send(("init_error", details))
        return
    from devstack.stack.lambda_context import LocalContext

    conn.send(("ready", None))
    while True:
        try:
            message = conn.recv()
        except EOFError:  # the runner went away
            return
        if message[0] != "invoke":
            return
        _, request_id, event = message
        context = LocalContext(
            function_name=spec.function_name,
            memory_limit_in_mb=spec.memory_size,
            timeout_seconds=int(spec.timeout),
            invoked_function_arn=spec.function_arn,
            aws_request_id=request_id,
        )
        try:
            response = handler(event, context)
            payload = json.dumps(response)
        except Exception as error:  # a function error, reported as Lambda does
            details = _error(error)
            print(json.dumps({"level": "ERROR", "requestId": request_id, **details}))
            reply: tuple[str, Any] = ("error", details)
        else:
            reply = ("result", payload)
        sys.stdout.flush()
        sys.stderr.flush()
        conn.send(reply)
