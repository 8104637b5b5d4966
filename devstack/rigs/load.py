"""``python -m devstack.rigs.load`` (``make load``): a full replay through the local stack,
measured.

Starts (or reuses) the stack the demo uses, sets the Feature Store emulator's latency
(``FaultConfig.latency_ms`` through its admin API; 10 ms by default), replays both CSVs and
samples the trigger runner's ``/status`` every ``--interval`` seconds until the consumers
have caught up. It prints a table (sustained events/s, lag, drain time, throughput per
shard, CPU seconds per process) and writes the samples (``load-samples.csv``) and a chart of
consumer lag over time (``load-lag.png``) to ``--out``.

Lag is events published minus events processed (or sent to the on-failure queue), across
both functions; the iterator age per shard is the age of its oldest record not yet
checkpointed (Lambda's ``IteratorAge`` metric).
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from devstack.rigs.demo import Demo, DemoOptions
from devstack.stack.cpu import self_cpu, service_cpu
from devstack.stack.deployment import StackConfig


@dataclass(frozen=True)
class Sample:
    """One look at the pipeline, ``t`` seconds after the replay started."""

    t: float
    published: int
    done: int
    max_iterator_age_ms: int
    per_shard_done: dict[str, int]

    @property
    def lag(self) -> int:
        return max(0, self.published - self.done)


def sample_of(t: float, published: int, status: dict[str, Any], base: dict[str, int]) -> Sample:
    """A sample from a ``/status`` document; ``base`` holds each shard's count at the start."""
    shards: dict[str, int] = {}
    ages = [0]
    for function in status.get("functions", {}).values():
        for shard_id, shard in function.get("shards", {}).items():
            key = f"{function['stream']}/{shard_id}"
            count = int(shard["records_processed"]) + int(shard["records_to_on_failure"])
            shards[key] = count - base.get(key, 0)
            ages.append(int(shard.get("iterator_age_ms") or 0))
    return Sample(round(t, 3), published, sum(shards.values()), max(ages), shards)


@dataclass
class LoadResult:
    samples: list[Sample] = field(default_factory=list)
    sent: int = 0
    replay_seconds: float = 0.0
    caught_up_seconds: float | None = None
    latency_ms: float = 0.0
    first_published_seconds: float = 0.0
    """When the first events went out (before: reading, checking and ordering the CSVs)."""
    cpu: dict[str, float] = field(default_factory=dict)

    def shard_rates(self) -> dict[str, float]:
        """Records/s per shard while it had work: its records over the time from its
        first to its last processed record (as sampled)."""
        rates: dict[str, float] = {}
        for shard in self.samples[-1].per_shard_done if self.samples else {}:
            counts = [(s.t, s.per_shard_done.get(shard, 0)) for s in self.samples]
            total = counts[-1][1]
            start = next((t for t, c in counts if c > 0), None)
            end = next((t for t, c in counts if c >= total), None)
            if total and start is not None and end is not None:
                # the first record was done at most one interval before it was seen
                span = max(end - start + self._interval(), 1e-9)
                rates[shard] = total / span
        return rates

    def peak_shard_rates(self, window: float = 10.0) -> dict[str, float]:
        """Records/s per shard over its best ``window`` seconds: what a shard's consumer
        does when it has a backlog (the average includes waiting for the producer)."""
        peaks: dict[str, float] = {}
        for shard in self.samples[-1].per_shard_done if self.samples else {}:
            best = 0.0
            j = 0
            for i, start in enumerate(self.samples):
                j = max(j, i)
                while j < len(self.samples) - 1 and self.samples[j].t - start.t < window:
                    j += 1
                span = self.samples[j].t - start.t
                if span >= window:
                    done = self.samples[j].per_shard_done.get(shard, 0)
                    best = max(best, (done - start.per_shard_done.get(shard, 0)) / span)
            peaks[shard] = best
        return peaks

    def _interval(self) -> float:
        if len(self.samples) < 2:
            return 1.0
        return (self.samples[-1].t - self.samples[0].t) / (len(self.samples) - 1)

    def table(self) -> list[str]:
        done = self.samples[-1].done if self.samples else 0
        end = self.caught_up_seconds or (self.samples[-1].t if self.samples else 0.0)
        peak = max(self.samples, key=lambda s: s.lag) if self.samples else None
        publishing = self.replay_seconds - self.first_published_seconds
        replay_rate = self.sent / max(publishing, 1e-9)
        drain = max(0.0, end - self.replay_seconds)
        max_age = max((s.max_iterator_age_ms for s in self.samples), default=0) / 1000
        rows = [
            ("store latency", f"{self.latency_ms:g} ms per Feature Store call"),
            ("events published", f"{self.sent:,}"),
            ("events processed", f"{done:,}"),
            ("CSVs read", f"first event published after {self.first_published_seconds:.1f} s"),
            ("replay", f"done after {self.replay_seconds:.1f} s ({replay_rate:,.0f} events/s)"),
            ("caught up after", f"{end:.1f} s (drain {drain:.1f} s after the replay)"),
            ("sustained", f"{done / max(end, 1e-9):,.0f} events/s end to end"),
            ("peak lag", f"{peak.lag:,} events at {peak.t:.0f} s" if peak else "-"),
            ("max iterator age", f"{max_age:.1f} s"),
        ]
        lines = [f"{name:<20} {value}" for name, value in rows]
        lines.append("")
        lines.append(f"{'shard':<52} {'records':>8} {'records/s':>10} {'peak 10 s':>10}")
        rates, peaks = self.shard_rates(), self.peak_shard_rates()
        last = self.samples[-1].per_shard_done if self.samples else {}
        for shard, count in sorted(last.items()):
            rate, best = rates.get(shard, 0.0), peaks.get(shard, 0.0)
            lines.append(f"{shard:<52} {count:>8,} {rate:>10,.0f} {best:>10,.0f}")
        if self.cpu:
            lines.append("")
            lines.append(f"{'process':<32} {'CPU s':>8} {'ms/event':>9}")
            for name, seconds in self.cpu.items():
                per_event = seconds * 1000 / max(self.sent, 1)
                lines.append(f"{name:<32} {seconds:>8.1f} {per_event:>9.2f}")
        return lines


