"""The whole local stack: moto, the Feature Store emulator, the model endpoint, the Athena
stand-in, the trigger runner and the inference API, as background services on loopback,
started in dependency order and provisioned from ``template.yaml``.

Ports come from :class:`StackConfig` (0 = the port the service last ran on, else a free
one). A port already taken is refused up front with a message naming the service and the
option to change, instead of a service dying mid-start. Each service's URL is recorded under
``.state/run/`` by :class:`devstack.stack.process.BackgroundService`, so ``featurestream local
env/status/down`` work from any later shell. Endpoints reach the handlers only through
``AWS_ENDPOINT_URL_*``; a client started against an address that changed since, or a trigger
runner whose moto restarted under it, is restarted by ``up``.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import sys
import time
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from devstack.stack.process import (
    BackgroundService,
    PortInUseError,
    ServiceError,
    ServiceSpec,
    ServiceStatus,
    StackFailure,
    port_held,
    state_root,
)

if TYPE_CHECKING:
    from devstack.stack.template import Stack, Template
    from devstack.stack.unsaved import Unsaved

REGION: Final = "us-east-1"
STACK_NAME: Final = "featurestream"
_MOTO_DUMMY: Final = "testing"
CREDENTIALS: Final = {  # moto's dummy credentials, local stack only
    "AWS_ACCESS_KEY_ID": _MOTO_DUMMY,
    "AWS_SECRET_ACCESS_KEY": _MOTO_DUMMY,
    "AWS_SESSION_TOKEN": _MOTO_DUMMY,
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
}
TOKEN_FILE: Final = "api-token"  # noqa: S105 - a file name, not a secret
API_ENDPOINT_ENV: Final = "FEATURESTREAM_API_URL"
INFERENCE_FUNCTION: Final = "InferenceFunction"
STOP_TIMEOUTS: Final = {"featurestore": 120.0}
"""Seconds before SIGKILL follows SIGTERM (default 15)."""
CONSUMERS_READING_TIMEOUT: Final = 30.0
"""Seconds ``up`` gives every shard consumer to complete its first read."""


@dataclass(frozen=True)
class StackConfig:
    """Ports (0 = pick a free one), template, stack name and state folder."""

    moto_port: int = 0
    featurestore_port: int = 0
    model_endpoint_port: int = 0
    athena_port: int = 0
    trigger_port: int = 0
    api_port: int = 0
    template: Path = Path("template.yaml")
    stack_name: str = STACK_NAME
    model_dir: Path = Path("model")
    state_dir: Path | None = None
    offline_to_s3: bool = False
    """Offline store Parquet to moto's S3 bucket instead of the emulator's local folder (same
    key layout). Off by default: a replay writes about one file per event (one per event-time
    hour partition), and through moto's S3 that doubles the emulator's cost."""
    trigger_poll_interval: float = 0.5
    """Seconds between GetRecords calls on a shard that is not behind (Lambda: about 1)."""
    trigger_max_workers: int = 2
    parameters: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_env(cls, **overrides: object) -> StackConfig:
        """Ports from ``FEATURESTREAM_<SERVICE>_PORT`` unless given explicitly."""
        ports = {
            "moto_port": "FEATURESTREAM_MOTO_PORT",
            "featurestore_port": "FEATURESTREAM_FEATURESTORE_PORT",
            "model_endpoint_port": "FEATURESTREAM_MODEL_ENDPOINT_PORT",
            "athena_port": "FEATURESTREAM_ATHENA_PORT",
            "trigger_port": "FEATURESTREAM_TRIGGER_PORT",
            "api_port": "FEATURESTREAM_API_PORT",
        }
        values: dict[str, object] = {k: int(os.environ.get(v, "0") or 0) for k, v in ports.items()}
        values.update({k: v for k, v in overrides.items() if v not in (None, 0)})
        return cls(**values)  # type: ignore[arg-type]

    @property
    def root(self) -> Path:
        return (self.state_dir or state_root()).resolve()


@dataclass(frozen=True)
class Dependency:
    """A service another one was started against: where it was then, where it is now."""

    name: str
    started_with: str
    now: str | None

    @property
    def moved(self) -> bool:
        return self.now is not None and self.now != self.started_with


class DevStack:
    """The services of the local stack and their order; no provisioning (see ``up``)."""

    def __init__(self, config: StackConfig | None = None) -> None:
        self.config = config or StackConfig.from_env()
        self.state_dir = self.config.root

    # -- services ----------------------------------------------------------------------------

    def _service(self, spec: ServiceSpec) -> BackgroundService:
        return BackgroundService(spec, self.state_dir)

    def moto(self) -> BackgroundService:
        from devstack.standins.moto_service import moto_spec

        return self._service(moto_spec(self.config.moto_port))

    def featurestore(self, s3_endpoint: str | None = None) -> BackgroundService:
        from devstack.standins.featurestore.service import featurestore_spec

        return self._service(featurestore_spec(self.config.featurestore_port, s3_endpoint))

    def model_endpoint(self) -> BackgroundService:
        from devstack.standins.model_endpoint.service import model_endpoint_spec

        spec = model_endpoint_spec(
            self.config.model_dir, self.model_endpoint_name(), self.config.model_endpoint_port
        )
        return self._service(spec)

    def athena(self) -> BackgroundService:
        from devstack.standins.athena.service import athena_spec

        return self._service(athena_spec(self.config.athena_port))

    def trigger(self, env: dict[str, str] | None = None) -> BackgroundService:
        cfg = self.config
        argv = (
            sys.executable,
            "-m",
            "devstack.standins.trigger",
            "--template",
            str(cfg.template.resolve()),
            "--stack-name",
            cfg.stack_name,
            "--status-host",
            "{host}",
            "--status-port",
            "{port}",
            "--poll-interval",
            str(cfg.trigger_poll_interval),
            "--max-workers",
            str(cfg.trigger_max_workers),
            "--log-file",
            str(self.handler_log),
            *(
                ["--parameter-overrides", *(f"{k}={v}" for k, v in cfg.parameters.items())]
                if cfg.parameters
                else []
            ),
        )
        spec = ServiceSpec("trigger", argv, cfg.trigger_port, health_path="/health", env=env or {})
        return self._service(spec)

    def api(
        self, env: dict[str, str] | None = None, *, create_token: bool = False
    ) -> BackgroundService:
        """``featurestream serve`` with the inference function's environment from the
        template (group names, endpoint name, max record ages), as Lambda would get it.
        Only a start creates the token file: looking at the stack writes nothing."""
        argv = (
            sys.executable,
            "-m",
            "featurestream_cli",
            "serve",
            "--host",
            "{host}",
            "--port",
            "{port}",
        )
        env = {
            **self.inference_environment(),
            **(env or {}),
            "FEATURESTREAM_API_TOKEN": self.api_token(create=create_token),
        }
        spec = ServiceSpec("api", argv, self.config.api_port, env=env)
        return self._service(spec)

    def _template_stack(self) -> tuple[Template, Stack]:
        """The template and its resources as this stack names them; ``TemplateError`` if the
        template cannot be read."""
        from devstack.stack.template import Template, local_stack

        template = Template.load(self.config.template)
        stack = local_stack(
            template, name=self.config.stack_name, parameters=dict(self.config.parameters)
        )
        return template, stack

    def inference_environment(self) -> dict[str, str]:
        """The template's ``InferenceFunction`` environment, or the group names alone."""
        from devstack.stack.template import TemplateError

        name = self.config.stack_name
        fallback = {
            "CUSTOMERS_FEATURE_GROUP_NAME": f"{name}-customers",
            "ORDERS_FEATURE_GROUP_NAME": f"{name}-orders",
        }
        try:
            template, stack = self._template_stack()
            spec = template.function(INFERENCE_FUNCTION)
            resolved = template.resolve(spec.environment, stack)
        except TemplateError:
            return fallback
        return {**fallback, **{k: str(v) for k, v in resolved.items()}}

    def model_endpoint_name(self) -> str:
        """The endpoint the inference function calls (the template's MODEL_ENDPOINT_NAME)."""
        from devstack.standins.model_endpoint.service import DEFAULT_ENDPOINT_NAME

        return self.inference_environment().get("MODEL_ENDPOINT_NAME", DEFAULT_ENDPOINT_NAME)

    def services(self) -> list[BackgroundService]:
        """Every service in start order (specs only: enough for status, env and stop)."""
        return [
            self.moto(),
            self.featurestore(),
            self.model_endpoint(),
            self.athena(),
            self.trigger(),
            self.api(),
        ]

    @property
    def handler_log(self) -> Path:
        return self.state_dir / "logs" / "handlers.log"

    def api_token(self, *, create: bool = False) -> str:
        """The local API's bearer token: random per state folder, kept in ``.state/run/``
        ("" when there is none and ``create`` is false)."""
        path = self.state_dir / "run" / TOKEN_FILE
        if path.is_file():
            return path.read_text().strip()
        if not create:
            return ""
        path.parent.mkdir(parents=True, exist_ok=True)
        token = secrets.token_urlsafe(18)
        path.write_text(token)
        path.chmod(0o600)
        return token

    # -- environment -------------------------------------------------------------------------

    def environment(self) -> dict[str, str]:
        """Credentials and ``AWS_ENDPOINT_URL_*`` of the running services (raises if down)."""
        env = dict(CREDENTIALS)
        for service in self.services():
            status = service.status()
            if not status.running or status.url is None:
                raise ServiceError(
                    f"{service.spec.name} is not running; start the stack with "
                    "`featurestream local up`"
                )
            env.update(dict.fromkeys(service.spec.endpoint_env, status.url))
            if service.spec.name == "api":
                env[API_ENDPOINT_ENV] = status.url
                env["FEATURESTREAM_API_TOKEN"] = self.api_token()
            if service.spec.name == "trigger":
                env["FEATURESTREAM_TRIGGER_URL"] = status.url
        return env

    # -- lifecycle ---------------------------------------------------------------------------

    def check_ports(self) -> None:
        """Refuse a port another program holds: a configured one, or the one a stopped
        service last ran on (its clients use that address); our own running service is fine."""
        cfg = self.config
        wanted = {
            "moto": (cfg.moto_port, "--moto-port / FEATURESTREAM_MOTO_PORT"),
            "featurestore": (cfg.featurestore_port, "--featurestore-port"),
            "model-endpoint": (cfg.model_endpoint_port, "--model-endpoint-port"),
            "athena": (cfg.athena_port, "--athena-port"),
            "trigger": (cfg.trigger_port, "--trigger-port"),
            "api": (cfg.api_port, "--api-port"),
        }
        for service in self.services():
            configured, option = wanted[service.spec.name]
            port = configured or service.last_port()
            if not port or service.status().running or not port_held(port):
                continue
            where = "" if configured else ", where it last ran (its clients use that address),"
            raise PortInUseError(
                f"port {port} for {service.spec.name}{where} is already in use by another "
                f"program; stop that program, or choose another with {option} (0 = any free "
                "port); `featurestream local up` then restarts the clients"
            )

    def up(
        self,
        provision: bool = True,
        on_step: Callable[[str], None] | None = None,
    ) -> list[str]:
        """Start whatever is not running, in order, then provision; returns report lines
        (also passed to ``on_step``, in order, with one line per started service).

        Services that depend on endpoints get them in their environment, exactly as
        ``featurestream local env`` prints them. A running trigger runner or API started
        against an address that changed, or a trigger runner older than moto (whose streams
        are then new), is restarted.
        """
        say = on_step or (lambda _msg: None)
        self.check_ports()
        env = dict(CREDENTIALS)
        # The emulator registers each offline table in moto's Glue (and, with offline_to_s3,
        # writes Parquet to moto's S3), so it needs moto's URL: moto starts first.
        moto = self.moto().start()
        env.update(dict.fromkeys(self.moto().spec.endpoint_env, moto.url or ""))
        say(f"{'up':<8} {'moto':<14} {moto.url}")
        s3 = moto.url if self.config.offline_to_s3 else None
        first = [
            replace_env(self.featurestore(s3), env),
            self.model_endpoint(),
            replace_env(self.athena(), env),
        ]
        for status in _start_together(first):
            env.update(dict.fromkeys(_endpoint_env(status.name), status.url or ""))
            say(f"{'up':<8} {status.name:<14} {status.url}")
        lines = self.provision(env) if provision else []
        self._register_offline_tables()
        for line in lines:
            say(line)
        clients = [self.trigger(env), self.api(env, create_token=True)]
        for client in clients:
            reason = self.stale(client, env)
            if reason:
                say(f"{'restart':<8} {client.spec.name:<14} {reason}")
                client.stop(timeout=STOP_TIMEOUTS.get(client.spec.name, 15.0))
        for status in _start_together(clients):
            say(f"{'up':<8} {status.name:<14} {status.url}")
        self.wait_until_reading()
        return lines

    def _register_offline_tables(self) -> None:
        """Have the emulator (re)register its offline tables in moto's Glue: moto keeps them
        in memory, so a moto restarted under a running emulator comes back without them."""
        url = self.featurestore().url()
        request = urllib.request.Request(  # noqa: S310  # local emulator URL
            f"{url}/_emulator/glue", data=b"{}", method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=30):  # noqa: S310  # nosec B310  # local emulator URL
                pass
        except OSError as error:
            raise ServiceError(f"the emulator did not register its Glue tables: {error}") from None

    def dependencies(self, service: BackgroundService) -> list[Dependency]:
        """The services ``service`` was started against: address then, address now."""
        started_with = service.started_with()
        found = []
        for provider in self.services():
            urls = {started_with[v] for v in provider.spec.endpoint_env if v in started_with}
            now = provider.url() if provider.is_running() else None
            found += [Dependency(provider.spec.name, url, now) for url in sorted(urls)]
        return found

    def endpoints(self) -> dict[str, str]:
        """``AWS_ENDPOINT_URL_*`` of the services running now (the ones down are left out)."""
        found: dict[str, str] = {}
        for provider in (self.moto(), self.featurestore(), self.model_endpoint(), self.athena()):
            url = provider.url()
            if url and provider.is_running():
                found.update(dict.fromkeys(provider.spec.endpoint_env, url))
        return found

    def stale(self, service: BackgroundService, env: dict[str, str] | None = None) -> str | None:
        """Why a running ``service`` no longer fits the stack (None: it fits): an endpoint it
        was started with differs from the current one (``env``, default: the running
        services'), or, for the trigger runner, moto restarted after it (the streams it
        holds positions in were created anew). Reads recorded state only: cheap to poll."""
        if not service.is_running():
            return None
        current = self.endpoints() if env is None else env
        for name, url in sorted(service.started_with().items()):
            now = current.get(name)
            if now is not None and now != url:
                return f"(started with {name}={url}, now {now})"
        moto_since = self.moto().started_at()
        since = service.started_at()
        if service.spec.name == "trigger" and moto_since and since and moto_since > since:
            return "(moto restarted after it: its streams are new, its positions in them are not)"
        return None

    def watch(self) -> dict[str, Any]:
        """The trigger runner's status, once every service is alive, no client holds a stale
        endpoint and no consumer keeps failing to read; otherwise :class:`StackFailure` at
        once, with the error (and, for a failed read or a dead service, the exception from
        the stand-in's own log). Every loop that waits on the stack polls this, so a broken
        part ends the wait in seconds.
        """
        for service in self.services():
            if not service.is_running():
                raise StackFailure(
                    f"{service.spec.name} is not running any more"
                    + _log_detail(service)
                    + f"; see {service.log_file}"
                )
        for client in (self.trigger(), self.api()):
            reason = self.stale(client)
            if reason:
                raise StackFailure(
                    f"{client.spec.name} no longer fits the stack {reason}; "
                    "`featurestream local up` restarts it"
                )
        trigger = self.trigger()
        url = trigger.url()
        try:
            status = fetch_status(url or "")
        except (OSError, ValueError) as error:
            raise StackFailure(
                f"the trigger runner does not answer at {url}: {error}{_log_detail(trigger)}"
            ) from None
        if status.get("failing"):
            raise StackFailure("; ".join(status["failing"]) + _log_detail(self.moto()))
        return status

    def wait_until_reading(self, timeout: float = CONSUMERS_READING_TIMEOUT) -> None:
        """Return once every mapping found its stream and read each shard at least once;
        :class:`StackFailure` if a part fails meanwhile or ``timeout`` runs out."""
        deadline = time.monotonic() + timeout
        while True:
            waiting = _not_reading(self.watch())
            if not waiting:
                return
            if time.monotonic() > deadline:
                raise StackFailure(
                    f"the trigger runner has not read {', '.join(waiting)} within "
                    f"{timeout:.0f} s; see {self.trigger().log_file}"
                )
            time.sleep(0.1)

    def provision(self, env: dict[str, str]) -> list[str]:
        """Create the template's resources on the running services (idempotent)."""
        from devstack.stack.provision import provision as run
        from devstack.stack.template import Template

        with _environ(env):
            report = run(
                Template.load(self.config.template),
                stack_name=self.config.stack_name,
                parameters=self.config.parameters,
                region=REGION,
            )
        if not report.ok:
            failed = "; ".join(f"{r.logical_id}: {r.detail}" for r in report.by_outcome("failed"))
            raise ServiceError(f"provisioning failed: {failed}")
        return report.lines()

    def unsaved(self) -> list[Unsaved]:
        """What stopping the stack would lose (moto keeps it in memory only); empty when
        moto is not running. Records count from the trigger runner's checkpoint if it runs,
        else all of them. Raises :class:`ServiceError` if moto does not answer."""
        from botocore.exceptions import BotoCoreError, ClientError

        from devstack.stack.unsaved import count_unsaved

        moto = self.moto().status()
        if not moto.running or moto.url is None:
            return []
        trigger = self.trigger().status()
        doc = None
        if trigger.running and trigger.url:
            with contextlib.suppress(OSError, ValueError):
                doc = fetch_status(trigger.url)
        try:
            return count_unsaved(_moto_clients(moto.url), doc, self._disposable_buckets())
        except (BotoCoreError, ClientError) as error:
            raise ServiceError(f"cannot count what moto holds at {moto.url}: {error}") from None

    def _disposable_buckets(self) -> frozenset[str]:
        """The template's Athena results bucket: query results, not data (docs/offline.md)."""
        from devstack.stack.template import TemplateError

        try:
            _, stack = self._template_stack()
        except TemplateError:
            return frozenset()
        name = stack.refs.get("AthenaResultsBucket")
        return frozenset({name}) if name else frozenset()

    def down(self) -> list[tuple[str, bool]]:
        """Stop in reverse order (consumers before the stores they write to). Stops
        whatever moto holds with it: ask :meth:`unsaved` first.

        The emulator gets longer: on SIGTERM it moves every journaled offline row to Parquet,
        which after a full replay takes a while (docs/local-stack.md); they are durable in
        its SQLite file either way, but a clean stop leaves none to move at the next start.
        """
        return [
            (s.spec.name, s.stop(timeout=STOP_TIMEOUTS.get(s.spec.name, 15.0)))
            for s in reversed(self.services())
        ]


