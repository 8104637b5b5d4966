"""How the local stack runs the model endpoint as a background service (devstack.stack.process)."""

from __future__ import annotations

import sys
from pathlib import Path

from devstack.stack.process import ServiceSpec
from devstack.standins.model_endpoint.server import HEALTH_PATH

ENDPOINT_ENV = ("AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME",)
DEFAULT_ENDPOINT_NAME = "featurestream-reorder"


def model_endpoint_spec(
    model_dir: Path = Path("model"),
    endpoint_name: str = DEFAULT_ENDPOINT_NAME,
    port: int = 0,
    latency_ms: float = 0.0,
) -> ServiceSpec:
    argv = [
        sys.executable,
        "-m",
        "devstack.standins.model_endpoint",
        "--model-dir",
        str(Path(model_dir).resolve()),
        "--endpoint-name",
        endpoint_name,
        "--host",
        "{host}",
        "--port",
        "{port}",
    ]
    if latency_ms:
        argv += ["--latency-ms", str(latency_ms)]
    return ServiceSpec(
        name="model-endpoint",
        argv=tuple(argv),
        port=port,
        health_path=HEALTH_PATH,
        endpoint_env=ENDPOINT_ENV,
    )
