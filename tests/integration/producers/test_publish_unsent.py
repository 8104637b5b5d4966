"""``featurestream publish`` never loses an event: a file of unsent events shrinks by exactly
the lines Kinesis acknowledged, even when the stream is unreachable or the process dies
while the file is rewritten."""

import json
import os
import resource
import signal
import subprocess
import sys
from pathlib import Path

import boto3
import pytest
from click.testing import CliRunner, Result

import producers.publisher
from featurestream_cli.main import cli
from tests.integration.producers.conftest import Streams
from tests.unit.producers.support import RecordingClient, order_event

UNREACHABLE = "http://127.0.0.1:9"


def run(args: list[str], stdin: bytes | None = None) -> Result:
    return CliRunner().invoke(cli, args, input=stdin, catch_exceptions=False)


def line(order: int, customer: str = "C1") -> bytes:
    """An event as another tool would write it (spaces after separators), so a rewrite that
    re-serialised instead of copying would show."""
    return json.dumps(order_event(order, customer)).encode()


def invalid_line(order: int, padding: int = 10) -> bytes:
    event = order_event(order)
    event["data"]["coupon"] = "x" * padding  # unknown field: invalid
    return json.dumps(event).encode()


def ids(records: list[bytes]) -> list[str]:
    return [json.loads(record)["event_id"] for record in records]


