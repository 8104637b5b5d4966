"""``featurestream replay`` and ``publish`` end to end against moto's Kinesis."""

import json
from pathlib import Path

import boto3
import pytest
from click.testing import CliRunner, Result

import producers.publisher
from featurestream_cli.main import cli
from producers.replay import ReplayOptions, run_replay
from producers.streams import StreamNames
from tests.integration.producers.conftest import Streams
from tests.unit.producers.support import (
    CUSTOMER_HEADER,
    RecordingClient,
    customer_row,
    order_event,
    write_csv,
    write_exports,
)


def run(args: list[str], stdin: bytes | None = None) -> Result:
    return CliRunner().invoke(cli, args, input=stdin, catch_exceptions=False)


def ids(records: list[bytes]) -> list[str]:
    return [json.loads(record)["event_id"] for record in records]


@pytest.fixture
def exports(tmp_path: Path) -> tuple[Path, Path]:
    return write_exports(tmp_path, customers=6, orders_per_customer=3)


def replay_args(exports: tuple[Path, Path], *extra: str) -> list[str]:
    customers, orders = exports
    return ["replay", "--customers", str(customers), "--orders", str(orders), *extra]


def test_dry_run_output_is_exactly_what_is_sent(
    streams: Streams, exports: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    dry = run(replay_args(exports, "--dry-run"))
    assert dry.exit_code == 0, dry.stderr
    lines = dry.stdout.encode().splitlines()
    assert len(lines) == 24 and all(json.loads(line) for line in lines)  # stdout is clean
    times = [json.loads(line)["event_time"] for line in lines]
    assert times == sorted(times)  # event-time order across both files
    sent = run(replay_args(exports))
    assert sent.exit_code == 0, sent.stderr
    assert "sent      24" in sent.stderr
    assert streams.read(streams.customer) == [line for line in lines if b'"customer.' in line]
    assert streams.read(streams.order) == [line for line in lines if b'"order.' in line]


def test_limit_only_and_window_select_the_timeline(
    streams: Streams, exports: tuple[Path, Path]
) -> None:
    result = run(replay_args(exports, "--only", "orders", "--since", "2021-02-01", "--limit", "4"))
    assert result.exit_code == 0, result.stderr
    stored = [json.loads(d) for d in streams.read(streams.order)]
    assert len(stored) == 4 and all(e["event_time"] >= "2021-02-01" for e in stored)
    assert streams.read(streams.customer) == []


def test_checkpoint_resume_after_interruption_leaves_no_gaps(
    streams: Streams, exports: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = boto3.client("kinesis")
    calls = 0

    class InterruptOnThirdCall:
        def put_records(self, **kwargs):
            nonlocal calls
            calls += 1
            if calls == 3:
                raise KeyboardInterrupt
            return real.put_records(**kwargs)

    checkpoint = tmp_path / "replay.ckpt"
    customers, orders = exports
    options = ReplayOptions(
        customers=customers,
        orders=orders,
        streams=StreamNames(streams.customer, streams.order),
        checkpoint=checkpoint,
        failed_file=tmp_path / "failed.jsonl",
        chunk_records=5,
    )
    from producers.publisher import EventPublisher

    publisher = EventPublisher(options.streams, client=InterruptOnThirdCall(), flush_at_exit=False)
    first = run_replay(options, publisher=publisher)
    assert first.interrupted and first.exit_code == 130
    assert 0 < json.loads(checkpoint.read_text())["position"] < 24
    before = ids(streams.read(streams.customer)) + ids(streams.read(streams.order))
    assert 0 < len(before) < 24
    monkeypatch.chdir(tmp_path)
    second = run(replay_args(exports, "--checkpoint", str(checkpoint)))
    assert second.exit_code == 0, second.stderr
    assert "resumed   after" in second.stderr
    after = ids(streams.read(streams.customer)) + ids(streams.read(streams.order))
    dry = run(replay_args(exports, "--dry-run"))
    assert set(after) == set(ids(dry.stdout.encode().splitlines()))  # no gaps
    assert len(after) - 24 <= 5  # at most one chunk resent
    third = run(replay_args(exports, "--checkpoint", str(checkpoint)))
    assert third.exit_code == 0 and "sent      0" in third.stderr


def test_bad_rows_are_reported_with_line_and_field(
    streams: Streams, exports: tuple[Path, Path], tmp_path: Path
) -> None:
    customers, _ = exports
    write_csv(
        customers,
        CUSTOMER_HEADER,
        [
            customer_row(0, "C1", "2020-01-01 10:00:00"),
            customer_row(1, "C2", "2020-01-02 10:00:00", age="old"),
            customer_row(2, "C3", "2020-01-03 10:00:00", age="12"),
        ],
    )
    skip = run(replay_args(exports, "--only", "customers"))
    assert skip.exit_code == 0
    assert "customers.csv:3: age:" in skip.stderr and "customers.csv:4: age:" in skip.stderr
    assert "skipped   2 bad rows (customers.csv: age x2)" in skip.stderr
    assert "Jane" not in skip.stderr  # no names in reports
    assert ids(streams.read(streams.customer)) == ["customer.registered:C1"]
    fail = run(replay_args(exports, "--only", "customers", "--on-error", "fail"))
    assert fail.exit_code == 3
    assert ids(streams.read(streams.customer)) == ["customer.registered:C1"]  # nothing new


def test_exit_codes(streams: Streams, exports: tuple[Path, Path], tmp_path: Path) -> None:
    assert run(replay_args(exports, "--only", "everything")).exit_code == 2
    missing = run(["replay", "--customers", str(tmp_path / "nope.csv"), "--only", "customers"])
    assert missing.exit_code == 2 and "cannot open" in missing.stderr
    assert "Traceback" not in missing.output
    no_stream = run(
        replay_args(
            exports, "--order-stream", "no-such-stream", "--failed-file", str(tmp_path / "f")
        )
    )
    assert no_stream.exit_code == 1 and "'no-such-stream' not found" in no_stream.stderr


def test_failed_events_go_to_a_file_that_publish_resends(
    streams: Streams, exports: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    real = boto3.client("kinesis")
    broken = RecordingClient(
        lambda key, data, attempt: "InternalFailure" if key == "C2" else None, inner=real
    )
    monkeypatch.setattr(producers.publisher, "make_kinesis_client", lambda **kwargs: broken)
    monkeypatch.setattr(producers.publisher.RetryPolicy, "delay", lambda self, retry, rng: 0.0)
    result = run(replay_args(exports))
    assert result.exit_code == 1
    assert "failed    4" in result.stderr  # C2's registration and its three orders
    failed_file = tmp_path / "failed-events.jsonl"
    failed_ids = ids(failed_file.read_bytes().splitlines())
    # customer stream first, then C2's orders in their original (event-time) order
    assert failed_ids == [
        "customer.registered:C2",
        "order.placed:O4",
        "order.placed:O5",
        "order.placed:O6",
    ]
    monkeypatch.setattr(producers.publisher, "make_kinesis_client", lambda **kwargs: real)
    again = run(["publish", str(failed_file)])
    assert again.exit_code == 0, again.stderr
    assert not failed_file.exists()  # everything went through
    stored = ids(streams.read(streams.customer)) + ids(streams.read(streams.order))
    assert set(failed_ids) <= set(stored) and len(set(stored)) == 24


def test_publish_from_stdin_reports_invalid_lines(streams: Streams, tmp_path: Path) -> None:
    good = json.dumps(order_event(1)).encode()
    bad_event = order_event(2)
    bad_event["data"]["purchase_amount"] = -1
    lines = b"\n".join([good, json.dumps(bad_event).encode(), b"{not json", good]) + b"\n"
    failed = str(tmp_path / "f.jsonl")
    result = run(["publish", "--failed-file", failed], stdin=lines)
    assert result.exit_code == 0, result.stderr
    assert "<stdin>:2: data.purchase_amount" in result.stderr
    assert "<stdin>:3: payload is not valid JSON" in result.stderr
    assert ids(streams.read(streams.order)) == ["order.placed:O1", "order.placed:O1"]
    stop = run(["publish", "--on-error", "fail", "--failed-file", failed], stdin=lines)
    assert stop.exit_code == 3


def test_interrupt_flushes_and_exits_130(
    streams: Streams, exports: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = boto3.client("kinesis")

    class CtrlCAfterFirstCall:
        calls = 0

        def put_records(self, **kwargs):
            CtrlCAfterFirstCall.calls += 1
            if CtrlCAfterFirstCall.calls == 2:
                raise KeyboardInterrupt
            return real.put_records(**kwargs)

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(
        producers.publisher, "make_kinesis_client", lambda **kwargs: CtrlCAfterFirstCall()
    )
    result = run(replay_args(exports, "--rate", "1000"))
    assert result.exit_code == 130
    assert "interrupted" in result.stderr
    assert "sent      24" in result.stderr  # what was buffered was flushed
    assert len(streams.read(streams.customer)) + len(streams.read(streams.order)) == 24
