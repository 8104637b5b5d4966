"""``python -m devstack.rigs.chaos``: start a fresh local stack, run the fault scenarios (a
fault-free baseline, each fault alone, then all together) on disjoint slices of raw/, print
the figures table, stop the stack. Exit status 1 when any invariant is broken."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

from devstack.rigs.chaos.figures import Figures, table
from devstack.rigs.chaos.plan import Shares, standard_plans
from devstack.rigs.chaos.runner import RunSettings, run_suite
from devstack.stack.deployment import DevStack, StackConfig
from devstack.stack.process import project_root

SHARE_FLAGS = (
    ("--throttle-share", "store_throttle", "share of store writes throttled"),
    ("--error-share", "store_error", "share of store writes answered 503"),
    ("--partial-share", "partial_put", "share of PutRecords entries failed"),
    ("--duplicate-share", "duplicate", "share of events sent twice"),
    ("--state-throttle-share", "state_throttle", "share of state-table DynamoDB calls throttled"),
)
"""Each share-based fault's flag, its :class:`Shares` field (default and dest) and help."""


def _parser() -> argparse.ArgumentParser:
    names = [plan.name for plan in standard_plans()]
    parser = argparse.ArgumentParser(prog="python -m devstack.rigs.chaos", description=__doc__)
    parser.add_argument(
        "--customers",
        type=int,
        default=400,
        help="customers per scenario, ~11 events each (default 400)",
    )
    parser.add_argument(
        "--first-customer", type=int, default=1, help="first customer number of the first slice"
    )
    parser.add_argument(
        "--scenario",
        action="append",
        choices=names,
        help="run only these (repeatable; default: all)",
    )
    for flag, share, text in SHARE_FLAGS:
        parser.add_argument(
            flag, type=float, default=getattr(Shares, share), dest=share, metavar="SHARE", help=text
        )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--drain-timeout", type=float, default=300.0, help="seconds per scenario")
    parser.add_argument(
        "--state-dir", type=Path, help="stack state folder (default: a temporary one)"
    )
    return parser


def shares_from(args: argparse.Namespace) -> Shares:
    return Shares(**{share: getattr(args, share) for _, share, _ in SHARE_FLAGS})


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    shares = shares_from(args)
    plans = [p for p in standard_plans(shares) if not args.scenario or p.name in args.scenario]
    if args.first_customer < 1 or args.first_customer - 1 + args.customers * len(plans) > 10_000:
        print("the slices must fit in raw/'s 10,000 customers", file=sys.stderr)
        return 2
    root = project_root()
    with tempfile.TemporaryDirectory(prefix="featurestream-chaos-") as tmp:
        state = args.state_dir or Path(tmp) / "state"
        stack = DevStack(
            StackConfig(
                template=root / "template.yaml",
                model_dir=root / "model",
                state_dir=state,
                trigger_poll_interval=0.1,
            )
        )
        began = time.monotonic()
        try:
            stack.up()
            os.environ.update(stack.environment())
            print(f"stack up in {time.monotonic() - began:.1f} s (state in {state})", flush=True)

            def progress(figures: Figures) -> None:
                print(
                    f"  {figures.scenario}: {figures.events} events, "
                    f"drained in {figures.drain_s:.1f} s",
                    flush=True,
                )

            results = run_suite(
                stack,
                plans,
                raw_dir=root / "raw",
                work_dir=Path(tmp),
                first_customer=args.first_customer,
                customers_per_scenario=args.customers,
                settings=RunSettings(seed=args.seed, drain_timeout_s=args.drain_timeout),
                on_result=progress,
            )
        finally:
            stack.down()
    print(table(results))
    return 1 if any(r.problems() for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
