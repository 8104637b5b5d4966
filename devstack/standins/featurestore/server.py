"""``FeatureStoreEmulator``: the embedded store plus its HTTP front end, in one object.

Use it in-process (tests, benchmarks) as a context manager or with start()/stop(), or run
``python -m devstack.standins.featurestore`` for a background process (see devstack.stack.process).
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path
from typing import Any

from devstack.stack.lifecycle import Startable
from devstack.standins.featurestore.catalog import Catalog
from devstack.standins.featurestore.config import (
    EmulatorConfig,
    FaultConfig,
    FaultSettingsError,
    TiePolicy,
)
from devstack.standins.featurestore.controlplane import ControlPlane
from devstack.standins.featurestore.database import Database
from devstack.standins.featurestore.errors import ApiError
from devstack.standins.featurestore.glue import GlueRegistrar
from devstack.standins.featurestore.httpserver import HandlerStats, HttpServer
from devstack.standins.featurestore.offline import OfflineStore
from devstack.standins.featurestore.online import OnlineStore
from devstack.standins.featurestore.protocol import Request, Router, parse_json_object
from devstack.standins.featurestore.runtime import format_instant

log = logging.getLogger("devstack.standins.featurestore")


def _warm_parquet_writer() -> None:
    """Import pyarrow (which drags in pandas on first use) before serving.

    Done lazily, that import holds the GIL for a second or more in the middle of traffic
    on the first offline flush; at start-up it costs the same once and stalls nobody.
    """
    import pyarrow as pa
    import pyarrow.parquet

    pa.array([0], type=pa.int64())


class FeatureStoreEmulator(Startable):
    """SageMaker Feature Store (control plane + runtime) on one loopback port."""

    def __init__(
        self,
        state_dir: Path | str,
        host: str = "127.0.0.1",
        port: int = 0,
        offline_s3_endpoint: str | None = None,
        *,
        account_id: str = "123456789012",
        region: str | None = None,
        tie_policy: TiePolicy | str = TiePolicy.HISTORIC,
        offline_flush_interval: float = 1.0,
        faults: FaultConfig | None = None,
        max_feature_groups: int = 100,
        glue_endpoint: str | None = None,
    ) -> None:
        self.config = EmulatorConfig(
            state_dir=Path(state_dir),
            account_id=account_id,
            region=region,
            tie_policy=TiePolicy(tie_policy),
            offline_flush_interval=offline_flush_interval,
            offline_s3_endpoint=offline_s3_endpoint,
            faults=faults or FaultConfig(),
            max_feature_groups=max_feature_groups,
            glue_endpoint=glue_endpoint,
        )
        self._host, self._port = host, port
        self._http: HttpServer | None = None
        self._stop = threading.Event()
        self._maintenance: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> FeatureStoreEmulator:
        cfg = self.config
        cfg.state_dir.mkdir(parents=True, exist_ok=True)
        _warm_parquet_writer()
        self.db = Database(cfg.db_path)
        self.catalog = Catalog(self.db)
        self.online = OnlineStore(self.db, cfg.tie_policy)
        self.offline = OfflineStore(
            self.db,
            cfg.offline_dir,
            cfg.offline_flush_interval,
            cfg.offline_max_buffered_rows,
            self._client_factory("s3", cfg.offline_s3_endpoint)
            if cfg.offline_s3_endpoint
            else None,
        )
        self.offline.recover()  # rows a crash left in the journal reach Parquet first
        self.glue = GlueRegistrar(self._client_factory("glue", cfg.glue_endpoint))
        if cfg.glue_endpoint:
            self.glue.register_all(self.catalog.all())
        self.control = ControlPlane(
            self.catalog,
            self.online,
            self.offline,
            cfg.max_feature_groups,
            **({"on_defined": self.glue.register} if cfg.glue_endpoint else {}),
        )
        from devstack.standins.featurestore.runtime import Runtime

        self.runtime = Runtime(self.db, self.catalog, self.online, self.offline)
        self.router = Router(cfg, self.control, self.runtime, admin=self._admin)
        self._http = HttpServer(self.router, self._host, self._port)
        self._http.start()
        self._stop.clear()
        self._maintenance = threading.Thread(
            target=self._maintain, name="featurestore-maintenance", daemon=True
        )
        self._maintenance.start()
        log.info(
            "Feature Store emulator listening on %s (state in %s)", self.endpoint_url, cfg.state_dir
        )
        return self

    def stop(self) -> None:
        """Stop serving, then move every journaled offline row to Parquet and close the
        database (rows that cannot be written stay journaled for the next start)."""
        if self._http is None:
            return
        self._http.stop()
        self._http = None
        self._stop.set()
        self.offline.wakeup.set()
        if self._maintenance is not None:
            self._maintenance.join(timeout=30)
        self._expire_records()
        self.offline.flush(fallback_local=True)
        self.db.close()
        log.info("Feature Store emulator stopped")

    # -- public helpers ----------------------------------------------------------------------

    @property
    def endpoint_url(self) -> str:
        if self._http is None:
            raise RuntimeError("the emulator is not running")
        return f"http://{self._http.host}:{self._http.port}"

    @property
    def port(self) -> int:
        if self._http is None:
            raise RuntimeError("the emulator is not running")
        return self._http.port

    @property
    def faults(self) -> FaultConfig:
        return self.config.faults

    @faults.setter
    def faults(self, value: FaultConfig) -> None:
        self.config.faults = value

    @property
    def stats(self) -> HandlerStats:
        if self._http is None:
            raise RuntimeError("the emulator is not running")
        return self._http.stats

    def flush_offline(self) -> None:
        """Write every buffered offline row now (tests use this instead of waiting)."""
        self.offline.flush()

    # -- internals ---------------------------------------------------------------------------

    def _client_factory(self, service: str, endpoint: str | None) -> Any:
        def make() -> Any:
            import boto3

            from featurestream.aws.clients import client_config

            return boto3.client(  # type: ignore[call-overload]
                service,
                config=client_config(max_attempts=2, validate=True),
                endpoint_url=endpoint,
                region_name=self.config.region or os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
                aws_access_key_id=os.environ.get("AWS_ACCESS_KEY_ID", "testing"),
                aws_secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY", "testing"),
            )

        return make

    def _expire_records(self) -> None:
        """TTL expiry is a hard delete that also leaves a delete marker offline (one
        transaction: a crash loses neither or both)."""
        with self.db.transaction():
            for expired in self.online.purge_expired():
                group = self.catalog.get(expired.fg)
                if group is None or not group.offline_enabled:
                    continue
                marker = {
                    group.record_id_name: expired.record_id,
                    group.event_time_name: (
                        f"{expired.expires_ms / 1000:.3f}"
                        if group.event_time_type == "Fractional"
                        else format_instant(expired.expires_ms)
                    ),
                }
                self.offline.append(group, marker, expired.expires_ms, expired.expires_ms, True)

    def _maintain(self) -> None:
        interval = max(0.05, min(self.config.offline_flush_interval / 2, 1.0))
        while not self._stop.is_set():
            self.offline.wakeup.wait(interval)
            self.offline.wakeup.clear()
            try:
                self._expire_records()
                self.offline.flush_due()
            except Exception:
                log.exception("offline store maintenance failed")

    def _admin(self, action: str, request: Request) -> Any:
        """Small local-only control API: health, stats, flush and fault injection."""
        if action == "health":
            return {"status": "ok", "service": "featurestore"}
        if action == "stats":
            return {
                "operations": self.stats.snapshot(),
                "pending_offline_rows": self.offline.pending_rows,
            }
        if action == "stats/reset" and request.method == "POST":
            self.stats.reset()
            return {}
        if action == "flush" and request.method == "POST":
            self.flush_offline()
            return {"files_written": self.offline.files_written}
        if action == "glue" and request.method == "POST":  # Glue restarted empty: register again
            registered = (
                self.glue.register_all(self.catalog.all()) if self.config.glue_endpoint else 0
            )
            return {"registered": registered}
        if action == "faults":
            if request.method == "POST":
                self.config.faults = self._fault_settings(request)
            return self.config.faults.to_dict()
        raise ApiError("UnknownOperationException", "No such admin action", 404)

    def _fault_settings(self, request: Request) -> FaultConfig:
        try:
            faults = FaultConfig.from_dict(parse_json_object(request.body))
        except FaultSettingsError as error:
            raise ApiError("ValidationException", str(error)) from None
        known = self.router.operation_names
        if faults.operations is not None and not faults.operations <= known:
            raise ApiError(
                "ValidationException",
                "Invalid fault settings: operations must name operations of the emulator ("
                + ", ".join(sorted(known))
                + ")",
            )
        return faults
