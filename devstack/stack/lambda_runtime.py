"""What Lambda gives a handler, reproduced locally: its environment and its context object.

Shared by ``featurestream invoke`` (one event, in-process) and the trigger runner (events
from Kinesis, in worker processes), so both run a template function the same way.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from devstack.stack.lambda_context import LocalContext, function_arn
from devstack.stack.template import FunctionSpec, Template, local_stack


def deployed_import_env(task_root: Path, function_name: str) -> dict[str, str]:
    """What a function deployed by template.yaml has at import that changes what importing
    does: ``LAMBDA_TASK_ROOT`` puts the X-Ray SDK in its Lambda mode (no sampling clients,
    which outside Lambda cost a noticeable part of the import; docs/operations.md), and
    with ``AWS_LAMBDA_FUNCTION_NAME`` Powertools' Tracer is on (``Tracing: Active``) and
    patches botocore. For measuring and checking cold starts; a
    local run has no trace header per invocation, so it keeps tracing off instead."""
    return {
        "LAMBDA_TASK_ROOT": str(task_root),
        "AWS_LAMBDA_FUNCTION_NAME": function_name,
        "AWS_EXECUTION_ENV": "AWS_Lambda_python3.13",
        "AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1:2000",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
    }


@dataclass(frozen=True)
class FunctionRuntime:
    """A template function as Lambda would run it: spec, deployed name and environment."""

    spec: FunctionSpec
    function_name: str
    environment: dict[str, str]

    @property
    def region(self) -> str:
        return self.environment["AWS_REGION"]

    @property
    def function_arn(self) -> str:
        return function_arn(self.function_name, self.region)

    def context(self, request_id: str | None = None) -> LocalContext:
        """A fresh context for one invocation (its deadline starts now)."""
        return LocalContext(
            function_name=self.function_name,
            memory_limit_in_mb=self.spec.memory_size,
            timeout_seconds=int(self.spec.timeout),
            invoked_function_arn=self.function_arn,
            aws_request_id=request_id or str(uuid.uuid4()),
        )


def function_runtime(
    template_path: Path,
    function_id: str,
    *,
    stack_name: str,
    region: str,
    parameters: dict[str, str],
    env_vars: dict[str, Any],
) -> FunctionRuntime:
    """The function's environment as Lambda would set it, for a local stack.

    Template variables (Globals merged, intrinsics resolved), then ``env_vars`` in
    ``sam local``'s ``--env-vars`` format, then Lambda's own variables. Tracing is off by
    default (no X-Ray daemon locally). Raises ``TemplateError`` for an unknown function or
    an unresolvable intrinsic.
    """
    template = Template.load(template_path)
    spec = template.function(function_id)
    stack = local_stack(
        template,
        name=stack_name,
        region=region,
        parameters={**env_vars.get("Parameters", {}), **parameters},
    )
    resolved = template.resolve(spec.environment, stack)
    function_name = str(template.resolve(spec.properties.get("FunctionName", function_id), stack))
    env = {k: str(v) for k, v in resolved.items()}
    env.update({k: str(v) for k, v in env_vars.get(function_id, {}).items()})
    lambda_env = {
        "AWS_LAMBDA_FUNCTION_NAME": function_name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_size),
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_REGION": stack.region,
        "AWS_DEFAULT_REGION": stack.region,
        "_HANDLER": spec.handler,
    }
    defaults = {"POWERTOOLS_TRACE_DISABLED": "true"}
    return FunctionRuntime(spec, function_name, {**defaults, **env, **lambda_env})
