"""Retries, partial batch responses, bisection, retry/age limits and the on-failure queue."""

import json
import re
from collections import Counter

ISO_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def deliveries(env):
    return Counter(n for call in env.calls() for n in call["ns"])


def test_partial_failure_retries_from_the_lowest_failed_record(trigger_env):
    seqs = trigger_env.put(
        {"n": 0},
        {"n": 1},
        {"n": 2, "fail_times": 2},
        {"n": 3},
        {"n": 4, "fail_times": 1},
        {"n": 5},
    )
    runner = trigger_env.run(BatchSize=10, FunctionResponseTypes=["ReportBatchItemFailures"])
    assert runner.wait_until_caught_up(15)
    calls = trigger_env.calls()
    assert [c["ns"] for c in calls] == [[0, 1, 2, 3, 4, 5], [2, 3, 4, 5], [2, 3, 4, 5]]
    assert calls[1]["seqs"][0] == seqs[2]
    shard = runner.status()["functions"]["TestFunction"]["shards"]["shardId-000000000000"]
    assert shard["records_processed"] == 6
    assert shard["partial_failures"] == 2
    assert shard["retries"] == 2
    assert shard["function_errors"] == 0
    assert trigger_env.failures() == []


def test_batch_item_failures_are_ignored_without_report_batch_item_failures(trigger_env):
    trigger_env.put({"n": 0}, {"n": 1, "fail_times": 5})
    runner = trigger_env.run(BatchSize=10)
    assert runner.wait_until_caught_up(15)
    assert [c["ns"] for c in trigger_env.calls()] == [[0, 1]]


def test_an_invalid_item_identifier_fails_the_whole_batch(trigger_env):
    trigger_env.put({"n": 0}, {"n": 1, "invalid_identifier": True})
    runner = trigger_env.run(BatchSize=10, FunctionResponseTypes=["ReportBatchItemFailures"])
    assert runner.wait_until_caught_up(15)
    assert [c["ns"] for c in trigger_env.calls()] == [[0, 1], [0, 1]]
    totals = runner.status()["functions"]["TestFunction"]["totals"]
    assert totals["invalid_responses"] == 1
    assert totals["records_processed"] == 2


def test_retries_exhausted_send_the_exact_lambda_message_and_the_shard_moves_on(trigger_env):
    seqs = trigger_env.put({"n": 0}, {"n": 1, "raise": True}, {"n": 2})
    runner = trigger_env.run(
        BatchSize=10,
        MaximumRetryAttempts=2,
        DestinationConfig={
            "OnFailure": {"Type": "SQS", "Destination": {"Fn::GetAtt": ["Failures", "Arn"]}}
        },
    )
    (message,) = trigger_env.failures(wait=15)
    assert set(message) == {
        "requestContext",
        "responseContext",
        "version",
        "timestamp",
        "KinesisBatchInfo",
    }
    context = message["requestContext"]
    assert set(context) == {"requestId", "functionArn", "condition", "approximateInvokeCount"}
    assert context["functionArn"] == (
        f"arn:aws:lambda:us-east-1:123456789012:function:{trigger_env.name}-fn"
    )
    assert context["condition"] == "RetryAttemptsExhausted"
    assert context["approximateInvokeCount"] == 3  # first try + 2 retries
    assert message["responseContext"] == {
        "statusCode": 200,
        "executedVersion": "$LATEST",
        "functionError": "Unhandled",
    }
    assert message["version"] == "1.0"
    assert ISO_MS.match(message["timestamp"])
    info = message["KinesisBatchInfo"]
    assert info["shardId"] == "shardId-000000000000"
    assert info["startSequenceNumber"] == seqs[0]
    assert info["endSequenceNumber"] == seqs[2]
    assert info["batchSize"] == 3
    assert info["streamArn"] == trigger_env.stream_arn
    assert ISO_MS.match(info["approximateArrivalOfFirstRecord"])
    assert ISO_MS.match(info["approximateArrivalOfLastRecord"])
    assert deliveries(trigger_env) == {0: 3, 1: 3, 2: 3}
    trigger_env.put({"n": 3})  # the shard is not blocked any more
    assert runner.wait_until_caught_up(15)
    assert deliveries(trigger_env)[3] == 1
    totals = runner.status()["functions"]["TestFunction"]["totals"]
    assert totals["records_to_on_failure"] == 3
    assert totals["batches_to_on_failure"] == 1
    assert totals["function_errors"] == 3


