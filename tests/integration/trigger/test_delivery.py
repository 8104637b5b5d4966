"""What the handler receives: the exact Lambda event, environment, context; status and logs."""

import base64
import json
import urllib.request

from devstack.standins.trigger import TriggerRunner
from tests.fixtures.kinesis_events import KINESIS_KEYS, RECORD_KEYS


def test_event_is_exactly_what_lambda_delivers(trigger_env, moto_server):
    (trigger_env.out / "capture-event").touch()
    seqs = trigger_env.put({"n": 1}, {"n": 2, "key": "other"}, {"n": 3})
    runner = trigger_env.run(BatchSize=10)
    assert runner.wait_until_caught_up(15)
    (call,) = trigger_env.calls()
    records = call["event"]["Records"]
    assert [r["kinesis"]["sequenceNumber"] for r in records] == seqs
    first = records[0]
    assert set(first) == RECORD_KEYS
    assert set(first["kinesis"]) == KINESIS_KEYS
    assert first["kinesis"]["kinesisSchemaVersion"] == "1.0"
    assert first["kinesis"]["partitionKey"] == "k"
    assert records[1]["kinesis"]["partitionKey"] == "other"
    assert json.loads(base64.b64decode(first["kinesis"]["data"])) == {"n": 1}
    assert isinstance(first["kinesis"]["approximateArrivalTimestamp"], float)
    assert first["eventSource"] == "aws:kinesis"
    assert first["eventVersion"] == "1.0"
    assert first["eventName"] == "aws:kinesis:record"
    assert first["eventID"] == f"shardId-000000000000:{seqs[0]}"
    assert first["eventSourceARN"] == trigger_env.stream_arn
    assert first["awsRegion"] == "us-east-1"
    assert first["invokeIdentityArn"].startswith("arn:aws:iam::123456789012:role/")
    env = call["env"]
    assert env["OUT_DIR"] == str(trigger_env.out)
    assert env["QUEUE_URL"].endswith(f"/123456789012/{trigger_env.name}-failures")
    assert env["AWS_LAMBDA_FUNCTION_NAME"] == f"{trigger_env.name}-fn"
    assert env["AWS_ENDPOINT_URL_KINESIS"] == moto_server
    assert env["AWS_ACCESS_KEY_ID"] == "testing"
    assert "FEATURESTREAM_STATE_DIR" not in env  # only endpoints/credentials pass through
    assert call["context"]["function_name"] == f"{trigger_env.name}-fn"
    assert call["context"]["invoked_function_arn"].endswith(f":function:{trigger_env.name}-fn")
    assert 0 < call["remaining_ms"] <= 10_000


def test_status_endpoint_and_handler_log(trigger_env):
    trigger_env.put(*({"n": i} for i in range(5)))
    runner = trigger_env.start(
        TriggerRunner(trigger_env.template(BatchSize=2), status_port=0, **trigger_env.options)
    )
    assert runner.wait_until_caught_up(15)
    with urllib.request.urlopen(runner.status_url + "/health") as response:
        assert response.status == 200
    with urllib.request.urlopen(runner.status_url + "/status") as response:
        status = json.load(response)
    assert status["caught_up"] is True
    function = status["functions"]["TestFunction"]
    assert function["settings"]["BatchSize"] == 2
    shard = function["shards"]["shardId-000000000000"]
    assert shard["records_read"] == 5
    assert shard["records_processed"] == 5
    assert shard["batches_invoked"] == 3
    assert shard["function_errors"] == 0
    assert shard["behind"] == 0
    assert function["totals"]["records_processed"] == 5
    lines = runner.log_file.read_text().splitlines()
    entries = [json.loads(line) for line in lines]  # every line is JSON
    assert any(e.get("message") == "batch" for e in entries)
    assert any(e.get("message") == "a plain line from the handler" for e in entries)
    assert any(e.get("stream") == "stderr" for e in entries)
    reports = [e for e in entries if e.get("type") == "platform.report"]
    assert len(reports) == 3
    assert all(r["status"] == "success" for r in reports)


def test_workers_are_reused_like_warm_containers(trigger_env):
    trigger_env.put(*({"n": i} for i in range(6)))
    runner = trigger_env.run(BatchSize=2)
    assert runner.wait_until_caught_up(15)
    calls = trigger_env.calls()
    assert len(calls) == 3
    assert len({c["pid"] for c in calls}) == 1


def test_starting_position_latest_skips_earlier_records(trigger_env):
    trigger_env.put({"n": 1}, {"n": 2})
    runner = trigger_env.run(StartingPosition="LATEST")
    trigger_env.put({"n": 3}, {"n": 4})
    assert runner.wait_until_caught_up(15)
    assert [n for c in trigger_env.calls() for n in c["ns"]] == [3, 4]


def test_a_stream_created_after_start_is_picked_up(trigger_env):
    trigger_env.kinesis.delete_stream(StreamName=trigger_env.stream)
    runner = trigger_env.run()
    assert runner.status()["functions"]["TestFunction"]["stream_found"] is False
    trigger_env.kinesis.create_stream(
        StreamName=trigger_env.stream,
        ShardCount=1,
        StreamModeDetails={"StreamMode": "PROVISIONED"},
    )
    trigger_env.put({"n": 1})
    assert runner.wait_until_caught_up(15)
    assert [c["ns"] for c in trigger_env.calls()] == [[1]]
