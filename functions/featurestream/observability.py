"""Powertools Logger, Metrics and Tracer shared by the stream handlers.

Configured through the environment (``POWERTOOLS_SERVICE_NAME``,
``POWERTOOLS_METRICS_NAMESPACE``, ``POWERTOOLS_LOG_LEVEL``, ``POWERTOOLS_TRACE_DISABLED``),
as the template sets them; the defaults only matter when a handler is imported before its
environment is set (tests, ``featurestream invoke``). Logs never carry names or other
personal data: only event ids, event types, stream positions, reasons and error codes.
"""

import os
from typing import Final

from aws_lambda_powertools import Logger, Metrics, Tracer

DEFAULT_SERVICE: Final = "featurestream"
DEFAULT_NAMESPACE: Final = "featurestream"

logger: Final = Logger(service=os.environ.get("POWERTOOLS_SERVICE_NAME") or DEFAULT_SERVICE)
metrics: Final = Metrics(
    namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE") or DEFAULT_NAMESPACE
)
tracer: Final = Tracer()