def fetch_status(trigger_url: str, timeout: float = 5.0) -> dict[str, Any]:
    """The trigger runner's ``GET /status`` document (counts and lag per function/shard)."""
    with urllib.request.urlopen(f"{trigger_url}/status", timeout=timeout) as response:  # noqa: S310  # nosec B310  # local trigger URL
        doc: dict[str, Any] = json.loads(response.read())
    return doc


def _moto_clients(url: str) -> Callable[[str], Any]:
    """boto3 clients on moto at ``url``: short timeouts, two attempts (a stuck moto is an
    error in seconds, not a hang)."""
    import boto3
    from botocore.config import Config

    config = Config(
        retries={"mode": "standard", "total_max_attempts": 2}, connect_timeout=2, read_timeout=30
    )
    keys = {
        "aws_access_key_id": CREDENTIALS["AWS_ACCESS_KEY_ID"],
        "aws_secret_access_key": CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        "aws_session_token": CREDENTIALS["AWS_SESSION_TOKEN"],
    }

    def client(service: str) -> Any:
        return boto3.client(  # type: ignore[call-overload]
            service, endpoint_url=url, region_name=REGION, config=config, **keys
        )

    return client


def _log_detail(service: BackgroundService) -> str:
    error = service.last_error()
    return f"; {service.spec.name}'s log says: {error}" if error else ""


