"""Powertools Logger, Metrics and Tracer shared by the stream handlers.

Configured through the environment (``POWERTOOLS_SERVICE_NAME``,
``POWERTOOLS_METRICS_NAMESPACE``, ``POWERTOOLS_LOG_LEVEL``, ``POWERTOOLS_TRACE_DISABLED``),
as the template sets them; the defaults only matter when a handler is imported before its
environment is set (tests, ``featurestream invoke``). Logs never carry names or other
personal data: only event ids, event types, stream positions, reasons and error codes.
"""

import json
import os
from collections.abc import Mapping, Sequence
from typing import Final

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.metrics.functions import is_metrics_disabled

DEFAULT_SERVICE: Final = "featurestream"
DEFAULT_NAMESPACE: Final = "featurestream"
MAX_VALUES_PER_DOCUMENT: Final = 100
"""EMF takes at most 100 values of one metric in one document (Powertools' own limit)."""

logger: Final = Logger(service=os.environ.get("POWERTOOLS_SERVICE_NAME") or DEFAULT_SERVICE)
metrics: Final = Metrics(
    namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE") or DEFAULT_NAMESPACE
)
tracer: Final = Tracer(patch_modules=("botocore",))


def publish_values(
    series: Mapping[str, tuple[MetricUnit, Sequence[float]]],
    dimensions: Mapping[str, str] | None = None,
) -> None:
    """Emit per-record values (one CloudWatch sample each) in EMF documents of <= 100 values
    per metric, with the handler's namespace, dimensions and metadata.

    Why not one ``metrics.add_metric`` per value: Powertools formats the metric's whole value
    list into a debug message on every call, so adding n values costs O(n^2)
    (docs/operations.md has the cost). The documents are the ones Powertools itself prints
    when a metric reaches 100 values. ``dimensions`` replaces the handler's dimension set
    (the ``service`` default) for these documents, e.g. ``{"FeatureGroup": "orders"}``.
    """
    if is_metrics_disabled():
        return
    longest = max((len(values) for _, values in series.values()), default=0)
    for start in range(0, longest, MAX_VALUES_PER_DOCUMENT):
        chunk = {
            name: {
                "Unit": unit.value,
                "StorageResolution": 60,
                "Value": [float(v) for v in values[start : start + MAX_VALUES_PER_DOCUMENT]],
            }
            for name, (unit, values) in series.items()
            if len(values) > start
        }
        print(
            json.dumps(
                metrics.serialize_metric_set(
                    metrics=chunk, dimensions=dict(dimensions) if dimensions else None
                ),
                separators=(",", ":"),
            )
        )
