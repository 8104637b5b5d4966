"""How the local stack runs the Athena stand-in as a background service (devstack.stack.process)."""

from __future__ import annotations

import sys

from devstack.stack.process import ServiceSpec
from devstack.standins.athena.server import HEALTH_PATH

ENDPOINT_ENV = ("AWS_ENDPOINT_URL_ATHENA",)


def athena_spec(port: int = 0) -> ServiceSpec:
    """Glue and S3 come from the environment (moto's ``AWS_ENDPOINT_URL_GLUE``/``_S3``); the
    offline files from the emulator's folder in the same state folder."""
    argv = (
        sys.executable,
        "-m",
        "devstack.standins.athena",
        "--state-dir",
        "{state_dir}/athena",
        "--offline-root",
        "{state_dir}/featurestore/offline-store",
        "--host",
        "{host}",
        "--port",
        "{port}",
    )
    return ServiceSpec(
        name="athena",
        argv=argv,
        port=port,
        health_path=HEALTH_PATH,
        endpoint_env=ENDPOINT_ENV,
    )