def _not_reading(status: dict[str, Any]) -> list[str]:
    """The streams and shards the runner has not yet read once."""
    waiting = []
    for function in status.get("functions", {}).values():
        if not function["stream_found"]:
            waiting.append(function["stream"])
        waiting += [
            f"{function['stream']} {shard_id}"
            for shard_id, shard in function["shards"].items()
            if shard["last_poll"] is None
        ]
    return waiting


def _endpoint_env(name: str) -> tuple[str, ...]:
    from devstack.standins.athena.service import ENDPOINT_ENV as ATHENA
    from devstack.standins.featurestore.service import ENDPOINT_ENV as STORE
    from devstack.standins.model_endpoint.service import ENDPOINT_ENV as MODEL
    from devstack.standins.moto_service import ENDPOINT_ENV as MOTO

    return {"featurestore": STORE, "model-endpoint": MODEL, "moto": MOTO, "athena": ATHENA}.get(
        name, ()
    )


def _start_together(
    services: list[BackgroundService], timeout: float = 90.0
) -> list[ServiceStatus]:
    """Start services in parallel (their start-up is mostly imports) and wait for all."""
    with ThreadPoolExecutor(len(services)) as pool:
        futures = [pool.submit(service.start, timeout) for service in services]
        return [future.result() for future in futures]


def replace_env(service: BackgroundService, env: dict[str, str]) -> BackgroundService:
    """The same service with ``env`` added to its process environment."""
    spec = replace(service.spec, env={**service.spec.env, **env})
    return BackgroundService(spec, service.state_dir)


class _environ:
    """Set environment variables for a block (provisioning runs in this process)."""

    def __init__(self, values: dict[str, str]) -> None:
        self.values = values
        self.saved: dict[str, str | None] = {}

    def __enter__(self) -> None:
        for key, value in self.values.items():
            self.saved[key] = os.environ.get(key)
            os.environ[key] = value

    def __exit__(self, *exc: object) -> None:
        for key, value in self.saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
