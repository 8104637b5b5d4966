"""docs/publishing.md's examples work as printed: the put-record command produces a valid
event, and the Python example publishes it."""

import json
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from featurestream.contract.events import parse_event
from tests.integration.producers.conftest import Streams

DOC = Path(__file__).resolve().parents[3] / "docs" / "publishing.md"


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", DOC.read_text(), flags=re.S)


def put_record_args() -> list[str]:
    (command,) = [b for b in blocks("sh") if "aws kinesis put-record" in b]
    return shlex.split(command.replace("\\\n", " "))


def option(args: list[str], name: str) -> str:
    return args[args.index(name) + 1]


def test_put_record_command_carries_a_valid_event_keyed_by_customer() -> None:
    args = put_record_args()
    event = parse_event(option(args, "--data"))
    assert option(args, "--partition-key") == event.customer_id
    assert option(args, "--stream-name") == "featurestream-order-events"
    assert option(args, "--cli-binary-format") == "raw-in-base64-out"


@pytest.mark.skipif(shutil.which("aws") is None, reason="AWS CLI not installed")
def test_put_record_command_runs_against_the_local_kinesis(streams: Streams) -> None:
    args = put_record_args()
    args[args.index("--stream-name") + 1] = streams.order
    version = subprocess.run(["aws", "--version"], capture_output=True, text=True, check=False)
    if (version.stdout + version.stderr).startswith("aws-cli/1."):
        at = args.index("--cli-binary-format")  # v1 sends raw text; the doc says to drop it
        del args[at : at + 2]
    subprocess.run(args, check=True, capture_output=True, timeout=60)
    (stored,) = streams.read(streams.order)
    assert parse_event(stored).event_id == "order.placed:O1001"


def test_python_example_publishes_the_order(
    streams: Streams, capsys: pytest.CaptureFixture[str]
) -> None:
    exec(compile(blocks("python")[0], str(DOC), "exec"), {})
    (stored,) = streams.read(streams.order)
    assert json.loads(stored)["event_id"] == "order.placed:O1001"
    assert "sent=1" in capsys.readouterr().out
