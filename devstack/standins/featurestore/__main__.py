"""Run the emulator as a foreground process: ``python -m devstack.standins.featurestore``.

``featurestream local up`` starts this in the background; SIGTERM/SIGINT stop it cleanly
(buffered offline rows are flushed before exit).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from devstack.stack.lifecycle import stop_requested
from devstack.standins.featurestore.config import FaultConfig, TiePolicy
from devstack.standins.featurestore.server import FeatureStoreEmulator


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devstack.standins.featurestore")
    parser.add_argument("--state-dir", type=Path, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--offline-s3-endpoint", default=None)
    parser.add_argument(
        "--glue-endpoint",
        default=os.environ.get("AWS_ENDPOINT_URL_GLUE"),
        help="register each offline table in this Glue endpoint (default: AWS_ENDPOINT_URL_GLUE)",
    )
    parser.add_argument("--region", default=None)
    parser.add_argument("--tie-policy", choices=[p.value for p in TiePolicy], default="historic")
    parser.add_argument("--flush-interval", type=float, default=1.0)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--log-level", default="INFO")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    try:
        emulator = FeatureStoreEmulator(
            args.state_dir,
            args.host,
            args.port,
            args.offline_s3_endpoint,
            region=args.region,
            tie_policy=args.tie_policy,
            offline_flush_interval=args.flush_interval,
            faults=FaultConfig(latency_ms=args.latency_ms),
            glue_endpoint=args.glue_endpoint,
        ).start()
    except OSError as exc:
        print(f"featurestore: cannot start: {exc}", file=sys.stderr)
        return 1
    done = stop_requested()
    print(f"featurestore ready {emulator.endpoint_url}", flush=True)
    done.wait()
    emulator.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
