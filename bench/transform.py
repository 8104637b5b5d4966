"""Per-event transform cost: the library's streaming path against pandas per row.

Streaming path: Kinesis payload bytes → validated event → features → PutRecord Record, as
the stream Lambdas do it. Baseline, measured in the same run: the tutorial's pandas +
scikit-learn code applied to a one-row DataFrame per event, which is what a Lambda that
reused the notebook would do. Prints µs/event (median of runs) and the ratio, then the
cold-start import time of the Lambda import path.
"""

import statistics
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
from _importtime import measure_import  # bench/ is the script's folder, so on sys.path

from featurestream.contract.events import parse_event
from featurestream.contract.params import load_params
from featurestream.contract.transforms import features_for, to_record
from training.history import read_orders

ROOT = Path(__file__).resolve().parents[1]
STREAM_EVENTS = 20_000
PANDAS_EVENTS = 500
RUNS = 5


def median_us_per_event(work: Callable[[], int]) -> float:
    samples = []
    for _ in range(RUNS):
        start = time.perf_counter()
        count = work()
        samples.append((time.perf_counter() - start) / count * 1e6)
    return statistics.median(samples)


def main() -> None:
    params = load_params()
    as_of = params.fitted_as_of
    events = read_orders(ROOT / "raw" / "orders.csv")[:STREAM_EVENTS]
    payloads = [event.model_dump_json().encode() for event in events]

    def streaming() -> int:
        for payload in payloads:
            _, features = features_for(parse_event(payload), params=params, as_of=as_of)
            to_record(features)
        return len(payloads)

    amount = params.scaler("purchase_amount")
    recency = params.scaler("n_days_since_last_purchase")
    as_of_date = pd.Timestamp(as_of).tz_convert("UTC").tz_localize(None).normalize()
    rows = [
        {**event.data.model_dump(), "purchased_on": event.data.purchased_on.replace(tzinfo=None)}
        for event in events[:PANDAS_EVENTS]
    ]

    def pandas_per_row() -> int:
        for row in rows:
            frame = pd.DataFrame([row])
            frame["purchased_on"] = pd.to_datetime(frame["purchased_on"])
            # calendar days between UTC dates, as the library and the tutorial count them
            days = (as_of_date - frame["purchased_on"].dt.normalize()).dt.days.to_numpy(
                dtype=np.float64
            )
            frame["n_days_since_last_purchase"] = (days - recency.data_min) / (
                recency.data_max - recency.data_min
            )
            frame["purchase_amount"] = (frame["purchase_amount"] - amount.data_min) / (
                amount.data_max - amount.data_min
            )
            frame["is_reordered"] = frame["is_reordered"].astype(int)
            frame.to_dict("records")
        return len(rows)

    stream_us = median_us_per_event(streaming)
    pandas_us = median_us_per_event(pandas_per_row)
    print(f"transform  streaming path (bytes → Record): {stream_us:8.1f} µs/event")
    print(f"transform  pandas one-row-DataFrame baseline: {pandas_us:8.1f} µs/event")
    print(f"transform  speed-up vs baseline: {pandas_us / stream_us:.1f}x")

    for module in ("featurestream.contract.transforms", "featurestream.contract.events"):
        cost = measure_import(module)
        heavy = ", ".join(cost.heavy_loaded) or "none"
        print(
            f"importtime {module}: {cost.median_ms:.0f} ms "
            f"({cost.modules_loaded} modules; heavy packages: {heavy})"
        )


if __name__ == "__main__":
    main()
