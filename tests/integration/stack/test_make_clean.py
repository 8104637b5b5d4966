"""`make clean` with the stack running stops it first (as `make down`: it refuses while moto
holds data, unless DISCARD=1), so no service and no handler worker is left behind; `make
down` without .venv never claims "nothing to stop" while a service runs.

The Makefile runs in a throwaway project folder whose .venv is a symlink to this checkout's
(`rm -rf .venv` removes the link only) and whose .state holds its own stack.
"""

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from devstack.stack.cpu import tree_cpu
from devstack.stack.deployment import DevStack
from devstack.stack.process import proc_stat
from tests.fixtures.stack import stack_config

REPO = Path(__file__).resolve().parents[3]
ANY_FREE_PORT = dict.fromkeys(
    (
        "moto_port",
        "featurestore_port",
        "model_endpoint_port",
        "athena_port",
        "trigger_port",
        "api_port",
    ),
    0,
)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    folder = tmp_path / "project"
    folder.mkdir()
    for name in ("Makefile", "pyproject.toml", "template.yaml", "model", ".venv"):
        (folder / name).symlink_to(REPO / name)
    return folder


@pytest.fixture
def project_stack(project: Path) -> Iterator[DevStack]:
    stack = DevStack(stack_config(project / ".state", **ANY_FREE_PORT))
    try:
        stack.up()
        yield stack
    finally:
        stack.down()


def _make(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FEATURESTREAM_")}
    return subprocess.run(
        [shutil.which("make") or "make", "--no-print-directory", "-C", str(project), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def _running(pid: int) -> bool:
    fields = proc_stat(pid)
    return fields is not None and fields[0] not in {"Z", "X"}


@pytest.mark.timeout(300)
def test_make_clean_with_the_stack_running_stops_it_first_and_leaves_no_process(
    project: Path, project_stack: DevStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    processes = set()
    for service in project_stack.services():
        pid = service.status().pid
        assert pid is not None
        processes |= set(tree_cpu(pid))  # the service and its descendants (handler workers)
    assert len(processes) > len(project_stack.services())
    for key, value in project_stack.environment().items():
        monkeypatch.setenv(key, value)
    sqs: Any = boto3.client("sqs")
    queue = sqs.get_queue_url(QueueName="featurestream-quarantine")["QueueUrl"]
    sqs.send_message(QueueUrl=queue, MessageBody="{}")

    refused = _make(project, "clean")
    assert refused.returncode != 0
    assert "queue featurestream-quarantine: 1 message" in refused.stderr
    assert "make down DISCARD=1" in refused.stderr
    assert all(_running(pid) for pid in processes)
    assert (project / ".venv").is_symlink()
    assert (project / ".state" / "run").is_dir()

    cleaned = _make(project, "clean", "DISCARD=1")
    assert cleaned.returncode == 0, cleaned.stderr
    assert [pid for pid in processes if _running(pid)] == []
    assert not (project / ".venv").exists()
    assert not (project / ".state").exists()
    assert (REPO / ".venv" / "bin" / "python").exists()

    after = _make(project, "down")
    assert after.returncode == 0
    assert "nothing to stop (no .venv, no service running)" in after.stdout


def test_make_down_without_venv_names_a_service_still_running(project: Path) -> None:
    (project / ".venv").unlink()
    run = project / ".state" / "run"
    run.mkdir(parents=True)
    bystander = subprocess.Popen(["sleep", "30"])
    try:
        (run / "moto.pid").write_text(str(bystander.pid))
        down = _make(project, "down")
        assert down.returncode != 0
        assert "still running but .venv is gone; run make install, then make down" in down.stderr
        assert "nothing to stop" not in down.stdout
    finally:
        bystander.kill()
        bystander.wait()
