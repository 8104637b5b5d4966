"""``featurestream local``: the whole local stack (moto, Feature Store emulator, model
endpoint, trigger runner, inference API) in the background, provisioned from template.yaml.

State (pids, URLs, logs, data) lives in ``.state/`` (FEATURESTREAM_STATE_DIR overrides it).
"""

from __future__ import annotations

import contextlib
import json
import shlex
import shutil
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import click

if TYPE_CHECKING:
    from devstack.stack.deployment import DevStack
    from devstack.stack.process import BackgroundService

FC = TypeVar("FC", bound=Callable[..., object])


def _stack(**settings: object) -> DevStack:
    from devstack.stack.deployment import DevStack, StackConfig

    return DevStack(StackConfig.from_env(**settings))


def _port_option(name: str, service: str) -> Callable[[FC], FC]:
    return click.option(
        f"--{name}-port",
        type=int,
        default=0,
        help=f"Port of {service} (default: FEATURESTREAM_{name.upper().replace('-', '_')}_PORT, "
        "else the port it last ran on, else a free one).",
    )


@click.group(name="local")
def command() -> None:
    """Run the whole pipeline's AWS stand-ins on loopback (no AWS account)."""


@command.command()
@_port_option("moto", "moto (Kinesis, SQS, S3, DynamoDB, CloudWatch, Glue)")
@_port_option("featurestore", "the Feature Store emulator")
@_port_option("model-endpoint", "the model endpoint")
@_port_option("athena", "the Athena stand-in")
@_port_option("trigger", "the trigger runner's status endpoint")
@_port_option("api", "the inference API")
@click.option("--no-provision", is_flag=True, help="Start the services only.")
@click.option(
    "--offline-s3",
    is_flag=True,
    help="Write the offline store to the template's bucket in moto (default: .state/ folder).",
)
def up(  # noqa: PLR0917 - one option per port
    moto_port: int,
    featurestore_port: int,
    model_endpoint_port: int,
    athena_port: int,
    trigger_port: int,
    api_port: int,
    no_provision: bool,
    offline_s3: bool,
) -> None:
    """Start every service that is not running, then create the template's resources.

    Safe to run again on a running stack: nothing is created twice, and only a client that
    no longer fits (started against an address that changed, or a trigger runner older than
    moto) is restarted. A service that died comes back on the port it ran on.
    """
    from botocore.exceptions import BotoCoreError

    from devstack.stack.process import ServiceError

    stack = _stack(
        moto_port=moto_port,
        featurestore_port=featurestore_port,
        model_endpoint_port=model_endpoint_port,
        athena_port=athena_port,
        trigger_port=trigger_port,
        api_port=api_port,
        offline_to_s3=offline_s3,
    )
    try:
        stack.up(provision=not no_provision, on_step=click.echo)
    except ServiceError as exc:
        raise click.ClickException(str(exc)) from None
    except BotoCoreError as exc:  # e.g. a service died between its health check and now
        raise click.ClickException(f"provisioning failed: {exc}") from None
    from devstack.rigs.demo import next_steps

    click.echo("\nThe stack is running. Try:")
    for line in next_steps(stack.environment()):
        click.echo(f"  {line}")


@command.command()
@click.option(
    "--discard",
    is_flag=True,
    help="Stop even though moto holds unconsumed records, queued messages or objects "
    "(they are lost: moto keeps them in memory only).",
)
def down(discard: bool) -> None:
    """Stop the stack cleanly (consumers first; buffered offline rows are flushed).

    Refuses, listing the counts, while moto holds what a stop would lose: records after the
    trigger runner's checkpoint, messages in a queue, objects in a bucket.
    """
    from devstack.stack.process import ServiceError

    stack = _stack()
    if not discard:
        try:
            unsaved = stack.unsaved()
        except ServiceError as exc:
            raise click.ClickException(f"{exc}; stop anyway with --discard") from None
        if unsaved:
            lines = "\n".join(f"  {item.line()}" for item in unsaved)
            if not stack.trigger().status().running:
                lines += (
                    "\n  (the trigger runner is not running: every record counts as unconsumed)"
                )
            raise click.ClickException(
                "stopping would lose what moto keeps in memory only:\n"
                f"{lines}\n"
                "Let the trigger runner catch up (`featurestream local status`) and read the "
                "queues, or stop anyway with `featurestream local down --discard` "
                "(`make down DISCARD=1`)."
            )
    for name, stopped in stack.down():
        click.echo(f"{name:<14} {'stopped' if stopped else 'not running'}")


