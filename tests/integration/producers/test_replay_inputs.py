"""``featurestream replay`` on hostile input and bad paths, against moto's Kinesis: a clear
error naming file, line and field (or the option), never a traceback, and nothing lost."""

import json
from pathlib import Path

import boto3
import pytest
from click.testing import CliRunner, Result

import producers.publisher
from featurestream_cli.main import cli
from tests.integration.producers.conftest import Streams
from tests.unit.producers.support import (
    CUSTOMER_HEADER,
    ORDER_HEADER,
    RecordingClient,
    customer_row,
    order_row,
    write_csv,
    write_exports,
)


def run(args: list[str]) -> Result:
    """catch_exceptions=False: an uncaught exception (a traceback) fails the test."""
    return CliRunner().invoke(cli, args, catch_exceptions=False)


def ids(records: list[bytes]) -> list[str]:
    return [json.loads(record)["event_id"] for record in records]


@pytest.fixture
def exports(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    monkeypatch.chdir(tmp_path)
    return write_exports(tmp_path, customers=3, orders_per_customer=1)


def replay(exports: tuple[Path, Path], *extra: str) -> Result:
    customers, orders = exports
    return run(["replay", "--customers", str(customers), "--orders", str(orders), *extra])


def test_duplicate_order_ids_are_reported_and_follow_on_error(
    streams: Streams, exports: tuple[Path, Path]
) -> None:
    _, orders = exports
    write_csv(
        orders,
        ORDER_HEADER,
        [
            order_row(0, "O1", "C1", "2021-01-01 12:00:00"),
            order_row(1, "O2", "C2", "2021-01-02 12:00:00"),
            order_row(2, "O1", "C3", "2021-01-03 12:00:00", amount="70"),  # a different order
        ],
    )
    fail = replay(exports, "--only", "orders", "--on-error", "fail")
    assert fail.exit_code == 3
    assert f"{orders}:4: order_id: duplicate of line 2" in fail.stderr
    assert streams.read(streams.order) == []  # nothing sent

    skip = replay(exports, "--only", "orders")
    assert skip.exit_code == 0
    assert "skipped   1 bad rows (orders.csv: order_id x1)" in skip.stderr
    stored = [json.loads(record) for record in streams.read(streams.order)]
    assert [(e["event_id"], e["data"]["customer_id"]) for e in stored] == [
        ("order.placed:O1", "C1"),
        ("order.placed:O2", "C2"),
    ]


def test_bad_bytes_and_huge_fields_are_bad_rows_not_tracebacks(
    streams: Streams, exports: tuple[Path, Path]
) -> None:
    customers, _ = exports
    rows = [
        customer_row(0, "C1", "2020-01-01 10:00:00").encode(),
        customer_row(1, "C2", "2020-01-02 10:00:00").encode().replace(b",C2,", b",C\xff2,"),
        customer_row(2, "C3", "2020-01-03 10:00:00").replace("Jane Doe", "J" * 200_000).encode(),
        customer_row(3, "C4", "2020-01-04 10:00:00").encode(),
    ]
    customers.write_bytes(b"\n".join([CUSTOMER_HEADER.encode(), *rows]) + b"\n")
    result = replay(exports, "--only", "customers")
    assert result.exit_code == 0
    assert f"{customers}:3: customer_id: not valid UTF-8" in result.stderr
    assert f"{customers}:4: name: longer than 131072 characters" in result.stderr
    assert "JJJJ" not in result.stderr
    assert ids(streams.read(streams.customer)) == [
        "customer.registered:C1",
        "customer.registered:C4",
    ]


def test_since_not_before_until_is_a_usage_error(
    streams: Streams, exports: tuple[Path, Path]
) -> None:
    for since, until in (("2021-06-01", "2021-01-01"), ("2021-01-01", "2021-01-01")):
        result = replay(exports, "--since", since, "--until", until)
        assert result.exit_code == 2
        assert "--since must be earlier than --until" in result.stderr
    assert streams.read(streams.customer) == streams.read(streams.order) == []


@pytest.mark.parametrize("option", ["--failed-file", "--checkpoint"])
def test_unwritable_outputs_are_refused_before_anything_is_sent(
    streams: Streams, exports: tuple[Path, Path], tmp_path: Path, option: str
) -> None:
    for path, reason in (
        (tmp_path / "missing" / "x", "folder"),
        (tmp_path, "is a directory"),  # click.Path(dir_okay=False)
    ):
        result = replay(exports, option, str(path))
        assert result.exit_code == 2, result.stderr
        assert option in result.stderr and reason in result.stderr
    assert streams.read(streams.customer) == streams.read(streams.order) == []


def test_checkpoint_of_a_missing_input_is_a_usage_error(
    streams: Streams, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = run(
        ["replay", "--customers", "nope.csv", "--only", "customers", "--checkpoint", "ckpt"]
    )
    assert result.exit_code == 2
    assert "nope.csv: cannot open (No such file or directory)" in result.stderr


def test_failures_before_a_stream_error_still_reach_the_failed_file(
    streams: Streams, exports: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    c2_fails = RecordingClient(
        lambda key, data, attempt: "InternalFailure" if key == "C2" else None,
        inner=boto3.client("kinesis"),
    )
    monkeypatch.setattr(producers.publisher, "make_kinesis_client", lambda **kwargs: c2_fails)
    monkeypatch.setattr(producers.publisher.RetryPolicy, "delay", lambda self, retry, rng: 0.0)
    result = replay(exports, "--order-stream", "no-such-stream")
    assert result.exit_code == 1
    assert "'no-such-stream' not found" in result.stderr
    assert ids(Path("failed-events.jsonl").read_bytes().splitlines()) == ["customer.registered:C2"]
