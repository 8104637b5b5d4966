"""How the local stack runs the emulator as a background service (see devstack.stack.process)."""

from __future__ import annotations

import sys

from devstack.stack.process import ServiceSpec

ENDPOINT_ENV = (
    "AWS_ENDPOINT_URL_SAGEMAKER",
    "AWS_ENDPOINT_URL_SAGEMAKER_FEATURESTORE_RUNTIME",
)


def featurestore_spec(
    port: int = 0,
    offline_s3_endpoint: str | None = None,
    latency_ms: float = 0.0,
    log_level: str = "INFO",
    flush_interval: float = 5.0,
) -> ServiceSpec:
    """``flush_interval`` 5 s, not the emulator's 1 s: a replay sends events in event-time
    order, so a longer wait puts an hour partition's rows in one Parquet file instead of
    several (the offline store's cost is per file; the service itself takes minutes)."""
    argv = [
        sys.executable,
        "-m",
        "devstack.standins.featurestore",
        "--state-dir",
        "{state_dir}/featurestore",
        "--host",
        "{host}",
        "--port",
        "{port}",
        "--log-level",
        log_level,
        "--flush-interval",
        str(flush_interval),
    ]
    if offline_s3_endpoint:
        argv += ["--offline-s3-endpoint", offline_s3_endpoint]
    if latency_ms:
        argv += ["--latency-ms", str(latency_ms)]
    return ServiceSpec(
        name="featurestore",
        argv=tuple(argv),
        port=port,
        health_path="/_emulator/health",
        endpoint_env=ENDPOINT_ENV,
    )
