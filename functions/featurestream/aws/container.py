"""State a Lambda builds once per execution environment (container): clients, pools, params.

Built on first use rather than at import, so importing a handler needs no environment
(tests, ``featurestream invoke``); ``reset()`` drops it so a test can point a handler
elsewhere. Once it is built, the heap (modules, botocore models, clients) is frozen out of
the cyclic garbage collector's sight: it lives as long as the container, and otherwise
every full collection walks it again, in the middle of an invocation or a request
(docs/operations.md has the cost). Per-invocation garbage is still collected.
"""

import gc
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class PerContainer(Generic[T]):
    """A value built once, on first ``get()``, by any thread; ``close`` runs on ``reset()``."""

    def __init__(self, build: Callable[[], T], close: Callable[[T], None] | None = None) -> None:
        self._build = build
        self._close = close
        self._value: T | None = None
        self._lock = threading.Lock()

    def get(self) -> T:
        value = self._value
        if value is None:
            with self._lock:
                value = self._value
                if value is None:
                    value = self._value = self._build()
                    gc.freeze()
        return value

    def reset(self) -> None:
        with self._lock:
            value, self._value = self._value, None
        if value is not None and self._close is not None:
            self._close(value)
