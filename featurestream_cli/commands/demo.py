"""``featurestream demo``: the whole pipeline locally, CSV to prediction (``make demo``)."""

from __future__ import annotations

import sys
from pathlib import Path

import click


@click.command()
@click.option(
    "--customers",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    default="raw/customers.csv",
    show_default=True,
)
@click.option(
    "--orders",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    default="raw/orders.csv",
    show_default=True,
)
@click.option(
    "--show",
    "show",
    multiple=True,
    help="Customer id to show (repeat; default: the first three of the orders file).",
)
@click.option("--keep-running", is_flag=True, help="Leave the stack up afterwards to explore.")
@click.option(
    "--offline-s3", is_flag=True, help="Offline store to the bucket in moto (slower; see docs)."
)
@click.option(
    "--timeout",
    type=float,
    default=900.0,
    show_default=True,
    help="Seconds to wait for the consumers.",
)
def command(  # noqa: PLR0917 - one parameter per option
    customers: Path,
    orders: Path,
    show: tuple[str, ...],
    keep_running: bool,
    offline_s3: bool,
    timeout: float,
) -> None:
    """Start the local stack, replay both CSVs, wait for the consumers, show features and
    predictions, then stop the stack (unless --keep-running, or it was already up)."""
    from botocore.exceptions import BotoCoreError, ClientError

    from devstack.rigs.demo import Demo, DemoError, DemoOptions, next_steps
    from devstack.stack.deployment import StackConfig
    from devstack.stack.process import ServiceError
    from producers.sources import SourceFileError

    options = DemoOptions(
        customers=customers,
        orders=orders,
        show=show,
        keep_running=keep_running,
        catch_up_timeout=timeout,
        config=StackConfig.from_env(offline_to_s3=offline_s3),
    )
    demo = Demo(options, say=click.echo, err=sys.stderr)
    try:
        demo.run()
    except (DemoError, ServiceError, SourceFileError) as exc:
        raise click.ClickException(str(exc)) from None
    except (BotoCoreError, ClientError, OSError) as exc:  # a local service went away
        raise click.ClickException(
            f"{exc}; see `featurestream local status` and the logs in .state/logs/"
        ) from None
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        raise SystemExit(130) from None
    if keep_running or demo.stack.services()[0].status().running:
        click.echo("\nThe stack is still running. Try:")
        for line in next_steps(demo.env):
            click.echo(f"  {line}")
