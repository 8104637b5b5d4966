"""``featurestream publish``: events as JSON lines (a failed-events file, stdin) → streams."""

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
from producers.exit_codes import EXIT_FAILED


@click.command(epilog=EXIT_CODES_HELP)
@click.argument("input_path", metavar="[FILE]", default="-")
@stream_options
@on_error_option
@click.option(
    "--failed-file",
    type=click.Path(path_type=Path, dir_okay=False),
    default=Path("failed-events.jsonl"),
    show_default=True,
    help="events read but not sent (failed, or stopped by a stream error) are appended "
    "here; when it is FILE itself, FILE is rewritten without the lines Kinesis accepted",
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
    file: it then shrinks by exactly the lines Kinesis accepted (invalid, failed and unsent
    lines stay; it is removed once empty). With --on-error fail, an invalid line stops the
    run (earlier lines were sent).
    """
    from producers.files import OutputError, check_writable
    from producers.jsonlines import append_events
    from producers.publisher import EventPublisher, PublishError
    from producers.republish import publish_lines, remove_acknowledged
    from producers.streams import StreamNames

    source = None if input_path == "-" else Path(input_path)
    rewrite = source is not None and _same_file(source, failed_file)
    try:
        check_writable(failed_file)
    except OutputError as error:
        raise click.BadParameter(str(error), param_hint="--failed-file") from error
    try:
        handle = sys.stdin.buffer if source is None else source.open("rb")
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
            source_name="<stdin>" if source is None else input_path,
            on_error=on_error,  # type: ignore[arg-type]  # click.Choice guarantees it
            on_invalid=lambda message: click.echo(f"invalid event: {message}", err=True),
        )
    lines = summary.summary_lines()
    exit_code = summary.exit_code
    if source is not None and rewrite:
        try:
            lines.append(_rewritten(source, remove_acknowledged(source, summary.acknowledged)))
        except OSError as error:  # write-then-rename: the file still holds every line
            lines.append(f"error     {error}; {source} is unchanged")
            exit_code = exit_code or EXIT_FAILED
    else:
        unsent = [failure.event for failure in summary.failures] + summary.unsent
        try:
            if append_events(failed_file, unsent):
                lines.append(f"{len(unsent)} events not sent written to {failed_file}")
        except OutputError as error:
            ids = ", ".join(event.event_id for event in unsent[:20])
            lines.append(f"error     {error}; events not sent and not saved: {ids}")
            exit_code = exit_code or EXIT_FAILED
    echo_lines(lines)
    ctx.exit(exit_code)


def _rewritten(path: Path, kept: int | None) -> str:
    if kept is None:
        return f"{path} unchanged (Kinesis accepted none of its lines)"
    if kept == 0:
        return f"{path} removed (Kinesis accepted every line)"
    return f"{path} now holds the {kept} lines not sent (invalid, failed or not reached)"


def _same_file(first: Path, second: Path) -> bool:
    try:
        return first.resolve() == second.resolve()
    except OSError:
        return False
