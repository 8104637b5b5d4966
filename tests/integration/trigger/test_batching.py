"""BatchSize, the batching window, ParallelizationFactor lanes and a clean stop."""

import json
import time

from devstack.standins.trigger import TriggerRunner
from devstack.standins.trigger.batching import lane_for
from tests.fixtures.trigger import wait_for


def test_batch_size_caps_each_invocation(trigger_env):
    trigger_env.put(*({"n": i} for i in range(25)))
    runner = trigger_env.run(BatchSize=10)
    assert runner.wait_until_caught_up(15)
    assert [len(c["ns"]) for c in trigger_env.calls()] == [10, 10, 5]
    assert [n for c in trigger_env.calls() for n in c["ns"]] == list(range(25))


def test_the_batching_window_gathers_records_into_one_invocation(trigger_env):
    runner = trigger_env.run(BatchSize=100, MaximumBatchingWindowInSeconds=2)
    first = time.time()
    for i in range(5):
        trigger_env.put({"n": i})
        time.sleep(0.15)
    wait_for(trigger_env.calls, timeout=10)
    assert runner.wait_until_caught_up(15)
    (call,) = trigger_env.calls()
    assert call["ns"] == [0, 1, 2, 3, 4]
    assert call["start"] - first >= 1.5  # waited for the window, not for BatchSize


def test_without_a_window_records_are_invoked_as_soon_as_read(trigger_env):
    runner = trigger_env.run(BatchSize=100, MaximumBatchingWindowInSeconds=0)
    for i in range(3):
        trigger_env.put({"n": i})
        wait_for(lambda i=i: len(trigger_env.calls()) == i + 1, timeout=10)
    assert runner.wait_until_caught_up(15)
    assert [c["ns"] for c in trigger_env.calls()] == [[0], [1], [2]]


def test_parallelization_runs_lanes_concurrently_and_keeps_per_key_order(trigger_env):
    keys = [f"customer-{i}" for i in range(8)]
    items = [{"n": i, "key": keys[i % len(keys)]} for i in range(80)]
    trigger_env.put(*items)
    runner = trigger_env.start(
        TriggerRunner(
            trigger_env.template(BatchSize=5, ParallelizationFactor=4),
            env_overrides={"TestFunction": {"HANDLER_SLEEP": "0.2"}},
            max_workers_per_function=4,
            **trigger_env.options,
        )
    )
    assert runner.wait_until_caught_up(30)
    calls = trigger_env.calls()
    delivered = [n for c in calls for n in c["ns"]]
    assert sorted(delivered) == list(range(80))  # each record once
    for key in keys:  # per key: in stream order
        ns = [n for c in calls for k, n in zip(c["keys"], c["ns"], strict=True) if k == key]
        assert ns == sorted(ns)
    for call in calls:  # a batch holds one lane's keys only
        assert len({lane_for(k, 4) for k in call["keys"]}) == 1
    assert len({c["pid"] for c in calls}) > 1  # several warm workers
    ends = [json.loads(line) for line in (trigger_env.out / "ends.jsonl").read_text().splitlines()]
    overlapping = max(
        sum(1 for other in ends if other["start"] < e["end"] and e["start"] < other["end"])
        for e in ends
    )
    assert overlapping > 1


def test_stop_lets_the_invocation_in_flight_finish(trigger_env):
    trigger_env.put({"n": 0, "sleep_times": 1, "sleep": 1.0})
    runner = trigger_env.run(BatchSize=10)
    wait_for(trigger_env.calls, timeout=10)
    runner.stop()
    ends = (trigger_env.out / "ends.jsonl").read_text().splitlines()
    assert len(ends) == 1
    assert runner.status()["functions"]["TestFunction"]["totals"]["records_processed"] == 1
