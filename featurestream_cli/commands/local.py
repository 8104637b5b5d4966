"""``featurestream local``: run the local stand-ins for AWS in the background.

Today the stack is the Feature Store emulator; further services (moto, the trigger
runner) join by adding a ``ServiceSpec`` to ``_stack``. State lives in ``.state/``.
"""

from __future__ import annotations

import os
import shlex
import shutil
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from devstack.process import BackgroundService

REGION = "us-east-1"


def _stack(
    featurestore_port: int = 0, offline_s3_endpoint: str | None = None
) -> list[BackgroundService]:
    from devstack.featurestore.service import featurestore_spec
    from devstack.process import BackgroundService

    port = featurestore_port or int(os.environ.get("FEATURESTREAM_FEATURESTORE_PORT", "0"))
    return [BackgroundService(featurestore_spec(port, offline_s3_endpoint))]


@click.group(name="local")
def command() -> None:
    """Run the local stack (Feature Store emulator) in the background."""


@command.command()
@click.option("--featurestore-port", type=int, default=0, help="Port (default: a free one).")
@click.option(
    "--offline-s3-endpoint",
    default=None,
    help="Write offline-store Parquet to this S3 endpoint (e.g. moto) instead of .state/.",
)
def up(featurestore_port: int, offline_s3_endpoint: str | None) -> None:
    """Start every service that is not already running."""
    from devstack.process import ServiceError

    for service in _stack(featurestore_port, offline_s3_endpoint):
        try:
            status = service.start()
        except ServiceError as exc:
            raise click.ClickException(str(exc)) from None
        click.echo(f"{status.name:<14} up   {status.url}  (pid {status.pid})")
    click.echo('Point boto3 and the AWS CLI at it with:  eval "$(featurestream local env)"')


@command.command()
def down() -> None:
    """Stop the stack cleanly (buffered offline rows are flushed first)."""
    for service in reversed(_stack()):
        stopped = service.stop()
        click.echo(f"{service.spec.name:<14} {'stopped' if stopped else 'not running'}")


@command.command()
def status() -> None:
    """Show each service: running or not, URL, pid, health, log file."""
    all_up = True
    for service in _stack():
        st = service.status()
        all_up &= st.running and st.healthy
        state = ("healthy" if st.healthy else "unhealthy") if st.running else "stopped"
        detail = f"{st.url}  (pid {st.pid})" if st.running else ""
        click.echo(f"{st.name:<14} {state:<10} {detail}  log: {st.log_file}")
    if not all_up:
        raise SystemExit(1)


@command.command()
def env() -> None:
    """Print ``export`` lines for the running stack: eval "$(featurestream local env)"."""
    lines = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
    }
    for service in _stack():
        st = service.status()
        if not st.running or st.url is None:
            raise click.ClickException(
                f"{service.spec.name} is not running; start it with `featurestream local up`"
            )
        lines.update(dict.fromkeys(service.spec.endpoint_env, st.url))
    for key, value in lines.items():
        click.echo(f"export {key}={shlex.quote(value)}")


@command.command()
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def reset(yes: bool) -> None:
    """Stop the stack and wipe the state folder (online store, offline files, logs)."""
    from devstack.process import state_root

    root = state_root()
    if not yes:
        click.confirm(f"Stop the local stack and delete {root}?", abort=True)
    for service in reversed(_stack()):
        service.stop()
    shutil.rmtree(root, ignore_errors=True)
    click.echo(f"wiped {root}")
