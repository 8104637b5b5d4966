"""The inference Lambda's state and request flow: clients once per container, then route,
validate, read, score and answer — every failure as a JSON error with its status code.

The service is built on first use (not at import), so importing the handler needs no
environment; settings, botocore clients, the model contract and the fitted params are then
reused by every invocation of the container. A contract trained with other params than the
ones shipped is a deployment error, refused before anything is served (docs/inference.md).
"""

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from featurestream.aws.clients import lean_client, serialize_with_json_dumps
from featurestream.aws.container import PerContainer
from featurestream.aws.observability import logger, metrics
from featurestream.contract.model_contract import ModelContract, load_contract
from featurestream.contract.params import FittedParams, load_params
from featurestream.ingest.settings import ConfigError
from featurestream.serving.errors import ApiError
from featurestream.serving.http import (
    MAX_CUSTOMER_IDS,
    FeaturesRequest,
    error_response,
    parse_request,
    request_id,
    request_time,
    response,
)
from featurestream.serving.model_client import InvokeClient, ModelClient
from featurestream.serving.online_reader import BatchGetClient, OnlineReader, chunk_size
from featurestream.serving.service import InferenceService
from featurestream.serving.settings import InferenceSettings


def feature_store_client(*, attempts: int, connect: float, read: float) -> Any:
    """The store client: :func:`lean_client`, and ``BatchGetRecord`` bodies made with one
    ``json.dumps`` (its input is plain JSON), not botocore's walk (~130 nodes for 50 ids)."""
    client = lean_client(
        "sagemaker-featurestore-runtime", attempts=attempts, connect=connect, read=read
    )
    serialize_with_json_dumps(client, "BatchGetRecord")
    return client


def build_service(
    settings: InferenceSettings,
    *,
    contract: ModelContract | None = None,
    params: FittedParams | None = None,
    store_client: BatchGetClient | None = None,
    endpoint_client: InvokeClient | None = None,
) -> InferenceService:
    """Wire the service from settings; clients default to :func:`feature_store_client` and
    :func:`lean_client` (boto3's standard endpoint variables)."""
    contract = contract or load_contract()
    params = params or load_params()
    if contract.params_version != params.version:
        raise ConfigError(
            f"model {contract.model_version} was trained with params {contract.params_version}, "
            f"but the Lambda ships params {params.version}: retrain or redeploy"
        )
    store = store_client or feature_store_client(
        attempts=settings.store_max_attempts,
        connect=settings.store_connect_timeout,
        read=settings.store_read_timeout,
    )
    endpoint = endpoint_client or lean_client(
        "sagemaker-runtime",
        attempts=settings.endpoint_max_attempts,
        connect=settings.endpoint_connect_timeout,
        read=settings.endpoint_read_timeout,
    )
    deployed = settings.feature_groups
    unknown = [g for g in contract.groups() if g not in deployed]
    if unknown:
        raise ConfigError(f"the model reads {', '.join(unknown)}: its group name is not set")
    groups = {g: deployed[g] for g in ("customers", "orders", *contract.groups())}
    reader = OnlineReader(
        store,
        groups,
        max_attempts=settings.unprocessed_max_attempts,
        # the largest request's calls all at once: it waits for one store round trip
        parallel_calls=-(-MAX_CUSTOMER_IDS // chunk_size(len(groups))),
    )
    # the features operation reads every deployed group (one customer: one call)
    features_reader = (
        OnlineReader(store, deployed, max_attempts=settings.unprocessed_max_attempts)
        if set(deployed) != set(groups)
        else None
    )
    model = ModelClient(endpoint, settings.endpoint_name, contract.model_version)
    return InferenceService(
        reader,
        model,
        contract,
        params,
        settings.max_record_age_seconds,
        features_reader=features_reader,
    )


def _now() -> datetime:
    return datetime.now(UTC)


class InferenceApp:
    """Handler state: the service, built once per container (``reset()`` for tests)."""

    def __init__(
        self,
        factory: Callable[[], InferenceService] | None = None,
        clock: Callable[[], datetime] = _now,
    ) -> None:
        self._state = PerContainer(
            factory or (lambda: build_service(InferenceSettings.from_env())),
            close=InferenceService.close,
        )
        self._clock = clock

    @property
    def service(self) -> InferenceService:
        return self._state.get()

    def reset(self) -> None:
        self._state.reset()

    def __call__(self, event: Any, context: Any = None) -> dict[str, Any]:
        """Answer one HTTP API event; whatever ``event`` holds, the answer is a response."""
        rid = request_id(event, context)
        try:
            request = parse_request(event)
            as_of = request_time(event) or self._clock()
            service = self.service
            if isinstance(request, FeaturesRequest):
                body = service.features(request.customer_id, as_of)
                route = "features"
            else:
                body = service.predict(request.customer_ids, as_of)
                route = "predictions"
                _count(body)
            logger.info("answered", extra={"route": route, "status": 200})
            return response(200, body, rid)
        except ApiError as error:
            metrics.add_metric(name=f"Http{error.status}", unit=MetricUnit.Count, value=1)
            log = logger.warning if error.status >= 500 else logger.info
            log("refused", extra={"status": error.status, "code": error.code})
            return error_response(error, rid)
        except ConfigError as error:
            logger.error("configuration error", extra={"reason": str(error)})
            return error_response(ApiError(500, "ConfigurationError", str(error)), rid)
        except Exception:
            logger.exception("unexpected error")
            return error_response(ApiError(500, "InternalError", "unexpected error"), rid)


def _count(body: dict[str, Any]) -> None:
    predictions = body.get("predictions", [])
    metrics.add_metric(name="Predictions", unit=MetricUnit.Count, value=len(predictions))
    metrics.add_metric(name="MissingCustomers", unit=MetricUnit.Count, value=len(body["missing"]))
    metrics.add_metric(name="StoreItemErrors", unit=MetricUnit.Count, value=len(body["errors"]))
    stale = sum(1 for p in predictions if p["stale"])
    metrics.add_metric(name="StalePredictions", unit=MetricUnit.Count, value=stale)
