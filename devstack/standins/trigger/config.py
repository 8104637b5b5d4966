"""The event source mappings of ``template.yaml``: one per Kinesis event of a function.

Each mapping carries what the runner needs and nothing else: where to read (stream, starting
position), how to batch and retry (the ESM parameters, with Lambda's defaults where the
template is silent), what to run (handler, code folder, timeout, environment) and where
discarded batches go. Settings come from the template only, so the local stack and AWS agree.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Final

from devstack.stack.lambda_runtime import function_runtime
from devstack.stack.template import Template, TemplateError, local_stack

DEFAULT_REGION: Final = "us-east-1"
PASS_THROUGH_ENV: Final = (
    "PATH",
    "HOME",
    "LANG",
    "LC_ALL",
    "TZ",
    "TMPDIR",
    "PYTHONPATH",
    "VIRTUAL_ENV",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_CA_BUNDLE",
    "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
)
"""Runner variables a handler also gets (Lambda injects credentials; endpoints are local)."""


@dataclass(frozen=True)
class EventSourceMapping:
    """One Kinesis event source mapping as Lambda would run it."""

    function_id: str
    event_id: str
    function_name: str
    function_arn: str
    role_arn: str
    handler: str
    code_dir: Path
    timeout: float
    memory_size: int
    environment: dict[str, str]
    stream_name: str
    stream_arn: str
    region: str
    starting_position: str = "LATEST"
    batch_size: int = 100
    batching_window: float = 0.0
    parallelization_factor: int = 1
    bisect_on_error: bool = False
    maximum_retry_attempts: int = -1
    maximum_record_age: int = -1
    report_batch_item_failures: bool = False
    on_failure_arn: str | None = None
    enabled: bool = True

    def with_changes(self, **changes: Any) -> EventSourceMapping:
        """A copy with some settings changed (tests shorten timeouts and windows this way)."""
        return replace(self, **changes)


def endpoint_environment(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The runner's endpoint and credential variables, passed on to every handler."""
    env = os.environ if environ is None else environ
    return {
        key: value
        for key, value in env.items()
        if key.startswith("AWS_ENDPOINT_URL") or key in PASS_THROUGH_ENV
    }


def _int(value: Any, default: int) -> int:
    return default if value is None else int(value)


def _bool(value: Any) -> bool:
    return str(value).lower() == "true" if isinstance(value, str) else bool(value)


def load_mappings(
    template_path: Path | str,
    *,
    stack_name: str = "featurestream",
    region: str | None = None,
    parameters: Mapping[str, str] | None = None,
    env_overrides: Mapping[str, Mapping[str, str]] | None = None,
    environ: Mapping[str, str] | None = None,
) -> list[EventSourceMapping]:
    """Every Kinesis event of every function in the template, resolved for a local stack.

    The handler environment is built as ``featurestream invoke`` builds it
    (:func:`devstack.stack.lambda_runtime.function_runtime`: template variables + Lambda's own),
    then the runner's endpoint/credential variables and ``env_overrides[<FunctionLogicalId>]``
    are laid over it.
    """

    template_path = Path(template_path)
    env = os.environ if environ is None else environ
    region = region or env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or DEFAULT_REGION
    template = Template.load(template_path)
    stack = local_stack(template, name=stack_name, region=region, parameters=dict(parameters or {}))
    mappings = []
    for function_id, spec in template.functions().items():
        events = template.resolve(spec.events, stack)
        kinesis = {k: v for k, v in events.items() if v.get("Type") == "Kinesis"}
        if not kinesis:
            continue
        runtime = function_runtime(
            template_path,
            function_id,
            stack_name=stack_name,
            region=region,
            parameters=dict(parameters or {}),
            env_vars={},
        )
        function_name = runtime.function_name
        function_env = {
            **endpoint_environment(env),
            **runtime.environment,
            "AWS_REGION": region,
            "AWS_DEFAULT_REGION": region,
            **{k: str(v) for k, v in (env_overrides or {}).get(function_id, {}).items()},
        }
        role = spec.properties.get("Role")
        role_arn = (
            str(template.resolve(role, stack))
            if role is not None
            else f"arn:aws:iam::{stack.account}:role/{function_name}-role"
        )
        for event_id, event in kinesis.items():
            mappings.append(
                _mapping(
                    template_path,
                    spec_info=(function_id, spec.handler, spec.code_uri, spec.timeout),
                    memory_size=spec.memory_size,
                    event_id=event_id,
                    properties=event.get("Properties") or {},
                    function_name=function_name,
                    function_arn=f"arn:{stack.partition}:lambda:{region}:{stack.account}:"
                    f"function:{function_name}",
                    role_arn=role_arn,
                    environment=function_env,
                    region=region,
                )
            )
    return mappings


def _mapping(
    template_path: Path,
    *,
    spec_info: tuple[str, str, str, int],
    memory_size: int,
    event_id: str,
    properties: Mapping[str, Any],
    function_name: str,
    function_arn: str,
    role_arn: str,
    environment: dict[str, str],
    region: str,
) -> EventSourceMapping:
    function_id, handler, code_uri, timeout = spec_info
    stream_arn = str(properties.get("Stream", ""))
    if ":stream/" not in stream_arn:
        raise TemplateError(f"{function_id}.{event_id}: Stream must be a Kinesis stream ARN")
    if "StartingPosition" not in properties:
        raise TemplateError(f"{function_id}.{event_id}: StartingPosition is required")
    destination = ((properties.get("DestinationConfig") or {}).get("OnFailure") or {}).get(
        "Destination"
    )
    return EventSourceMapping(
        function_id=function_id,
        event_id=event_id,
        function_name=function_name,
        function_arn=function_arn,
        role_arn=role_arn,
        handler=handler,
        code_dir=(template_path.parent / code_uri).resolve(),
        timeout=float(timeout),
        memory_size=memory_size,
        environment=environment,
        stream_name=stream_arn.split(":stream/", 1)[1],
        stream_arn=stream_arn,
        region=region,
        starting_position=str(properties["StartingPosition"]),
        batch_size=_int(properties.get("BatchSize"), 100),
        batching_window=float(properties.get("MaximumBatchingWindowInSeconds") or 0),
        parallelization_factor=_int(properties.get("ParallelizationFactor"), 1),
        bisect_on_error=_bool(properties.get("BisectBatchOnFunctionError", False)),
        maximum_retry_attempts=_int(properties.get("MaximumRetryAttempts"), -1),
        maximum_record_age=_int(properties.get("MaximumRecordAgeInSeconds"), -1),
        report_batch_item_failures="ReportBatchItemFailures"
        in (properties.get("FunctionResponseTypes") or []),
        on_failure_arn=str(destination) if destination else None,
        enabled=_bool(properties.get("Enabled", True)),
    )