@command.command()
@click.option("--json", "as_json", is_flag=True, help="Also print the trigger runner's status.")
def status(as_json: bool) -> None:
    """Each service: running or not, URL, pid, health, log file; for the trigger runner and
    the API, whether the endpoints they were started with still answer. Exit 1 unless all
    is well."""
    from devstack.stack.process import StackFailure

    stack = _stack()
    all_up = True
    trigger_url = None
    for service in stack.services():
        st = service.status()
        all_up &= st.running and st.healthy
        state = ("healthy" if st.healthy else "unhealthy") if st.running else "stopped"
        last = service.url()
        detail = f"{st.url}  (pid {st.pid})" if st.running else f"(last at {last})" if last else ""
        click.echo(f"{st.name:<14} {state:<10} {detail}  log: {st.log_file}")
        if st.running and st.name in {"trigger", "api"}:
            all_up &= _show_dependencies(stack, service)
        if st.name == "trigger" and st.healthy:
            trigger_url = st.url
    if trigger_url:
        from devstack.stack.deployment import fetch_status

        doc = fetch_status(trigger_url)
        for name, function in doc.get("functions", {}).items():
            t = function["totals"]
            click.echo(
                f"  {name:<26} read {t['records_read']:>7}  processed {t['records_processed']:>7}"
                f"  behind {t['behind']:>6}  to on-failure {t['records_to_on_failure']}"
                f"  read errors {t['read_errors']}  caught up {'yes' if t['caught_up'] else 'no'}"
            )
            for shard_id, shard in function["shards"].items():
                if shard["consecutive_read_errors"]:
                    when = datetime.fromtimestamp(shard["last_read_error_at"], UTC)
                    click.echo(
                        f"    {shard_id}: {shard['consecutive_read_errors']} reads in a row "
                        f"failed, last at {when:%H:%M:%S} UTC: {shard['last_read_error']}"
                    )
        from monitoring.freshness_summary import summarize

        click.echo(
            "  freshness (s; event = business time to readable online, pipeline = "
            "Kinesis arrival to written):"
        )
        for line in summarize(stack.handler_log):
            click.echo(f"    {line}")
        if as_json:
            click.echo(json.dumps(doc, indent=1))
    if all_up:
        try:
            stack.watch()
        except StackFailure as failure:
            click.echo(f"problem: {failure}")
            all_up = False
    if not all_up:
        raise SystemExit(1)


def _show_dependencies(stack: DevStack, service: BackgroundService) -> bool:
    """One line per endpoint ``service`` was started with; False if one does not answer or
    its service moved elsewhere."""
    providers = {p.spec.name: p for p in stack.services()}
    fine = True
    for dependency in stack.dependencies(service):
        answers = providers[dependency.name].is_healthy(dependency.started_with)
        state = "answers" if answers else "does not answer"
        moved = f" ({dependency.name} now runs at {dependency.now})" if dependency.moved else ""
        click.echo(f"  uses {dependency.name:<14} {dependency.started_with}  {state}{moved}")
        fine &= answers and not dependency.moved
    return fine


@command.command()
def env() -> None:
    """Print ``export`` lines for the running stack: eval "$(featurestream local env)"."""
    from devstack.stack.process import ServiceError

    try:
        values = _stack().environment()
    except ServiceError as exc:
        raise click.ClickException(str(exc)) from None
    for key, value in values.items():
        click.echo(f"export {key}={shlex.quote(value)}")


@command.command()
@click.option("-f", "--follow", is_flag=True, help="Keep printing new lines (Ctrl-C stops).")
@click.option("-n", "--lines", "count", type=int, default=40, show_default=True)
@click.option("--raw", is_flag=True, help="Print the JSON lines as they are.")
def logs(follow: bool, count: int, raw: bool) -> None:
    """The handlers' structured logs (written by the trigger runner to .state/logs/)."""
    path = _stack().handler_log
    if not path.exists():
        raise click.ClickException(f"no handler log yet at {path}; is the stack up?")
    for line in path.read_text(errors="replace").splitlines()[-count:]:
        click.echo(line if raw else _format(line))
    if follow:
        with contextlib.suppress(KeyboardInterrupt):
            _follow(path, raw)


def _follow(path: Path, raw: bool) -> None:
    with path.open(errors="replace") as handle:
        handle.seek(0, 2)
        while True:
            line = handle.readline()
            if not line:
                time.sleep(0.2)
                continue
            click.echo(line.rstrip("\n") if raw else _format(line))


def _format(line: str) -> str:
    """``time level function message key=value`` from one JSON log line (counts, not data)."""
    try:
        record = json.loads(line)
    except ValueError:
        return line.rstrip("\n")
    if not isinstance(record, dict):
        return line.rstrip("\n")
    if "_aws" in record:  # an EMF metrics blob: name the counts only
        counts = {k: v for k, v in record.items() if k.startswith("Records") and v}
        text = " ".join(f"{k}={v}" for k, v in counts.items())
        return f"{record.get('service', '')} metrics {text}"
    when = str(record.get("time") or record.get("timestamp") or "")
    level = str(record.get("level") or record.get("type") or "")
    who = str(record.get("function") or record.get("service") or "")
    message = str(record.get("message") or "")
    skip = {"time", "timestamp", "level", "type", "function", "service", "message", "xray_trace_id"}
    extra = " ".join(f"{k}={v}" for k, v in record.items() if k not in skip and v is not None)
    return f"{when} {level:<8} {who} {message} {extra}".rstrip()


@command.command()
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def reset(yes: bool) -> None:
    """Stop the stack and wipe the state folder (streams, store, offline files, logs)."""
    stack = _stack()
    root = stack.state_dir
    if not yes:
        click.confirm(f"Stop the local stack and delete {root}?", abort=True)
    stack.down()
    shutil.rmtree(root, ignore_errors=True)
    click.echo(f"wiped {root}")
