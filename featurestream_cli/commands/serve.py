"""``featurestream serve``: the inference HTTP API on loopback, wrapping the real handler
the way API Gateway does (payload format 2.0), with a bearer token standing in for IAM."""

import os
import re
from typing import Final

import click

DEFAULT_PORT = 3000
MIN_TOKEN_LENGTH: Final = 16
"""Shorter tokens can be guessed; ``secrets.token_urlsafe()`` gives 43 characters."""
_BEARER_TOKEN: Final = re.compile(r"[A-Za-z0-9\-._~+/]+=*")
"""RFC 6750's token syntax: what an ``Authorization: Bearer`` header can carry."""


def check_token(token: str | None) -> str:
    """The token if it can serve as a secret; a usage error naming what is wrong (never
    the token itself) otherwise."""
    if token is None or not token.strip():
        raise click.UsageError("a token is required: set FEATURESTREAM_API_TOKEN or pass --token")
    if not _BEARER_TOKEN.fullmatch(token):
        raise click.UsageError(
            "the token may hold only letters, digits and - . _ ~ + / (then = padding); "
            "no spaces: it travels in an Authorization: Bearer header"
        )
    if len(token) < MIN_TOKEN_LENGTH:
        raise click.UsageError(
            f"the token is too short to be a secret: use at least {MIN_TOKEN_LENGTH} "
            "characters, e.g. python -c 'import secrets; print(secrets.token_urlsafe())'"
        )
    return token


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="interface to bind")
@click.option("--port", type=int, default=DEFAULT_PORT, show_default=True)
@click.option(
    "--token",
    envvar="FEATURESTREAM_API_TOKEN",
    default=None,
    help=f"bearer token every call must send: at least {MIN_TOKEN_LENGTH} characters of "
    "A-Z a-z 0-9 - . _ ~ + / [env: FEATURESTREAM_API_TOKEN] (required)",
)
@click.option(
    "--customers-group",
    envvar="CUSTOMERS_FEATURE_GROUP_NAME",
    default=None,
    help="deployed customers feature group [env: CUSTOMERS_FEATURE_GROUP_NAME]",
)
@click.option(
    "--orders-group",
    envvar="ORDERS_FEATURE_GROUP_NAME",
    default=None,
    help="deployed orders feature group [env: ORDERS_FEATURE_GROUP_NAME]",
)
@click.option(
    "--endpoint-name",
    envvar="MODEL_ENDPOINT_NAME",
    default="featurestream-reorder",
    show_default=True,
    help="model endpoint [env: MODEL_ENDPOINT_NAME]",
)
@click.option(
    "--max-customers-age",
    envvar="MAX_CUSTOMERS_RECORD_AGE_SECONDS",
    type=click.FloatRange(min=0),
    default=None,
    metavar="SECONDS",
    help="seconds before a customer profile record is flagged stale; 0 = never "
    "[default: never] [env: MAX_CUSTOMERS_RECORD_AGE_SECONDS]",
)
@click.option(
    "--max-orders-age",
    envvar="MAX_ORDERS_RECORD_AGE_SECONDS",
    type=click.FloatRange(min=0),
    default=None,
    metavar="SECONDS",
    help="seconds before a latest-order record is flagged stale; 0 = never "
    "[default: 604800, 7 days] [env: MAX_ORDERS_RECORD_AGE_SECONDS]",
)
def command(
    *,
    host: str,
    port: int,
    token: str | None,
    customers_group: str | None,
    orders_group: str | None,
    endpoint_name: str,
    max_customers_age: float | None,
    max_orders_age: float | None,
) -> None:
    """Serve GET /customers/{customer_id}/features and POST /predictions on loopback.

    Calls without `Authorization: Bearer <token>` get 401. The handler reaches the store and
    the model through AWS_ENDPOINT_URL_SAGEMAKER_FEATURESTORE_RUNTIME and
    AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME (see `featurestream local env`, `featurestream endpoint up`).
    Each group's record is flagged stale past its own max age, as in the deployed function.
    """
    token = check_token(token)
    settings = {
        "CUSTOMERS_FEATURE_GROUP_NAME": customers_group,
        "ORDERS_FEATURE_GROUP_NAME": orders_group,
        "MODEL_ENDPOINT_NAME": endpoint_name,
        "MAX_CUSTOMERS_RECORD_AGE_SECONDS": _seconds(max_customers_age),
        "MAX_ORDERS_RECORD_AGE_SECONDS": _seconds(max_orders_age),
    }
    os.environ.update({name: value for name, value in settings.items() if value})
    os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")

    from devstack.standins.api_gateway import LocalHttpApi
    from featurestream.ingest.settings import ConfigError
    from featurestream.serving.settings import InferenceSettings

    try:
        InferenceSettings.from_env()
    except ConfigError as error:
        raise click.UsageError(f"{error} (or the matching --option)") from None
    from handlers.inference import lambda_handler

    if host not in ("127.0.0.1", "localhost", "::1"):
        click.echo(f"warning: binding {host}, reachable beyond this machine", err=True)
    try:
        api = LocalHttpApi(lambda_handler, token, host, port)
    except OSError as error:
        raise click.ClickException(f"cannot listen on {host}:{port}: {error}") from None
    click.echo(f"serving the inference API at {api.url} (Ctrl-C to stop)")
    click.echo(f"  curl -H 'Authorization: Bearer …' {api.url}/customers/C1/features")
    try:
        api.serve_forever()
    except KeyboardInterrupt:
        click.echo("stopped")


def _seconds(value: float | None) -> str | None:
    """The option as the handler's environment expects it (None: leave the variable alone)."""
    return None if value is None else repr(value)
