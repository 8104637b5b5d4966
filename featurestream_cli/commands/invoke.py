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
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click


def _pairs(values: tuple[str, ...], what: str) -> dict[str, str]:
    result = {}
    for number, value in enumerate(values, start=1):
        key, sep, text = value.partition("=")
        if not sep or not key:  # the value is not quoted back: it may be a secret
            raise click.BadParameter(f"{what} number {number} is not KEY=VALUE")
        result[key] = text
    return result


def _read_json(path: Path, option: str) -> Any:
    """The file's JSON; a clear error naming the option, file and line otherwise (the
    message never quotes the content, which may be a real event)."""
    try:
        text = path.read_bytes().decode()
    except OSError as error:
        raise click.BadParameter(
            f"{path}: cannot read ({error.strerror})", param_hint=option
        ) from None
    except UnicodeDecodeError as error:
        raise click.BadParameter(
            f"{path}: not valid UTF-8 (byte {error.start + 1})", param_hint=option
        ) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise click.BadParameter(
            f"{path}:{error.lineno}:{error.colno}: not valid JSON ({error.msg})", param_hint=option
        ) from None


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
    type=click.Path(path_type=Path, exists=True, dir_okay=False),
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
    from devstack.stack.lambda_runtime import function_runtime
    from devstack.stack.template import TemplateError

    env_file = _read_json(env_vars, "--env-vars") if env_vars else {}
    if not isinstance(env_file, dict) or not all(
        isinstance(env_file.get(key, {}), dict) for key in ("Parameters", function_id)
    ):
        raise click.BadParameter(
            f'{env_vars}: must be {{"{function_id}": {{...}}, "Parameters": {{...}}}}',
            param_hint="--env-vars",
        )
    event = _read_json(event_path, "--event")
    try:
        runtime = function_runtime(
            template_path,
            function_id,
            stack_name=stack_name,
            region=os.environ.get("AWS_REGION")
            or os.environ.get("AWS_DEFAULT_REGION")
            or "us-east-1",
            parameters=_pairs(parameters, "--parameter-overrides"),
            env_vars=env_file,
        )
    except TemplateError as error:
        raise click.ClickException(str(error)) from error
    spec = runtime.spec
    env = {**runtime.environment, **_pairs(env_pairs, "--env")}
    module_name, _, attribute = spec.handler.rpartition(".")
    code_dir = str((template_path.parent / spec.code_uri).resolve())
    context = runtime.context()
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