class _Published:
    """The replay's progress reporter: remembers how many events were sent."""

    def __init__(self, started: float) -> None:
        self.count = 0
        self.started = started
        self.first_seconds: float | None = None

    def update(self, done: int) -> None:
        if done and self.first_seconds is None:
            self.first_seconds = time.monotonic() - self.started
        self.count = done

    def close(self) -> None:
        """Nothing to release."""


def set_store_latency(featurestore_url: str, latency_ms: float) -> None:
    """Every runtime call of the emulator waits ``latency_ms`` (its FaultConfig)."""
    body = json.dumps({"latency_ms": latency_ms}).encode()
    request = urllib.request.Request(  # noqa: S310 - loopback URL of our own emulator
        f"{featurestore_url}/_emulator/faults", data=body, method="POST"
    )
    with urllib.request.urlopen(request, timeout=10):  # noqa: S310  # nosec B310  # local emulator
        pass


def run_load(demo: Demo, latency_ms: float, interval: float, timeout: float) -> LoadResult:
    """Replay through ``demo``'s running stack while sampling; returns the measurements."""
    env = demo.env
    result = LoadResult(latency_ms=latency_ms)
    set_store_latency(env["AWS_ENDPOINT_URL_SAGEMAKER_FEATURESTORE_RUNTIME"], latency_ms)
    first = sample_of(0.0, 0, demo.stack.watch(), {})
    base = dict(first.per_shard_done)
    replay_done = threading.Event()
    started = time.monotonic()
    published = _Published(started)

    def replay() -> None:
        try:
            demo.replay(lambda _total: published)
        finally:
            result.replay_seconds = time.monotonic() - started
            replay_done.set()

    worker = threading.Thread(target=replay, name="replay", daemon=True)
    worker.start()
    deadline = started + timeout
    try:
        while time.monotonic() < deadline:
            status = demo.stack.watch()
            now = time.monotonic() - started
            sample = sample_of(now, published.count, status, base)
            result.samples.append(sample)
            if replay_done.is_set() and sample.done >= demo.result.sent and status["caught_up"]:
                result.caught_up_seconds = now
                break
            time.sleep(interval)
    finally:
        worker.join()
        set_store_latency(env["AWS_ENDPOINT_URL_SAGEMAKER_FEATURESTORE_RUNTIME"], 0.0)
    result.sent = demo.result.sent
    result.first_published_seconds = published.first_seconds or 0.0
    return result


