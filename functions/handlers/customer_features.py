"""Lambda entry point for the customer-events stream: customer events → ``customers`` group.

Thin on purpose: the pipeline (:mod:`featurestream.ingest.pipeline`) is shared with the order
handler.
"""

from typing import Any

from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.typing import LambdaContext

from featurestream.aws.observability import logger, metrics, tracer
from featurestream.ingest.pipeline import CUSTOMER_STREAM, IngestApp

app = IngestApp(CUSTOMER_STREAM)


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    """Process a Kinesis batch; failed records come back in ``batchItemFailures``."""
    return app(event, context)