@pytest.fixture
def failed_events(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A failed-events file of two events and an invalid line, in the working folder."""
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "failed-events.jsonl"
    path.write_bytes(line(1) + b"\n" + b"{not json\n" + line(2) + b"\n")
    return path


def test_unreachable_endpoint_leaves_the_file_of_unsent_events_whole(
    failed_events: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The issue's reproduction: nothing was sent, so nothing may go."""
    monkeypatch.setenv("AWS_ENDPOINT_URL_KINESIS", UNREACHABLE)
    before = failed_events.read_bytes()
    result = run(["publish", "failed-events.jsonl"])
    assert result.exit_code == 1
    assert failed_events.read_bytes() == before
    assert "failed-events.jsonl:2: payload is not valid JSON" in result.stderr
    assert "not sent  2" in result.stderr
    assert "Could not connect to the endpoint URL" in result.stderr
    assert "failed-events.jsonl unchanged" in result.stderr


def test_missing_stream_leaves_the_file_whole(streams: Streams, failed_events: Path) -> None:
    before = failed_events.read_bytes()
    result = run(["publish", "failed-events.jsonl", "--order-stream", "no-such-stream"])
    assert result.exit_code == 1
    assert failed_events.read_bytes() == before
    assert "'no-such-stream' not found" in result.stderr


def test_events_from_stdin_that_a_stream_error_stopped_go_to_the_failed_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_KINESIS", UNREACHABLE)
    failed = tmp_path / "f.jsonl"
    result = run(["publish", "--failed-file", str(failed)], stdin=line(1) + b"\n" + line(2))
    assert result.exit_code == 1
    assert ids(failed.read_bytes().splitlines()) == ["order.placed:O1", "order.placed:O2"]


def test_the_file_shrinks_by_exactly_the_acknowledged_lines(
    streams: Streams, failed_events: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = boto3.client("kinesis")
    c2_fails = RecordingClient(
        lambda key, data, attempt: "InternalFailure" if key == "C2" else None, inner=real
    )
    monkeypatch.setattr(producers.publisher, "make_kinesis_client", lambda **kwargs: c2_fails)
    monkeypatch.setattr(producers.publisher.RetryPolicy, "delay", lambda self, retry, rng: 0.0)
    bad = invalid_line(9)
    failed_events.write_bytes(
        b"\n".join([line(1, "C1"), bad, line(2, "C2"), b"", line(3, "C1"), line(4, "C2")]) + b"\n"
    )

    first = run(["publish", "failed-events.jsonl"])

    assert first.exit_code == 1  # C2's events failed
    assert "failed-events.jsonl:2: data.coupon: Extra inputs are not permitted" in first.stderr
    assert "xxxx" not in first.stderr  # reasons name fields, never content
    assert ids(streams.read(streams.order)) == ["order.placed:O1", "order.placed:O3"]
    # acknowledged lines 1 and 5 are gone; the rest is byte for byte, in order
    assert (
        failed_events.read_bytes() == b"\n".join([bad, line(2, "C2"), b"", line(4, "C2")]) + b"\n"
    )

    monkeypatch.setattr(producers.publisher, "make_kinesis_client", lambda **kwargs: real)
    second = run(["publish", "failed-events.jsonl"])

    assert second.exit_code == 0, second.stderr  # the invalid line is reported, not an error
    assert failed_events.read_bytes() == bad + b"\n\n"  # never dropped silently
    assert ids(streams.read(streams.order))[2:] == ["order.placed:O2", "order.placed:O4"]

    failed_events.write_bytes(line(5) + b"\n")
    third = run(["publish", "failed-events.jsonl"])
    assert third.exit_code == 0 and not failed_events.exists()  # all acknowledged
    assert "failed-events.jsonl removed" in third.stderr


KILL_ON_FILE_LIMIT = (
    "import signal\n"
    "signal.signal(signal.SIGXFSZ, signal.SIG_DFL)  # Python ignores it; a crash does not\n"
    "from featurestream_cli.main import cli\n"
    "cli(prog_name='featurestream')\n"
)


@pytest.mark.parametrize("crash", ["killed", "write-error"])
def test_a_crash_while_rewriting_leaves_the_original_file_intact(
    streams: Streams, tmp_path: Path, crash: str
) -> None:
    """The file-size limit stops the rewrite half-way: by SIGXFSZ killing the process, or
    by the write failing as on a full disk. Either way the file is as it was."""
    path = tmp_path / "failed-events.jsonl"
    content = [line(n, f"C{n}") for n in range(1, 31)]
    content += [invalid_line(100 + n, padding=2000) for n in range(10)]  # ~20 KB to keep
    path.write_bytes(b"\n".join(content) + b"\n")
    original = path.read_bytes()
    command = ["-c", KILL_ON_FILE_LIMIT] if crash == "killed" else ["-m", "featurestream_cli"]

    result = subprocess.run(
        [sys.executable, *command, "publish", path.name],
        cwd=tmp_path,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
        preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (8192, 8192)),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert len(streams.read(streams.order)) == 30  # acknowledged: the rewrite was due
    assert path.read_bytes() == original
    if crash == "killed":
        assert result.returncode == -signal.SIGXFSZ
    else:
        assert result.returncode == 1, result.stderr
        assert "failed-events.jsonl: cannot write (File too large)" in result.stderr
        assert "failed-events.jsonl is unchanged" in result.stderr
        assert "Traceback" not in result.stderr
        assert sorted(p.name for p in tmp_path.iterdir()) == ["failed-events.jsonl"]


def test_lines_that_are_not_utf8_or_too_long_are_reported_by_line(
    streams: Streams, tmp_path: Path
) -> None:
    failed = tmp_path / "f.jsonl"
    stdin = b"\n".join([line(1).replace(b'"test"', b'"t\xe9st"'), b"[" * 300_000, line(2)])
    result = run(["publish", "--failed-file", str(failed)], stdin=stdin)
    assert result.exit_code == 0, result.stderr
    assert "<stdin>:1: payload is not valid UTF-8" in result.stderr
    assert "<stdin>:2: event: longer than 17408 bytes" in result.stderr
    assert ids(streams.read(streams.order)) == ["order.placed:O2"]
    folder = run(["publish", str(tmp_path), "--failed-file", str(failed)])
    assert folder.exit_code == 2 and f"{tmp_path}: cannot open (Is a directory)" in folder.stderr
