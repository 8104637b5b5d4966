"""Run the local model endpoint in the foreground: ``python -m devstack.standins.model_endpoint``.

``featurestream endpoint up`` starts it in the background; SIGTERM/SIGINT stop it.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from devstack.stack.lifecycle import stop_requested
from devstack.standins.model_endpoint.server import EndpointFaults, ModelEndpoint
from devstack.standins.model_endpoint.service import DEFAULT_ENDPOINT_NAME


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devstack.standins.model_endpoint")
    parser.add_argument("--model-dir", type=Path, default=Path("model"))
    parser.add_argument("--endpoint-name", action="append", default=None)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--log-level", default="INFO")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    try:
        endpoint = ModelEndpoint(
            args.model_dir,
            tuple(args.endpoint_name or [DEFAULT_ENDPOINT_NAME]),
            args.host,
            args.port,
            faults=EndpointFaults(latency_ms=args.latency_ms),
        ).start()
    except (OSError, ValueError, AttributeError) as exc:
        print(f"model-endpoint: cannot start: {exc}", file=sys.stderr)
        return 1
    done = stop_requested()
    logging.getLogger("devstack.standins.model_endpoint").info(
        "serving %s (model %s) at %s",
        ", ".join(sorted(endpoint.names)),
        endpoint.model_version,
        endpoint.endpoint_url,
    )
    done.wait()
    endpoint.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
