"""``featurestream endpoint``: the local model endpoint (InvokeEndpoint) in the background."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from devstack.stack.process import BackgroundService


def _service(model_dir: Path = Path("model"), name: str = "", port: int = 0) -> BackgroundService:
    from devstack.stack.process import BackgroundService
    from devstack.standins.model_endpoint.service import DEFAULT_ENDPOINT_NAME, model_endpoint_spec

    return BackgroundService(model_endpoint_spec(model_dir, name or DEFAULT_ENDPOINT_NAME, port))


@click.group(name="endpoint")
def command() -> None:
    """Serve model/ behind a local SageMaker-runtime InvokeEndpoint on loopback."""


@command.command()
@click.option("--model-dir", type=click.Path(path_type=Path, file_okay=False), default="model")
@click.option("--endpoint-name", default="", help="[default: featurestream-reorder]")
@click.option(
    "--port", type=int, default=0, help="Port (default: the one it last ran on, else a free one)."
)
def up(model_dir: Path, endpoint_name: str, port: int) -> None:
    """Start the endpoint unless it is running; prints the variable to export.

    It comes back on the port it last ran on, so clients started against it keep working.
    """
    from devstack.stack.process import ServiceError

    service = _service(model_dir, endpoint_name, port)
    try:
        status = service.start()
    except ServiceError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{status.name:<14} up   {status.url}  (pid {status.pid})")
    click.echo(f"export AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME={status.url}")


@command.command()
def down() -> None:
    """Stop the endpoint (its port stays recorded: the next up takes it again)."""
    service = _service()
    click.echo(f"{service.spec.name:<14} {'stopped' if service.stop() else 'not running'}")


@command.command()
def status() -> None:
    """Running or not, URL, pid, health and log file; exit 1 unless healthy."""
    service = _service()
    st = service.status()
    state = ("healthy" if st.healthy else "unhealthy") if st.running else "stopped"
    where = st.url if st.running else f"(last at {service.url()})" if service.url() else ""
    click.echo(f"{st.name:<14} {state:<10} {where}  log: {st.log_file}")
    if not (st.running and st.healthy):
        raise SystemExit(1)
