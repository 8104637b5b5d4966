"""``featurestream publish``: events as JSON lines (a failed-events file, stdin) → streams."""

import os
import sys
from pathlib import Path

import click

from featurestream_cli.commands.replay import (
    EXIT_CODES_HELP,
    BadInputFile,
    echo_lines,
    on_error_option,
    stream_options,
)


@click.command(epilog=EXIT_CODES_HELP)
@click.argument("input_path", metavar="[FILE]", default="-")
@stream_options
@on_error_option
@click.option(
    "--failed-file",
    type=click.Path(path_type=Path, dir_okay=False),
    default=Path("failed-events.jsonl"),
    show_default=True,
    help="events that still fail are written here; when it is FILE itself, FILE is "
    "rewritten to hold only what still failed (removed if nothing did)",
)
@click.pass_context
def command(
    ctx: click.Context,
    *,
    input_path: str,
    customer_stream: str,
    order_stream: str,
    on_error: str,
    failed_file: Path,
) -> None:
    """Publish events given as JSON lines, one event per line, from FILE or stdin (-).

    Each event is validated before sending and routed by event_type: customer.* to the
    customer stream, order.* to the order stream. Re-publishes a replay's failed-events
    file. With --on-error fail, an invalid line stops the run (earlier lines were sent).
    """
    from producers.jsonlines import append_failures
    from producers.publisher import EventPublisher, PublishError
    from producers.republish import publish_lines
    from producers.streams import StreamNames

    rewrite = input_path != "-" and _same_file(Path(input_path), failed_file)
    try:
        handle = sys.stdin.buffer if input_path == "-" else Path(input_path).open("rb")  # noqa: SIM115
    except OSError as error:
        raise BadInputFile(f"{input_path}: cannot open ({error.strerror})") from error
    try:
        publisher = EventPublisher(
            StreamNames(customer=customer_stream, order=order_stream), flush_at_exit=False
        )
    except PublishError as error:
        raise click.ClickException(str(error)) from error
    with handle:
        summary = publish_lines(
            handle,
            publisher,
            source_name="<stdin>" if input_path == "-" else input_path,
            on_error=on_error,  # type: ignore[arg-type]  # click.Choice guarantees it
            on_invalid=lambda message: click.echo(f"invalid event: {message}", err=True),
        )
    if rewrite:
        temporary = failed_file.with_name(failed_file.name + ".tmp")
        temporary.unlink(missing_ok=True)
        append_failures(temporary, summary.failures)
        if summary.failures:
            os.replace(temporary, failed_file)
        else:
            failed_file.unlink(missing_ok=True)
    else:
        append_failures(failed_file, summary.failures)
    lines = summary.summary_lines()
    if summary.failures:
        lines.append(f"failed events written to {failed_file}")
    echo_lines(lines)
    ctx.exit(summary.exit_code)


def _same_file(first: Path, second: Path) -> bool:
    try:
        return first.resolve() == second.resolve()
    except OSError:
        return False
