"""Mappings read from the real template, and the handler log's JSON lines."""

import json
from pathlib import Path

from devstack.standins.trigger.config import load_mappings
from devstack.standins.trigger.logfile import JsonLog, LineWriter

TEMPLATE = Path(__file__).resolve().parents[3] / "template.yaml"


def test_both_functions_map_with_the_template_settings(monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL_KINESIS", "http://127.0.0.1:1")
    monkeypatch.setenv("UNRELATED_SECRET", "x")
    mappings = {m.function_id: m for m in load_mappings(TEMPLATE, stack_name="demo")}
    assert set(mappings) == {"CustomerFeaturesFunction", "OrderFeaturesFunction"}
    order = mappings["OrderFeaturesFunction"]
    assert order.stream_name == "demo-order-events"
    assert order.stream_arn == "arn:aws:kinesis:us-east-1:123456789012:stream/demo-order-events"
    assert order.function_name == "demo-order-features"
    assert order.handler == "handlers.order_features.lambda_handler"
    assert order.code_dir == TEMPLATE.parent / "functions"
    assert order.timeout == 120
    assert (order.batch_size, order.batching_window, order.parallelization_factor) == (500, 1, 1)
    assert order.bisect_on_error
    assert order.maximum_retry_attempts == 10
    assert order.maximum_record_age == 86400
    assert order.report_batch_item_failures
    assert order.starting_position == "TRIM_HORIZON"
    assert order.on_failure_arn == "arn:aws:sqs:us-east-1:123456789012:demo-stream-failures"
    env = order.environment
    assert env["FEATURE_GROUP_NAME"] == "demo-orders"
    assert env["QUARANTINE_QUEUE_URL"].endswith("/123456789012/demo-quarantine")
    assert env["AWS_LAMBDA_FUNCTION_NAME"] == "demo-order-features"
    assert env["AWS_ENDPOINT_URL_KINESIS"] == "http://127.0.0.1:1"
    assert "UNRELATED_SECRET" not in env


def test_parameter_overrides_and_env_overrides_apply():
    (order,) = [
        m
        for m in load_mappings(
            TEMPLATE,
            parameters={"BatchSize": "7", "ParallelizationFactor": "3"},
            env_overrides={"OrderFeaturesFunction": {"PUT_CONCURRENCY": "4"}},
        )
        if m.function_id == "OrderFeaturesFunction"
    ]
    assert order.batch_size == 7
    assert order.parallelization_factor == 3
    assert order.environment["PUT_CONCURRENCY"] == "4"


def test_line_writer_keeps_json_and_wraps_everything_else(tmp_path):
    log = JsonLog(tmp_path / "logs" / "handlers.log")
    out = LineWriter(log, "fn", "stdout")
    out.write('{"level":"INFO","message":"json"}\nplain ')
    out.write("text\n\n")
    err = LineWriter(log, "fn", "stderr")
    err.write("Traceback (most recent call last):")
    err.flush()
    log.platform("report", "fn", requestId="r", durationMs=1.5)
    log.close()
    lines = [
        json.loads(line) for line in (tmp_path / "logs" / "handlers.log").read_text().splitlines()
    ]
    assert lines[0] == {"level": "INFO", "message": "json"}
    assert lines[1]["message"] == "plain text"
    assert lines[1]["function"] == "fn"
    assert lines[1]["level"] == "INFO"
    assert lines[2]["level"] == "ERROR"
    assert lines[2]["stream"] == "stderr"
    assert lines[3]["type"] == "platform.report"
    assert lines[3]["durationMs"] == 1.5
    assert len(lines) == 4
