"""The stream monitors' own CPU per record, per group, in isolation: the customer-order-stats
monitor (one check per aggregate, one batch's freshness and violation metrics) against the
orders monitor measured the same way in the same run (the baseline).

500 orders (the first of raw/orders.csv), each as its own aggregate (a customer's first
order), so both sides check 500 records and publish freshness for 500 orders; metrics are
enabled as deployed, with the EMF output and the violation warning discarded. Prints the
best of 5 repeats per side, twice, and the ratio.

    python bench/monitor.py
"""

import contextlib
import io
import logging
import time
import timeit
from datetime import UTC, datetime
from itertools import islice
from pathlib import Path
from typing import Any

from featurestream.contract.aggregates import OrderStats, contribution_of, stats_features
from featurestream.contract.catalog import CUSTOMER_ORDER_STATS, ORDERS, FeatureGroupSpec
from featurestream.contract.params import load_params
from featurestream.contract.transforms import features_for
from featurestream.monitoring.stream_metrics import StreamMonitor
from producers.sources import RowError, read_order_events

ROOT = Path(__file__).resolve().parents[1]
EVENTS = 500
BATCHES = 20


def us_per_record(group: FeatureGroupSpec, records: list[dict[str, Any]], times, arrivals) -> float:
    """Best of 5: µs per record of checking ``records`` and publishing one batch's metrics."""
    monitor = StreamMonitor(group)

    def batch() -> None:
        violated = [monitor.violated(features) for features in records]
        monitor.measure(times, arrivals, violated, time.time())

    with contextlib.redirect_stdout(io.StringIO()):
        best = min(timeit.repeat(batch, number=BATCHES, repeat=5))
    return best / BATCHES / len(records) * 1e6


def main() -> None:
    logging.disable(logging.WARNING)  # the per-batch violation warning is not what is timed
    params, now = load_params(), datetime.now(UTC)
    rows = islice(read_order_events(ROOT / "raw" / "orders.csv"), EVENTS)
    events = [row.event for row in rows if not isinstance(row, RowError)]
    orders = [features_for(e, params=params, as_of=now)[1] for e in events]
    aggregates = [
        stats_features(OrderStats.of(contribution_of(e)), event_time=now, params=params)
        for e in events
    ]
    times = [e.event_time for e in events]
    arrivals: list[float | None] = [time.time()] * len(events)
    for _ in range(2):
        base = us_per_record(ORDERS, orders, times, arrivals)
        stats = us_per_record(CUSTOMER_ORDER_STATS, aggregates, times, arrivals)
        print(
            f"orders monitor {base:.2f} µs/record (baseline), customer-order-stats monitor "
            f"{stats:.2f} µs/record: {stats / base:.2f}x"
        )


if __name__ == "__main__":
    main()
