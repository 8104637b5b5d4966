"""``featurestream invoke``: run a template function in-process on an event, without Docker.

Like ``sam local invoke``: the handler and environment come from ``template.yaml`` (Globals
merged, intrinsics resolved for a local stack named ``--stack-name``), ``--env-vars`` takes
the same JSON file format, the code is imported from the function's CodeUri, and the
response JSON goes to stdout while logs and metrics go to stderr. Endpoints are whatever
``AWS_ENDPOINT_URL_*`` the shell has (e.g. from ``featurestream local env``).
"""

import contextlib
import importlib
import json
import os
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click


@dataclass
class LocalContext:
    """The attributes and method of Lambda's context object that handlers use."""

    function_name: str
    memory_limit_in_mb: int
    timeout_seconds: int
    invoked_function_arn: str
    function_version: str = "$LATEST"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    log_group_name: str = ""
    log_stream_name: str = "local"
    _deadline: float = field(default=0.0, repr=False)

    def __post_init__(self) -> None:
        self.log_group_name = self.log_group_name or f"/aws/lambda/{self.function_name}"
        self._deadline = time.monotonic() + self.timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def _pairs(values: tuple[str, ...], what: str) -> dict[str, str]:
    result = {}
    for value in values:
        key, sep, text = value.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{what} must be KEY=VALUE: {value!r}")
        result[key] = text
    return result


@contextlib.contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, old in saved.items():
            if old is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = old


def function_environment(
    template_path: Path,
    function_id: str,
    *,
    stack_name: str,
    parameters: dict[str, str],
    env_vars: dict[str, Any],
) -> tuple[Any, dict[str, str]]:
    """The function spec and the environment Lambda would give it (plus local defaults)."""
    from devstack.template import Template, TemplateError, local_stack

    try:
        template = Template.load(template_path)
        spec = template.function(function_id)
        stack = local_stack(
            template,
            name=stack_name,
            region=os.environ.get("AWS_REGION")
            or os.environ.get("AWS_DEFAULT_REGION")
            or "us-east-1",
            parameters={**env_vars.get("Parameters", {}), **parameters},
        )
        resolved = template.resolve(spec.environment, stack)
        function_name = str(
            template.resolve(spec.properties.get("FunctionName", function_id), stack)
        )
    except TemplateError as error:
        raise click.ClickException(str(error)) from error
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
    defaults = {"POWERTOOLS_TRACE_DISABLED": "true"}  # no X-Ray daemon locally
    return spec, {**defaults, **env, **lambda_env, "_FUNCTION_NAME": function_name}


@click.command()
@click.argument("function_id", metavar="FUNCTION_LOGICAL_ID")
@click.option(
    "-e",
    "--event",
    "event_path",
    type=click.Path(path_type=Path, exists=True, dir_okay=False),
    required=True,
    help="event JSON file (e.g. events/order-batch.json)",
)
@click.option(
    "-t",
    "--template",
    "template_path",
    type=click.Path(path_type=Path, exists=True),
    default=Path("template.yaml"),
    show_default=True,
)
@click.option("--stack-name", default="featurestream", show_default=True)
@click.option("--parameter-overrides", "parameters", multiple=True, metavar="KEY=VALUE")
@click.option(
    "-n",
    "--env-vars",
    type=click.Path(path_type=Path, exists=True, dir_okay=False),
    help='JSON like sam local: {"<FunctionLogicalId>": {...}, "Parameters": {...}}',
)
@click.option("--env", "env_pairs", multiple=True, metavar="KEY=VALUE", help="extra variables")
def command(  # noqa: PLR0917 - click passes options positionally
    function_id: str,
    event_path: Path,
    template_path: Path,
    stack_name: str,
    parameters: tuple[str, ...],
    env_vars: Path | None,
    env_pairs: tuple[str, ...],
) -> None:
    """Invoke FUNCTION_LOGICAL_ID from template.yaml on an event, in this process."""
    env_file = json.loads(env_vars.read_text()) if env_vars else {}
    spec, env = function_environment(
        template_path,
        function_id,
        stack_name=stack_name,
        parameters=_pairs(parameters, "--parameter-overrides"),
        env_vars=env_file,
    )
    env.update(_pairs(env_pairs, "--env"))
    function_name = env.pop("_FUNCTION_NAME")
    event = json.loads(event_path.read_text())
    module_name, _, attribute = spec.handler.rpartition(".")
    code_dir = str((template_path.parent / spec.code_uri).resolve())
    context = LocalContext(
        function_name=function_name,
        memory_limit_in_mb=spec.memory_size,
        timeout_seconds=spec.timeout,
        invoked_function_arn=f"arn:aws:lambda:{env['AWS_REGION']}:123456789012:function:{function_name}",
    )
    sys.path.insert(0, code_dir)
    failure: dict[str, str] | None = None
    try:
        with _environment(env), contextlib.redirect_stdout(sys.stderr):
            handler = getattr(importlib.import_module(module_name), attribute)
            try:
                response = handler(event, context)
            except Exception as error:  # reported the way Lambda reports it
                failure = {"errorType": type(error).__name__, "errorMessage": str(error)}
    finally:
        sys.path.remove(code_dir)
    if failure is not None:
        click.echo(json.dumps(failure))
        raise SystemExit(1)
    click.echo(json.dumps(response))
