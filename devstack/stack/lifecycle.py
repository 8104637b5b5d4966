"""The start/stop shape every in-process stand-in shares, written once.

The Feature Store emulator, the model endpoint, the local HTTP API and the trigger runner
each run in the test process as well as behind ``python -m``; all of them are used as
``with Service(...) as service:`` and some serve an HTTP server on a thread.
"""

from __future__ import annotations

import signal
import threading
from types import FrameType, TracebackType
from typing import TYPE_CHECKING, Self

if TYPE_CHECKING:
    from devstack.standins.http_service import LoopbackWSGIServer


class Startable:
    """``with`` support for anything with ``start() -> self`` and ``stop()``."""

    def start(self) -> Self:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


class ServedOnThread(Startable):
    """A loopback server (``self._server``, from ``make_loopback_server``) served on a daemon
    thread."""

    _server: LoopbackWSGIServer
    _thread: threading.Thread | None = None
    thread_name: str | None = None

    def start(self) -> Self:
        self._thread = threading.Thread(
            target=self._server.serve_forever, name=self.thread_name, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.stop()
        if self._thread is not None:
            self._thread.join(timeout=5)


def stop_requested() -> threading.Event:
    """An event set by SIGTERM or SIGINT: how a ``python -m devstack.…`` service learns to
    stop (``BackgroundService.stop`` sends SIGTERM). Call it from the main thread."""
    done = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        done.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    return done
