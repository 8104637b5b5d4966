"""Lambda entry point for the HTTP API: customer features and reorder predictions.

Thin on purpose: routing, reading, scoring and error mapping live in
:mod:`featurestream.inference_app`. No pandas, scikit-learn or numpy on this path.
"""

from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from featurestream.inference_app import InferenceApp
from featurestream.observability import logger, metrics, tracer

app = InferenceApp()


@logger.inject_lambda_context(
    correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True
)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """An API Gateway HTTP API (payload 2.0) event in, an HTTP response out."""
    return app(event, context)
