"""devstack.rigs.load's arithmetic (lag, per-shard rates), its CSV and PNG, and --help;
devstack.stack.cpu on real processes."""

import csv
import os
import signal
import subprocess
import sys
import time

from devstack.rigs.load import LoadResult, Sample, plot_lag, sample_of, write_samples
from devstack.stack.cpu import service_cpu


def status(counts: dict[str, tuple[int, int, int]]) -> dict:
    """A /status document: shard -> (processed, to_on_failure, iterator_age_ms)."""
    return {
        "caught_up": False,
        "functions": {
            "F": {
                "stream": "s",
                "shards": {
                    shard: {
                        "records_processed": p,
                        "records_to_on_failure": f,
                        "iterator_age_ms": age,
                    }
                    for shard, (p, f, age) in counts.items()
                },
            }
        },
    }


def test_a_sample_counts_done_records_since_the_base_and_the_largest_iterator_age():
    sample = sample_of(2.0, 500, status({"a": (130, 2, 900), "b": (40, 0, 2500)}), base={"s/a": 30})
    assert sample.per_shard_done == {"s/a": 102, "s/b": 40}
    assert sample.done == 142
    assert sample.lag == 500 - 142
    assert sample.max_iterator_age_ms == 2500


def samples() -> list[Sample]:
    # shard a does its 100 records between t=1 and t=3; shard b its 50 at t=2 only
    rows = [(0, 0, 0), (1, 10, 0), (2, 60, 50), (3, 100, 50), (4, 100, 50)]
    return [Sample(float(t), 150, a + b, 0, {"s/a": a, "s/b": b}) for t, a, b in rows]


def test_shard_rates_divide_records_by_the_time_the_shard_had_work():
    result = LoadResult(samples=samples(), sent=150, replay_seconds=1.0, caught_up_seconds=4.0)
    rates = result.shard_rates()
    assert rates["s/a"] == 100 / (3 - 1 + 1)  # first seen done at 1, all done at 3, + 1 interval
    assert rates["s/b"] == 50 / (2 - 2 + 1)


def test_the_peak_rate_is_the_best_window_of_a_shard():
    result = LoadResult(samples=samples(), sent=150)
    peaks = result.peak_shard_rates(window=2.0)
    assert peaks["s/a"] == (100 - 10) / 2  # t=1..3
    assert peaks["s/b"] == 50 / 2  # t=0..2 or t=1..3


def test_the_table_reports_throughput_lag_and_cpu():
    result = LoadResult(
        samples=samples(),
        sent=150,
        replay_seconds=1.0,
        caught_up_seconds=4.0,
        latency_ms=10,
        first_published_seconds=0.5,
    )
    result.cpu = {"moto": 3.0}
    text = "\n".join(result.table())
    assert "10 ms per Feature Store call" in text
    assert "38 events/s end to end" in text  # 150 / 4.0
    assert "peak lag             150 events at 0 s" in text
    assert "drain 3.0 s" in text
    assert "done after 1.0 s (300 events/s)" in text  # 150 events in the 0.5 s of publishing
    assert "moto                                  3.0     20.00" in text


def test_samples_csv_and_lag_chart_are_written(tmp_path):
    result = LoadResult(samples=samples(), sent=150, replay_seconds=1.0, caught_up_seconds=4.0)
    write_samples(result.samples, tmp_path / "s.csv")
    rows = list(csv.DictReader((tmp_path / "s.csv").open()))
    assert [int(r["lag"]) for r in rows] == [150, 140, 40, 0, 0]
    assert rows[2]["s/b"] == "50"
    plot_lag(result, tmp_path / "lag.png")
    assert (tmp_path / "lag.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_help_names_the_store_latency_option():
    out = subprocess.run(
        [sys.executable, "-m", "devstack.rigs.load", "--help"],
        check=False,
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0 and "--store-latency-ms" in out.stdout


BUSY = "import time\nt = time.process_time()\nwhile time.process_time() - t < 0.3: pass\n"


def test_service_cpu_counts_a_process_and_its_children():
    child = BUSY + "time.sleep(30)\n"
    parent_script = (
        "import subprocess, sys, time\n"
        f"child = subprocess.Popen([sys.executable, '-c', {child!r}])\n"
        "print(child.pid, flush=True)\n" + BUSY + "child.wait()\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", parent_script], stdout=subprocess.PIPE)
    assert parent.stdout is not None
    child_pid = int(parent.stdout.readline())
    try:
        deadline = time.monotonic() + 20
        cpu = service_cpu({"x": parent.pid})["x"]
        while (cpu["main"] < 0.3 or cpu["children"] < 0.3) and time.monotonic() < deadline:
            time.sleep(0.2)
            cpu = service_cpu({"x": parent.pid})["x"]
        assert cpu["main"] >= 0.3  # its own busy loop
        assert cpu["children"] >= 0.3  # the child's, while the child is alive
    finally:
        os.kill(child_pid, signal.SIGKILL)
        parent.wait(10)
