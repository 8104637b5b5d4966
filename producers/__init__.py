"""Producers: the publisher library for upstream apps, and the CSV replay.

Upstream apps need only::

    from producers import EventPublisher

    with EventPublisher() as publisher:   # streams from FEATURESTREAM_*_STREAM or defaults
        publisher.put(order_event)        # dict, JSON or model; InvalidEvent if invalid
        failures = publisher.flush()      # DeliveryFailure list; [] when all accepted

boto3/botocore are imported only when a client is made or a call is sent.
"""

from producers.batching import BatchLimits
from producers.encoding import EncodedEvent, encode_event
from producers.publisher import (
    DeliveryFailure,
    EventPublisher,
    PublishError,
    PublisherStats,
    RetryPolicy,
    StreamPublisher,
    make_kinesis_client,
)
from producers.replay import ReplayOptions, ReplaySummary, run_replay
from producers.streams import StreamNames

__all__ = [
    "BatchLimits",
    "DeliveryFailure",
    "EncodedEvent",
    "EventPublisher",
    "PublishError",
    "PublisherStats",
    "ReplayOptions",
    "ReplaySummary",
    "RetryPolicy",
    "StreamNames",
    "StreamPublisher",
    "encode_event",
    "make_kinesis_client",
    "run_replay",
]