def process_cpu(demo: Demo) -> dict[str, float]:
    """CPU seconds so far per stack process (the trigger runner's workers apart), plus this
    process (replay producer and sampling)."""
    pids = {s.spec.name: pid for s in demo.stack.services() if (pid := s.status().pid)}
    cpu: dict[str, float] = {}
    for name, times in service_cpu(pids).items():
        if name == "trigger":
            cpu["trigger runner"] = times["main"]
            cpu["handler workers (+ fork server)"] = times["children"]
        else:
            cpu[name] = times["main"] + times["children"]
    cpu["replay + sampling (this process)"] = self_cpu()
    return cpu


def write_samples(samples: list[Sample], path: Path) -> None:
    shards = sorted(samples[-1].per_shard_done) if samples else []
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["t", "published", "processed", "lag", "max_iterator_age_ms", *shards])
        for s in samples:
            row = [s.t, s.published, s.done, s.lag, s.max_iterator_age_ms]
            writer.writerow(row + [s.per_shard_done.get(shard, 0) for shard in shards])


def plot_lag(result: LoadResult, path: Path) -> None:
    """Lag (events) and the largest iterator age (s) over time, replay end marked."""
    from matplotlib.figure import Figure  # no pyplot: no GUI backend, a faster import

    t = [s.t for s in result.samples]
    fig = Figure(figsize=(9, 4.5))
    lag_axis = fig.subplots()
    lag_axis.plot(t, [s.lag for s in result.samples], color="tab:blue", label="lag (events)")
    lag_axis.set_xlabel("seconds since the replay started")
    lag_axis.set_ylabel("published - processed (events)", color="tab:blue")
    age_axis = lag_axis.twinx()
    ages = [s.max_iterator_age_ms / 1000 for s in result.samples]
    age_axis.plot(t, ages, color="tab:orange", label="max iterator age (s)")
    age_axis.set_ylabel("max iterator age per shard (s)", color="tab:orange")
    lag_axis.axvline(result.replay_seconds, color="grey", linestyle="--", linewidth=1)
    lag_axis.text(result.replay_seconds, 0, " replay done", color="grey", va="bottom")
    lag_axis.set_title(
        f"Consumer lag, {result.sent:,} events, {result.latency_ms:g} ms store latency"
    )
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m devstack.rigs.load", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--customers", type=Path, default=Path("raw/customers.csv"))
    parser.add_argument("--orders", type=Path, default=Path("raw/orders.csv"))
    parser.add_argument("--store-latency-ms", type=float, default=10.0, help="default 10")
    parser.add_argument("--interval", type=float, default=1.0, help="seconds between samples")
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds to catch up")
    parser.add_argument("--out", type=Path, default=Path(".state/load"), help="CSV + PNG here")
    parser.add_argument("--keep-running", action="store_true", help="leave the stack up")
    args = parser.parse_args(argv)
    options = DemoOptions(
        customers=args.customers,
        orders=args.orders,
        keep_running=args.keep_running,
        config=StackConfig.from_env(),
    )
    demo = Demo(options)
    already_up = any(service.status().running for service in demo.stack.services())
    try:
        demo.start_stack()
        print(f"Replaying with {args.store_latency_ms:g} ms store latency ...", flush=True)
        result = run_load(demo, args.store_latency_ms, args.interval, args.timeout)
        result.cpu = process_cpu(demo)
    finally:
        if not (args.keep_running or already_up):
            demo.stack.down()
    args.out.mkdir(parents=True, exist_ok=True)
    write_samples(result.samples, args.out / "load-samples.csv")
    plot_lag(result, args.out / "load-lag.png")
    print()
    print("\n".join(result.table()))
    print(f"\nsamples {args.out / 'load-samples.csv'}, chart {args.out / 'load-lag.png'}")
    if result.caught_up_seconds is None:
        print(f"consumers did not catch up within {args.timeout:.0f} s", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
