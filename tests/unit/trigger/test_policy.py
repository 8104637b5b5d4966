"""Lambda's decisions after an invocation (hand-written ESM semantics)."""

import pytest

from devstack.standins.trigger.policy import Batch, Verdict, exhausted, expired_prefix, judge, plan
from devstack.standins.trigger.pool import InvokeResult
from devstack.standins.trigger.records import StreamRecord


def records(n, arrival=1000.0):
    return [
        StreamRecord("shardId-000000000000", str(100 + i), "k", b"x", arrival + i) for i in range(n)
    ]


def ok(response):
    return InvokeResult("r", response=response)


def failures(*seqs):
    return {"batchItemFailures": [{"itemIdentifier": s} for s in seqs]}


@pytest.mark.parametrize(
    "response", [None, {}, {"batchItemFailures": []}, {"batchItemFailures": None}, "text", [1]]
)
def test_empty_or_absent_failures_are_success(response):
    assert judge(ok(response), records(3), report_batch_item_failures=True).kind == "success"


def test_the_lowest_failed_sequence_number_is_the_checkpoint():
    verdict = judge(ok(failures("103", "101")), records(5), report_batch_item_failures=True)
    assert verdict == Verdict("partial", failed_from=1, reason="batchItemFailures")


@pytest.mark.parametrize(
    "items",
    [
        [{"itemIdentifier": ""}],
        [{"itemIdentifier": None}],
        [{"ItemIdentifier": "101"}],
        [{"itemIdentifier": "999"}],
        ["101"],
    ],
)
def test_an_invalid_item_identifier_fails_the_whole_batch(items):
    verdict = judge(ok({"batchItemFailures": items}), records(3), report_batch_item_failures=True)
    assert verdict.kind == "failure"
    assert not verdict.function_error


def test_failures_are_ignored_without_report_batch_item_failures():
    assert judge(ok(failures("101")), records(3), report_batch_item_failures=False).kind == (
        "success"
    )


def test_a_function_error_fails_the_batch():
    result = InvokeResult("r", error_type="RuntimeError", error_message="boom")
    verdict = judge(result, records(3), report_batch_item_failures=True)
    assert verdict.kind == "failure"
    assert verdict.function_error


def test_partial_failure_checkpoints_before_it_and_retries_the_rest():
    batch = Batch(records(5), invocations=1)
    step = plan(batch, Verdict("partial", failed_from=2), bisect=True, maximum_retry_attempts=3)
    assert step.done == 2
    (retry,) = step.retry
    assert [r.sequence_number for r in retry.records] == ["102", "103", "104"]
    assert retry.attempts == 1
    assert step.discard is None


def test_bisection_splits_without_consuming_a_retry():
    batch = Batch(records(5), attempts=1, invocations=2)
    step = plan(
        batch, Verdict("failure", function_error=True), bisect=True, maximum_retry_attempts=1
    )
    assert step.bisected
    assert [len(b.records) for b in step.retry] == [2, 3]
    assert [b.attempts for b in step.retry] == [1, 1]
    assert step.done == 0


def test_a_single_record_is_retried_until_the_limit_then_discarded():
    batch = Batch(records(1))
    failure = Verdict("failure", function_error=True)
    for attempt in (1, 2):
        step = plan(batch, failure, bisect=True, maximum_retry_attempts=2)
        (batch,) = step.retry
        assert batch.attempts == attempt
    step = plan(batch, failure, bisect=True, maximum_retry_attempts=2)
    assert step.retry == []
    assert step.discard is not None
    assert step.discard.attempts == 3


def test_zero_retries_discards_at_the_first_failure_and_minus_one_never():
    failure = Verdict("failure", function_error=True)
    assert plan(Batch(records(2)), failure, bisect=False, maximum_retry_attempts=0).discard
    assert not exhausted(10_000, -1)
    step = plan(Batch(records(2), attempts=500), failure, bisect=False, maximum_retry_attempts=-1)
    assert step.discard is None


def test_expired_prefix_counts_leading_records_older_than_the_maximum_age():
    batch = records(5, arrival=1000.0)  # arrivals 1000..1004
    assert expired_prefix(batch, 60, now=1062.5) == 3
    assert expired_prefix(batch, -1, now=1e12) == 0
    assert expired_prefix(batch, 60, now=1000.0) == 0
