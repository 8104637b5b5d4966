"""The one local Lambda context: what handlers and Powertools read from it."""

import time

from devstack.stack.lambda_context import LocalContext


def test_a_context_for_a_function_carries_its_names_and_lambdas_defaults():
    context = LocalContext.for_function("InferenceFunction", aws_request_id="req-1")
    assert context.function_name == "InferenceFunction"
    assert (
        context.invoked_function_arn
        == "arn:aws:lambda:us-east-1:123456789012:function:InferenceFunction"
    )
    assert context.log_group_name == "/aws/lambda/InferenceFunction"
    assert context.function_version == "$LATEST"
    assert context.memory_limit_in_mb == 512
    assert context.aws_request_id == "req-1"


def test_each_context_gets_its_own_request_id_unless_given():
    first = LocalContext.for_function("f")
    second = LocalContext.for_function("f")
    assert first.aws_request_id != second.aws_request_id


def test_the_remaining_time_counts_down_from_the_timeout():
    context = LocalContext.for_function("f", timeout_seconds=0.3)
    assert 200 < context.get_remaining_time_in_millis() <= 300
    time.sleep(0.35)
    assert context.get_remaining_time_in_millis() == 0