def test_bisection_isolates_the_failing_record(trigger_env):
    trigger_env.put(*({"n": i, "raise": i == 5} for i in range(8)))
    runner = trigger_env.run(
        BatchSize=10,
        BisectBatchOnFunctionError=True,
        MaximumRetryAttempts=1,
        DestinationConfig={
            "OnFailure": {"Type": "SQS", "Destination": {"Fn::GetAtt": ["Failures", "Arn"]}}
        },
    )
    (message,) = trigger_env.failures(wait=15)
    assert runner.wait_until_caught_up(15)
    info = message["KinesisBatchInfo"]
    assert info["batchSize"] == 1
    five = next(c for c in trigger_env.calls() if c["ns"] == [5])
    assert info["startSequenceNumber"] == info["endSequenceNumber"] == five["seqs"][0]
    assert message["requestContext"]["approximateInvokeCount"] == 2
    # [0..7] fails -> [0..3] ok, [4..7] fails -> [4,5] fails -> [4] ok, [5] fails twice; [6,7] ok
    assert [c["ns"] for c in trigger_env.calls()] == [
        list(range(8)),
        [0, 1, 2, 3],
        [4, 5, 6, 7],
        [4, 5],
        [4],
        [5],
        [5],
        [6, 7],
    ]
    totals = runner.status()["functions"]["TestFunction"]["totals"]
    assert totals["records_processed"] == 7
    assert totals["records_to_on_failure"] == 1
    assert totals["bisections"] == 3


def test_records_older_than_the_maximum_age_are_given_up(trigger_env):
    trigger_env.put({"n": 0, "raise": True}, {"n": 1})
    runner = trigger_env.run(
        BatchSize=10,
        MaximumRecordAgeInSeconds=1,
        MaximumRetryAttempts=-1,
        DestinationConfig={
            "OnFailure": {"Type": "SQS", "Destination": {"Fn::GetAtt": ["Failures", "Arn"]}}
        },
    )
    (message,) = trigger_env.failures(wait=15)
    assert message["requestContext"]["condition"] == "RecordAgeExceeded"
    assert message["KinesisBatchInfo"]["batchSize"] == 2
    trigger_env.put({"n": 2})
    assert runner.wait_until_caught_up(15)
    assert deliveries(trigger_env)[2] == 1
    assert runner.status()["functions"]["TestFunction"]["totals"]["records_expired"] == 2


def test_a_crash_or_a_timeout_is_a_function_error_and_the_runner_survives(trigger_env):
    trigger_env.put({"n": 0, "crash_times": 1}, {"n": 1, "sleep_times": 1, "sleep": 30}, {"n": 2})
    runner = trigger_env.run(timeout=1, BatchSize=1)
    assert runner.wait_until_caught_up(20)
    calls = trigger_env.calls()
    assert [c["ns"] for c in calls] == [[0], [0], [1], [1], [2]]
    assert len({c["pid"] for c in calls}) == 3  # a new worker after the crash and the timeout
    totals = runner.status()["functions"]["TestFunction"]["totals"]
    assert totals["function_errors"] == 2
    assert totals["records_processed"] == 3
    reports = [
        json.loads(line)
        for line in runner.log_file.read_text().splitlines()
        if '"platform.report"' in line
    ]
    errors = [r["errorType"] for r in reports if r["status"] == "error"]
    assert errors == ["Runtime.ExitError", "Sandbox.Timedout"]


def test_a_handler_that_cannot_be_imported_is_a_function_error(trigger_env):
    trigger_env.put({"n": 0})
    runner = trigger_env.run(
        handler="no_such_handler",
        MaximumRetryAttempts=0,
        DestinationConfig={
            "OnFailure": {"Type": "SQS", "Destination": {"Fn::GetAtt": ["Failures", "Arn"]}}
        },
    )
    (message,) = trigger_env.failures(wait=15)
    assert message["requestContext"]["approximateInvokeCount"] == 1
    assert runner.status()["functions"]["TestFunction"]["totals"]["function_errors"] == 1
    log = runner.log_file.read_text()
    assert '"platform.initError"' in log
    assert "Runtime.HandlerNotFound" in log
