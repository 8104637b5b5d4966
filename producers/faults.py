"""Test-side fault hook for producers: a Kinesis client that fails a share of PutRecords
entries inside a 200 answer, the way Kinesis does under throttling.

moto never answers a partial failure, so the publisher's resend path (resend only the failed
entries, keep each partition key's order) would go unexercised locally without this. Wrap
the real client and hand it to ``EventPublisher(client=...)``; nothing wraps it by default.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Mapping
from typing import Any

from producers.publisher import KinesisClient

INJECTED_CODE = "ProvisionedThroughputExceededException"


class PartialFailureKinesis:
    """Forwards ``put_records`` minus a random ``share`` of its entries, which come back as
    failed (``ErrorCode`` set, never sent), exactly where they were in the request."""

    def __init__(self, inner: KinesisClient, share: float, seed: int | None = None) -> None:
        if not 0.0 <= share < 1.0:
            raise ValueError("share must be in [0, 1): a share of 1 would never deliver")
        self._inner = inner
        self.share = share
        self._rng = random.Random(seed)  # noqa: S311  # nosec B311  # fault sampling, not crypto
        self._lock = threading.Lock()
        self.injected = 0
        """Entries failed on purpose so far."""

    def put_records(self, **kwargs: Any) -> Mapping[str, Any]:
        records = list(kwargs["Records"])
        with self._lock:
            failing = [self._rng.random() < self.share for _ in records]
            self.injected += sum(failing)
        sent = [record for record, fail in zip(records, failing, strict=True) if not fail]
        answered: list[Mapping[str, Any]] = []
        failed_by_inner = 0
        if sent:
            response = self._inner.put_records(**{**kwargs, "Records": sent})
            answered = list(response.get("Records", []))
            failed_by_inner = int(response.get("FailedRecordCount", 0))
        merged: list[Mapping[str, Any]] = []
        results = iter(answered)
        for fail in failing:
            if fail:
                merged.append({"ErrorCode": INJECTED_CODE, "ErrorMessage": "Injected fault"})
            else:
                merged.append(next(results))
        return {"FailedRecordCount": failed_by_inner + sum(failing), "Records": merged}
