"""Freshness of written records, in seconds.

* **Event freshness**: from the event's business time (``event_time``) to when the record is
  readable online. The online store serves a record as soon as its write is acknowledged, so
  the acknowledgement time stands for "readable online".
* **Pipeline freshness**: from Kinesis arrival (``approximateArrivalTimestamp``) to the same
  acknowledgement: the part of the delay this stack is responsible for.

The acknowledgement time is when the invocation's writes were all acknowledged: at most the
batch's write time (the ``PutRecordLatency`` metric) later than the record's own.
"""

from collections.abc import Iterable
from datetime import datetime


def event_freshness(event_times: Iterable[datetime], acknowledged_at: float) -> list[float]:
    """Seconds from each business time to ``acknowledged_at`` (epoch seconds), never < 0."""
    return [max(0.0, round(acknowledged_at - t.timestamp(), 3)) for t in event_times]


def pipeline_freshness(arrivals: Iterable[float | None], acknowledged_at: float) -> list[float]:
    """Seconds from each Kinesis arrival (epoch seconds) to ``acknowledged_at``, never < 0;
    records without an arrival time are left out."""
    return [max(0.0, round(acknowledged_at - a, 3)) for a in arrivals if a is not None]
