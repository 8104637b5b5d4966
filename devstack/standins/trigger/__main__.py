"""``python -m devstack.standins.trigger``: run the template's Kinesis triggers as a
background service.

Stops cleanly on SIGTERM/SIGINT (invocations in flight finish first), so it fits
``devstack.stack.process.BackgroundService`` with ``health_path="/health"``.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from devstack.stack.lifecycle import stop_requested
from devstack.standins.trigger.runner import TriggerRunner


def _pairs(values: list[str]) -> dict[str, str]:
    result = {}
    for value in values:
        key, sep, text = value.partition("=")
        if not sep or not key:
            raise SystemExit(f"expected KEY=VALUE, got {value!r}")
        result[key] = text
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m devstack.standins.trigger", description=__doc__
    )
    parser.add_argument("--template", type=Path, default=Path("template.yaml"))
    parser.add_argument("--stack-name", default="featurestream")
    parser.add_argument("--status-port", type=int, default=0, help="0: a free port")
    parser.add_argument("--status-host", default="127.0.0.1")
    parser.add_argument(
        "--parameter-overrides", nargs="*", default=[], metavar="KEY=VALUE", help="template"
    )
    parser.add_argument(
        "--env-vars", type=Path, help='JSON like sam local: {"<FunctionLogicalId>": {...}}'
    )
    parser.add_argument("--log-file", type=Path, help="handler log (default .state/logs/...)")
    parser.add_argument("--poll-interval", type=float, default=1.0)
    parser.add_argument("--max-workers", type=int, default=4, help="per function")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    env_file = json.loads(args.env_vars.read_text()) if args.env_vars else {}
    runner = TriggerRunner(
        args.template,
        stack_name=args.stack_name,
        parameters={**env_file.pop("Parameters", {}), **_pairs(args.parameter_overrides)},
        env_overrides=env_file,
        log_file=args.log_file,
        status_port=args.status_port,
        status_host=args.status_host,
        poll_interval=args.poll_interval,
        max_workers_per_function=args.max_workers,
    )
    done = stop_requested()
    runner.start()
    logging.getLogger("devstack.standins.trigger").info(
        "trigger runner up: %s; status %s/status; handler log %s",
        ", ".join(f"{m.function_name} <- {m.stream_name}" for m in runner.mappings),
        runner.status_url,
        runner.log_file,
    )
    done.wait()
    runner.stop(timeout=10)  # within BackgroundService's 15 s before SIGKILL
    return 0


if __name__ == "__main__":
    sys.exit(main())
