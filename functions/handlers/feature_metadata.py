"""CloudFormation custom resource: apply the catalog's feature metadata on every deploy.

``AWS::SageMaker::FeatureGroup`` cannot express per-feature descriptions and parameters, so
``FeatureMetadata`` (``Custom::FeatureMetadata`` in template.yaml) calls this function after
both groups exist. Create and Update converge the deployed metadata to the catalog shipped
with this code (:func:`featurestream.governance.metadata.apply_catalog_metadata`); the resource's
``CatalogHash`` property changes with the catalog, which is what makes CloudFormation send an
Update on every catalog change. Delete does nothing and always succeeds: the metadata goes
away with the groups, and a Delete also follows a failed Create (rollback) or a stack delete
that must never get stuck here.

CloudFormation waits (up to an hour) for a response on the pre-signed ``ResponseURL``, so
every path responds exactly once: success, failure with the reason, or — via a timer that
fires shortly before the Lambda timeout — failure for running out of time.

Properties: ``FeatureGroups`` (catalog group name → deployed name), ``CatalogHash``.
"""

import json
import threading
import urllib.request
from collections.abc import Mapping
from typing import Any, Final

from featurestream.aws.observability import logger
from featurestream.governance.metadata import apply_catalog_metadata, catalog_hash

TIMEOUT_MARGIN_SECONDS: Final = 10.0
"""Respond FAILED this long before the Lambda timeout instead of leaving the stack waiting."""
MAX_REASON_CHARS: Final = 1500
"""The whole response body must stay under 4,096 bytes."""
PUT_ATTEMPTS: Final = 3


class _Responder:
    """Sends the one response CloudFormation waits for; later attempts are ignored."""

    def __init__(self, event: Mapping[str, Any], log_stream: str) -> None:
        self._event = event
        self._log_stream = log_stream
        self._lock = threading.Lock()
        self.sent: str | None = None

    def send(
        self,
        status: str,
        reason: str,
        physical_id: str,
        data: Mapping[str, str] | None = None,
    ) -> bool:
        with self._lock:
            if self.sent is not None:
                return False
            self.sent = status
        if status == "FAILED" and self._log_stream:
            reason = f"{reason} (log stream {self._log_stream})"
        body = {
            "Status": status,
            "Reason": reason[:MAX_REASON_CHARS],
            "PhysicalResourceId": physical_id,
            "StackId": self._event.get("StackId", ""),
            "RequestId": self._event.get("RequestId", ""),
            "LogicalResourceId": self._event.get("LogicalResourceId", ""),
            "NoEcho": False,
            "Data": dict(data or {}),
        }
        _put(str(self._event["ResponseURL"]), json.dumps(body).encode())
        logger.info("responded to CloudFormation", extra={"status": status, "reason": reason})
        return True


def _put(url: str, payload: bytes) -> None:
    """PUT the response; the pre-signed URL expects no Content-Type (as cfnresponse sends)."""
    if not url.startswith(("https://", "http://")):
        raise ValueError(f"ResponseURL is not an http(s) URL: {url[:40]}")
    request = urllib.request.Request(  # noqa: S310 - scheme checked above
        url,
        data=payload,
        method="PUT",
        headers={"Content-Type": "", "Content-Length": str(len(payload))},
    )
    for attempt in range(1, PUT_ATTEMPTS + 1):
        try:
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310  # nosec B310  # http(s) scheme checked above
                response.read()
            return
        except OSError:
            if attempt == PUT_ATTEMPTS:
                logger.exception("could not send the response to CloudFormation")
                raise


def _sagemaker_client() -> Any:
    """A control-plane client (9 attempts: a stack operation waits for it); endpoint from
    the standard variables (local stack too)."""
    from featurestream.aws.clients import client_config, create_client

    config = client_config(
        max_attempts=9, connect_timeout=5, read_timeout=20, validate=True, keepalive=False
    )
    return create_client("sagemaker", config)


def _group_names(properties: Mapping[str, Any]) -> dict[str, str]:
    groups = properties.get("FeatureGroups")
    if not isinstance(groups, Mapping) or not groups:
        raise ValueError("property FeatureGroups must map catalog group names to deployed names")
    return {str(k): str(v) for k, v in groups.items()}


def _physical_id(event: Mapping[str, Any]) -> str:
    existing = event.get("PhysicalResourceId")
    if existing:
        return str(existing)
    return f"{event.get('StackId', 'stack')}/{event.get('LogicalResourceId', 'FeatureMetadata')}"


def handle(event: Mapping[str, Any], context: Any, client: Any = None) -> str | None:
    """Serve one custom-resource request; returns the status sent (None if none could be)."""
    physical_id = _physical_id(event)
    responder = _Responder(event, getattr(context, "log_stream_name", ""))
    remaining = context.get_remaining_time_in_millis() / 1000 - TIMEOUT_MARGIN_SECONDS
    timer = threading.Timer(
        max(remaining, 1.0),
        _send_quietly,
        args=(responder, "FAILED", "timed out applying feature metadata", physical_id),
    )
    timer.daemon = True
    timer.start()
    try:
        request_type = event.get("RequestType")
        if request_type == "Delete":
            _send_quietly(responder, "SUCCESS", "nothing to delete", physical_id)
        elif request_type in ("Create", "Update"):
            properties = event.get("ResourceProperties") or {}
            group_names = _group_names(properties)
            shipped = catalog_hash()
            if properties.get("CatalogHash") != shipped:
                logger.warning(
                    "CatalogHash property differs from the shipped catalog; applying the shipped",
                    extra={"property": properties.get("CatalogHash"), "shipped": shipped},
                )
            report = apply_catalog_metadata(client or _sagemaker_client(), group_names)
            for line in report.lines():
                logger.info(line)
            data = {
                "CatalogHash": shipped,
                "Calls": str(report.calls),
                "ChangedFeatures": str(report.changed_features),
            }
            _send_quietly(responder, "SUCCESS", report.summary(), physical_id, data)
        else:
            _send_quietly(responder, "FAILED", f"unknown RequestType {request_type!r}", physical_id)
    except Exception as error:  # every failure must reach CloudFormation
        logger.exception("feature metadata request failed")
        reason = f"{type(error).__name__}: {error}"
        if event.get("RequestType") == "Delete":
            _send_quietly(responder, "SUCCESS", f"ignored on delete: {reason}", physical_id)
        else:
            _send_quietly(responder, "FAILED", reason, physical_id)
    finally:
        timer.cancel()
    return responder.sent


def _send_quietly(
    responder: _Responder,
    status: str,
    reason: str,
    physical_id: str,
    data: Mapping[str, str] | None = None,
) -> None:
    try:
        responder.send(status, reason, physical_id, data)
    except Exception:  # already logged; nothing else can reach CloudFormation
        responder.sent = None


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: Any) -> None:
    """Lambda entry point (ServiceToken of the FeatureMetadata custom resource)."""
    handle(event, context)
