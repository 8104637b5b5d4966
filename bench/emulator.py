"""Feature Store emulator throughput and latency against an empty-handler baseline.

Both servers use the same HTTP machinery (devstack.standins.featurestore.httpserver) and run in
their own process, so client and server do not share a GIL. For PutRecord and GetRecord
with 1 and 8 client threads it prints calls/s, p50 and p99 latency, the emulator/baseline
throughput ratio, and the emulator's own CPU per call (time.thread_time around the handler:
validation, SQLite, offline buffering) next to the whole server process CPU per call.

    python bench/emulator.py [--seconds 2.5] [--strict]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

GROUP = "bench-customers"
PUT_TARGET_RATIO = 0.60
CPU_TARGET_MS = 0.3


# -- server side (child process) -------------------------------------------------------------


def serve(kind: str, state_dir: str) -> None:
    from devstack.standins.featurestore.httpserver import HttpServer
    from devstack.standins.featurestore.protocol import Request, Response
    from devstack.standins.featurestore.server import FeatureStoreEmulator

    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    if kind == "baseline":
        holder: dict[str, HttpServer] = {}

        def empty(request: Request) -> Response:
            if request.path.startswith("/_emulator/"):
                return Response(
                    200, _stats(holder["server"].stats.snapshot()).encode(), {}, "Admin"
                )
            return Response(200, b"", {}, "Empty")

        server = HttpServer(empty)
        holder["server"] = server
        server.start()
        print(server.port, flush=True)
        done.wait()
        server.stop()
        return
    emulator = FeatureStoreEmulator(Path(state_dir)).start()
    original = emulator._admin

    def admin(action: str, request: Request) -> object:
        if action == "stats":
            return json.loads(_stats(emulator.stats.snapshot()))
        return original(action, request)

    emulator.router.admin = admin
    print(emulator.port, flush=True)
    done.wait()
    emulator.stop()


def _stats(snapshot: dict[str, dict[str, float]]) -> str:
    return json.dumps({"operations": snapshot, "process_cpu_seconds": time.process_time()})


# -- client side -----------------------------------------------------------------------------


def _start(kind: str, state_dir: str) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, __file__, "--serve", kind, "--state-dir", state_dir],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    port = proc.stdout.readline().strip()
    return proc, f"http://127.0.0.1:{port}"


def _server_stats(url: str) -> dict:
    with urllib.request.urlopen(url + "/_emulator/stats") as resp:
        return json.loads(resp.read())


def _clients(url: str):
    import boto3
    from botocore.config import Config

    config = Config(max_pool_connections=16, retries={"mode": "standard", "total_max_attempts": 1})
    kwargs = {
        "endpoint_url": url,
        "region_name": "us-east-1",
        "aws_access_key_id": "testing",
        "aws_secret_access_key": "testing",
        "config": config,
    }
    return boto3.client("sagemaker", **kwargs), boto3.client(
        "sagemaker-featurestore-runtime", **kwargs
    )


def _create_group(sm) -> None:
    sm.create_feature_group(
        FeatureGroupName=GROUP,
        RecordIdentifierFeatureName="customer_id",
        EventTimeFeatureName="event_time",
        FeatureDefinitions=[
            {"FeatureName": n, "FeatureType": t}
            for n, t in [
                ("customer_id", "String"),
                ("sex", "Integral"),
                ("is_married", "Integral"),
                ("age_18-29", "Integral"),
                ("age_30-39", "Integral"),
                ("age_40-49", "Integral"),
                ("n_days_active", "Fractional"),
                ("active_since", "String"),
                ("event_time", "String"),
                ("params_version", "String"),
            ]
        ],
        OnlineStoreConfig={"EnableOnlineStore": True},
        OfflineStoreConfig={"S3StorageConfig": {"S3Uri": "s3://bench-bucket/offline"}},
        RoleArn="arn:aws:iam::123456789012:role/bench",
    )


def _record(i: int) -> list[dict[str, str]]:
    values = {
        "customer_id": f"C{i % 5000}",
        "sex": str(i % 2),
        "is_married": "1",
        "age_18-29": "0",
        "age_30-39": "1",
        "age_40-49": "0",
        "n_days_active": "0.4183",
        "active_since": "2021-03-04T05:06:07Z",
        "event_time": (
            f"2024-05-01T{(i // 3600) % 24:02d}:{(i // 60) % 60:02d}:{i % 60:02d}.{i % 1000:03d}Z"
        ),
        "params_version": "v1",
    }
    return [{"FeatureName": k, "ValueAsString": v} for k, v in values.items()]


def _run(rt, operation: str, threads: int, seconds: float) -> tuple[float, list[float]]:
    latencies: list[list[float]] = [[] for _ in range(threads)]
    stop_at = time.perf_counter() + seconds
    counter = iter(range(10**9))

    def worker(slot: list[float]) -> None:
        while True:
            i = next(counter)
            started = time.perf_counter()
            if started >= stop_at:
                return
            if operation == "PutRecord":
                rt.put_record(FeatureGroupName=GROUP, Record=_record(i))
            else:
                rt.get_record(FeatureGroupName=GROUP, RecordIdentifierValueAsString=f"C{i % 5000}")
            slot.append(time.perf_counter() - started)

    pool = [threading.Thread(target=worker, args=(latencies[n],)) for n in range(threads)]
    begin = time.perf_counter()
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    elapsed = time.perf_counter() - begin
    merged = sorted(x for slot in latencies for x in slot)
    return len(merged) / elapsed, merged


def _pct(values: list[float], p: float) -> float:
    return values[min(len(values) - 1, int(p * len(values)))] * 1000


def _measure(seconds: float) -> tuple[dict, dict]:
    """Both servers run side by side; every configuration is measured baseline, emulator,
    emulator, baseline (half the time each), so drifting machine load cancels out."""
    results: dict[tuple[str, str, int], tuple[float, float, float]] = {}
    cpu: dict[str, tuple[float, float]] = {}
    kinds = ("baseline", "emulator")
    with tempfile.TemporaryDirectory() as tmp:
        servers = {kind: _start(kind, os.path.join(tmp, kind)) for kind in kinds}
        try:
            clients = {kind: _clients(url)[1] for kind, (_, url) in servers.items()}
            _create_group(_clients(servers["emulator"][1])[0])
            for kind, (_, url) in servers.items():
                _run(clients[kind], "PutRecord", 1, 0.3)  # warm up connections and caches
                flush = urllib.request.Request(url + "/_emulator/flush", method="POST")
                urllib.request.urlopen(flush).close()  # pyarrow warm, buffers empty
            for operation in ("PutRecord", "GetRecord"):
                before = {kind: _server_stats(url) for kind, (_, url) in servers.items()}
                for threads in (1, 8):
                    calls: dict[str, list[float]] = {kind: [] for kind in kinds}
                    elapsed = dict.fromkeys(kinds, 0.0)
                    for kind in (*kinds, *reversed(kinds)):
                        rate, lat = _run(clients[kind], operation, threads, seconds / 2)
                        calls[kind].extend(lat)
                        elapsed[kind] += len(lat) / rate
                    for kind in kinds:
                        lat = sorted(calls[kind])
                        rate = len(lat) / elapsed[kind]
                        results[(kind, operation, threads)] = (
                            rate,
                            _pct(lat, 0.5),
                            _pct(lat, 0.99),
                        )
                for kind, (_, url) in servers.items():
                    after = _server_stats(url)
                    op_key = operation if kind == "emulator" else "Empty"
                    now = after["operations"][op_key]
                    then = before[kind]["operations"].get(op_key, {})
                    n = now["calls"] - then.get("calls", 0)
                    handler = now["cpu_seconds"] - then.get("cpu_seconds", 0.0)
                    process = after["process_cpu_seconds"] - before[kind]["process_cpu_seconds"]
                    cpu[f"{kind}:{operation}"] = (handler / n * 1000, process / n * 1000)
        finally:
            for proc, _ in servers.values():
                proc.send_signal(signal.SIGTERM)
                proc.wait(timeout=30)

    return results, cpu


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--serve", choices=["baseline", "emulator"])
    parser.add_argument("--state-dir", default="")
    parser.add_argument("--seconds", type=float, default=2.5, help="per measurement")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.state_dir)
        return 0

    results, cpu = _measure(args.seconds)
    print(
        f"{'server':<10} {'operation':<10} {'threads':>7} {'calls/s':>9} {'p50 ms':>8} "
        f"{'p99 ms':>8} {'handler CPU ms/call':>20} {'server CPU ms/call':>19}"
    )
    for kind, operation, threads in (
        (k, o, t)
        for k in ("baseline", "emulator")
        for o in ("PutRecord", "GetRecord")
        for t in (1, 8)
    ):
        rate, p50, p99 = results[(kind, operation, threads)]
        handler_ms, process_ms = cpu[f"{kind}:{operation}"]
        print(
            f"{kind:<10} {operation:<10} {threads:>7} {rate:>9.0f} {p50:>8.2f} {p99:>8.2f} "
            f"{handler_ms:>20.3f} {process_ms:>19.3f}"
        )
    ok = True
    print()
    for operation in ("PutRecord", "GetRecord"):
        for threads in (1, 8):
            ratio = (
                results[("emulator", operation, threads)][0]
                / results[("baseline", operation, threads)][0]
            )
            ok_ratio = ratio >= PUT_TARGET_RATIO
            target = (
                f"  (target >= {PUT_TARGET_RATIO:.2f}: {'OK' if ok_ratio else 'MISSED'})"
                if operation == "PutRecord"
                else ""
            )
            ok &= operation != "PutRecord" or ratio >= PUT_TARGET_RATIO
            print(f"ratio emulator/baseline {operation} {threads} thread(s): {ratio:.2f}{target}")
    put_cpu = cpu["emulator:PutRecord"][0]
    ok &= put_cpu < CPU_TARGET_MS
    print(
        f"emulator handler CPU per PutRecord: {put_cpu:.3f} ms "
        f"(target < {CPU_TARGET_MS} ms: {'OK' if put_cpu < CPU_TARGET_MS else 'MISSED'})"
    )
    return 0 if ok or not args.strict else 1


if __name__ == "__main__":
    sys.exit(main())
