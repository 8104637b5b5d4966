"""``InvokeEndpoint`` with ``text/csv`` rows, and what its failures mean to our caller.

The model answers JSON with its version; a version other than the contract's means the
vectors were built for another model, so that is refused (502) rather than served.
ModelError (the container failed) and ValidationError (no such endpoint, input refused) are
502: the caller cannot fix them. Throttling, ModelNotReady, 5xx and timeouts are 503.
"""

import json
from collections.abc import Sequence
from typing import Any, Protocol

from featurestream.serving.errors import ApiError, dependency_error


class InvokeClient(Protocol):
    def invoke_endpoint(self, **kwargs: Any) -> Any: ...


def to_csv(rows: Sequence[Sequence[float]]) -> str:
    """One line per row; ``repr`` is the shortest text that reads back as the same float."""
    return "".join(",".join(map(repr, map(float, row))) + "\n" for row in rows)


class ModelClient:
    """Scores feature vectors on one endpoint; checks the answer is from the expected model."""

    def __init__(self, client: InvokeClient, endpoint_name: str, model_version: str) -> None:
        self._client = client
        self.endpoint_name = endpoint_name
        self.model_version = model_version

    def predict(self, rows: Sequence[Sequence[float]]) -> list[float]:
        try:
            response = self._client.invoke_endpoint(
                EndpointName=self.endpoint_name,
                ContentType="text/csv",
                Accept="application/json",
                Body=to_csv(rows).encode(),
            )
            body = response["Body"].read()
        except Exception as error:
            raise self._error(error) from error
        try:
            answer = json.loads(body)
            predictions = [float(p) for p in answer["predictions"]]
            version = str(answer.get("model_version"))
        except (ValueError, KeyError, TypeError):
            raise ApiError(502, "ModelBadResponse", "the model's answer is not readable") from None
        if version != self.model_version:
            raise ApiError(
                502,
                "ModelVersionMismatch",
                f"endpoint serves model {version}; features were built for {self.model_version}",
            )
        if len(predictions) != len(rows):
            raise ApiError(502, "ModelBadResponse", "the model answered a different row count")
        return predictions

    def _error(self, error: Exception) -> ApiError:
        from botocore.exceptions import ClientError

        if isinstance(error, ClientError):
            response: Any = error.response
            code = response.get("Error", {}).get("Code")
            if code == "ModelError":
                return ApiError(
                    502,
                    "ModelError",
                    "the model container failed to score the request",
                    original_status_code=response.get("OriginalStatusCode"),
                    dependency_request_id=response.get("ResponseMetadata", {}).get("RequestId"),
                )
        return dependency_error("ModelEndpoint", error)
