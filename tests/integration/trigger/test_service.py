"""``python -m devstack.standins.trigger`` as a background service of the local stack."""

import json
import sys
import time
import urllib.request

from devstack.stack.process import BackgroundService, ServiceSpec


def test_runs_as_a_background_service_with_health_and_status(trigger_env, tmp_path):
    template = trigger_env.template(BatchSize=10)
    service = BackgroundService(
        ServiceSpec(
            name="trigger",
            argv=(
                sys.executable,
                "-m",
                "devstack.standins.trigger",
                "--template",
                str(template),
                "--stack-name",
                "featurestream",
                "--status-port",
                "{port}",
                "--poll-interval",
                "0.1",
            ),
            health_path="/health",
        ),
        state_dir=tmp_path / "state",
    )
    status = service.start(timeout=60)
    try:
        assert status.healthy
        trigger_env.put({"n": 1}, {"n": 2})
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with urllib.request.urlopen(f"{status.url}/status") as response:
                document = json.load(response)
            totals = document["functions"]["TestFunction"]["totals"]
            if totals["records_processed"] == 2:
                break
            time.sleep(0.1)
        assert totals["records_processed"] == 2
        assert document["handler_log"] == str(tmp_path / "state" / "logs" / "handlers.log")
    finally:
        assert service.stop(timeout=20)
    assert "trigger runner up" in service.log_file.read_text()
    assert [n for c in trigger_env.calls() for n in c["ns"]] == [1, 2]
