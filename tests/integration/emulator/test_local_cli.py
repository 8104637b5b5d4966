"""`featurestream local up|status|env|down|reset` and the reusable background service."""

import subprocess
import sys

import boto3
import pytest
from click.testing import CliRunner

from devstack.stack.process import BackgroundService, ServiceError, ServiceSpec
from featurestream_cli.main import cli


def test_background_service_runs_any_http_command(tmp_path):
    spec = ServiceSpec(
        name="plain-http",
        argv=(sys.executable, "-m", "http.server", "{port}", "--bind", "{host}"),
    )
    service = BackgroundService(spec, tmp_path)
    status = service.start()
    try:
        assert status.running and status.healthy
        assert service.pid_file.read_text() == str(status.pid)
        assert service.start().pid == status.pid  # idempotent
    finally:
        assert service.stop()
    assert not service.status().running
    assert not service.pid_file.exists()
    assert service.stop() is False


def test_background_service_reports_a_failed_start(tmp_path):
    spec = ServiceSpec(
        name="broken", argv=(sys.executable, "-c", "import sys; print('boom'); sys.exit(3)")
    )
    with pytest.raises(ServiceError, match="boom"):
        BackgroundService(spec, tmp_path).start()


def test_local_stack_lifecycle(tmp_path, monkeypatch):
    monkeypatch.setenv("FEATURESTREAM_STATE_DIR", str(tmp_path / "state"))
    runner = CliRunner()
    result = runner.invoke(cli, ["local", "up"])
    try:
        assert result.exit_code == 0, result.output
        assert runner.invoke(cli, ["local", "status"]).exit_code == 0
        env_out = runner.invoke(cli, ["local", "env"]).output
        exports = dict(line.removeprefix("export ").split("=", 1) for line in env_out.splitlines())
        assert (
            exports["AWS_ENDPOINT_URL_SAGEMAKER"]
            == exports["AWS_ENDPOINT_URL_SAGEMAKER_FEATURESTORE_RUNTIME"]
        )
        # The printed lines work for a separate shell, as `eval "$(featurestream local env)"` would.
        # `local up` provisions the template's feature groups in the emulator.
        script = f"{env_out}\n{sys.executable} -c \"import boto3; print(sorted(g['FeatureGroupName'] for g in boto3.client('sagemaker').list_feature_groups()['FeatureGroupSummaries']))\""
        assert (
            subprocess.run(
                ["bash", "-c", script], capture_output=True, text=True, check=True
            ).stdout.strip()
            == "['featurestream-customer-order-stats', 'featurestream-customers', 'featurestream-orders']"
        )
        monkeypatch.setenv("AWS_ENDPOINT_URL_SAGEMAKER", exports["AWS_ENDPOINT_URL_SAGEMAKER"])
        boto3.client("sagemaker").create_feature_group(
            FeatureGroupName="kept",
            RecordIdentifierFeatureName="id",
            EventTimeFeatureName="t",
            FeatureDefinitions=[
                {"FeatureName": "id", "FeatureType": "String"},
                {"FeatureName": "t", "FeatureType": "String"},
            ],
            OnlineStoreConfig={"EnableOnlineStore": True},
        )
    finally:
        assert runner.invoke(cli, ["local", "down"]).exit_code == 0
    assert runner.invoke(cli, ["local", "status"]).exit_code == 1
    assert runner.invoke(cli, ["local", "env"]).exit_code != 0
    assert (tmp_path / "state" / "featurestore" / "featurestore.sqlite3").exists()
    assert runner.invoke(cli, ["local", "reset", "--yes"]).exit_code == 0
    assert not (tmp_path / "state").exists()
