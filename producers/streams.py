"""Which stream each event type goes to, resolved from options, then env, then defaults."""

import os
from dataclasses import dataclass
from typing import Final

from producers.encoding import StreamKind

DEFAULT_CUSTOMER_STREAM: Final = "featurestream-customer-events"
DEFAULT_ORDER_STREAM: Final = "featurestream-order-events"
CUSTOMER_STREAM_ENV: Final = "FEATURESTREAM_CUSTOMER_STREAM"
ORDER_STREAM_ENV: Final = "FEATURESTREAM_ORDER_STREAM"


@dataclass(frozen=True)
class StreamNames:
    """The two streams; customer events go to ``customer``, order events to ``order``."""

    customer: str = DEFAULT_CUSTOMER_STREAM
    order: str = DEFAULT_ORDER_STREAM

    @classmethod
    def from_env(cls, customer: str | None = None, order: str | None = None) -> "StreamNames":
        """Explicit names win, then ``FEATURESTREAM_*_STREAM``, then the defaults."""
        return cls(
            customer=customer or os.environ.get(CUSTOMER_STREAM_ENV) or DEFAULT_CUSTOMER_STREAM,
            order=order or os.environ.get(ORDER_STREAM_ENV) or DEFAULT_ORDER_STREAM,
        )

    def for_kind(self, kind: StreamKind) -> str:
        return self.customer if kind == "customer" else self.order
