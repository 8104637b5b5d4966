"""Test handlers for the trigger runner, imported by its worker processes by name.

Each record's data is JSON telling the handler how to behave on that record, so one handler
serves every test. Deliveries are counted in files under ``$OUT_DIR`` (workers are separate
processes) and every invocation is appended to ``$OUT_DIR/calls.jsonl``.
"""

import base64
import json
import os
import sys
import time
from pathlib import Path

OUT = Path(os.environ.get("OUT_DIR", "/nonexistent"))
STARTED_PID = os.getpid()


def _append(path: Path, line: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, (line + "\n").encode())
    finally:
        os.close(fd)


def _delivery_count(seq: str) -> int:
    """How many times this record has been delivered, this delivery included."""
    folder = OUT / "deliveries"
    folder.mkdir(exist_ok=True)
    _append(folder / seq, "x")
    return len((folder / seq).read_text().splitlines())


def behave(event, context):
    records = event["Records"]
    start = time.time()
    decoded = [json.loads(base64.b64decode(r["kinesis"]["data"])) for r in records]
    counts = [_delivery_count(r["kinesis"]["sequenceNumber"]) for r in records]
    call = {
        "pid": os.getpid(),
        "start": start,
        "request_id": context.aws_request_id,
        "remaining_ms": context.get_remaining_time_in_millis(),
        "keys": [r["kinesis"]["partitionKey"] for r in records],
        "seqs": [r["kinesis"]["sequenceNumber"] for r in records],
        "ns": [d.get("n") for d in decoded],
    }
    if (OUT / "capture-event").exists():
        call["event"] = event
        call["env"] = dict(os.environ)
        call["context"] = {
            "function_name": context.function_name,
            "invoked_function_arn": context.invoked_function_arn,
            "memory_limit_in_mb": context.memory_limit_in_mb,
        }
    _append(OUT / "calls.jsonl", json.dumps(call))
    print(json.dumps({"level": "INFO", "message": "batch", "records": len(records)}))
    print("a plain line from the handler")
    failures = []
    for record, data, count in zip(records, decoded, counts, strict=True):
        if count <= data.get("crash_times", 0):
            os._exit(3)
        if count <= data.get("sleep_times", 0):
            time.sleep(data.get("sleep", 0))
        if data.get("raise") or count <= data.get("raise_times", 0):
            raise RuntimeError(f"record {data.get('n')} failed")
        if count <= data.get("fail_times", 0):
            failures.append({"itemIdentifier": record["kinesis"]["sequenceNumber"]})
        if data.get("invalid_identifier") and count == 1:
            failures.append({"itemIdentifier": "not-a-sequence-number"})
    time.sleep(float(os.environ.get("HANDLER_SLEEP", "0")))
    _append(OUT / "ends.jsonl", json.dumps({"start": start, "end": time.time()}))
    print("to stderr", file=sys.stderr)
    return {"batchItemFailures": failures}
