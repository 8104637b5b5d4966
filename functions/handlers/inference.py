"""Lambda entry point for the HTTP API: customer features and reorder predictions.

Thin on purpose: routing, reading, scoring and error mapping live in
:mod:`featurestream.serving.app`. No pandas, scikit-learn or numpy on this path.
"""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from featurestream.aws.observability import logger, metrics, tracer
from featurestream.serving.app import InferenceApp

app = InferenceApp()


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: Any, context: LambdaContext) -> dict[str, Any]:
    """An API Gateway HTTP API (payload 2.0) event in, an HTTP response out."""
    # the correlation id is API Gateway's request id, read here rather than through
    # ``correlation_id_path``: the same value without a JMESPath search per request
    request_context = event.get("requestContext") if isinstance(event, dict) else None
    rid = request_context.get("requestId") if isinstance(request_context, dict) else None
    logger.set_correlation_id(rid if isinstance(rid, str) else None)
    return app(event, context)
