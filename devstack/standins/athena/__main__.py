"""Run the Athena stand-in in the foreground: ``python -m devstack.standins.athena``.

``featurestream local up`` starts it in the background; SIGTERM/SIGINT stop it.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from devstack.stack.lifecycle import stop_requested
from devstack.standins.athena.server import AthenaStandIn


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devstack.standins.athena")
    parser.add_argument("--state-dir", type=Path, required=True)
    parser.add_argument("--offline-root", type=Path, required=True)
    parser.add_argument("--glue-endpoint", default=os.environ.get("AWS_ENDPOINT_URL_GLUE"))
    parser.add_argument("--s3-endpoint", default=os.environ.get("AWS_ENDPOINT_URL_S3"))
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--log-level", default="INFO")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    try:
        athena = AthenaStandIn(
            args.state_dir,
            args.offline_root,
            args.glue_endpoint,
            args.s3_endpoint,
            host=args.host,
            port=args.port,
            region=os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
        ).start()
    except OSError as exc:
        print(f"athena: cannot start: {exc}", file=sys.stderr)
        return 1
    done = stop_requested()
    logging.getLogger("devstack.standins.athena").info("serving at %s", athena.endpoint_url)
    done.wait()
    athena.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
