"""Nothing a request names may put a file outside the emulator's state folder: the offline
store's S3 URI is validated like the service's model (and ``..`` segments refused), and the
resolved path of every file is checked before it is written."""

import json
import os
import sqlite3
from pathlib import Path

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from devstack.standins.featurestore.server import FeatureStoreEmulator
from tests.integration.emulator.support import definitions, error_code, record

_NO_RETRY = Config(retries={"mode": "standard", "total_max_attempts": 1})


def _escape_to(target: Path) -> str:
    """An S3 URI whose key climbs out of any folder to ``target`` (the issue's PoC)."""
    return "s3://bucket/" + "../" * 40 + str(target).lstrip("/")


def _create(sm, name: str, s3_uri: str) -> None:
    sm.create_feature_group(
        FeatureGroupName=name,
        RecordIdentifierFeatureName="customer_id",
        EventTimeFeatureName="event_time",
        FeatureDefinitions=definitions(customer_id="String", event_time="String"),
        OnlineStoreConfig={"EnableOnlineStore": True},
        OfflineStoreConfig={"S3StorageConfig": {"S3Uri": s3_uri}},
        RoleArn="arn:aws:iam::123456789012:role/featurestore",
    )


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


@pytest.mark.parametrize(
    "s3_uri",
    [
        "s3://bucket/../../../../../../tmp/pwn2",
        "s3://../outside",
        "s3://bucket/a/../../b",
        "s3://bucket/prefix/..",
        "https://bucket/../x",
    ],
)
def test_s3_uris_with_dot_dot_segments_are_refused(sm, unique_name, s3_uri):
    with pytest.raises(ClientError) as exc:
        _create(sm, unique_name, s3_uri)
    assert error_code(exc) == "ValidationException"
    assert "s3Uri" in exc.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as missing:
        sm.describe_feature_group(FeatureGroupName=unique_name)
    assert error_code(missing) == "ResourceNotFound"


@pytest.mark.parametrize("s3_uri", ["s3://bucket", "s3://bucket/a/./b", "s3://bucket/%2e%2e/x"])
def test_uris_that_stay_inside_are_accepted(sm, rt, featurestore_server, unique_name, s3_uri):
    _create(sm, unique_name, s3_uri)
    rt.put_record(
        FeatureGroupName=unique_name,
        Record=record(customer_id="c1", event_time="2024-05-01T00:00:00Z"),
    )
    featurestore_server.flush_offline()
    root = featurestore_server.config.offline_dir.resolve()
    written = [p for p in _files(root) if f"/{unique_name}-" in str(p)]
    assert len(written) == 1 and written[0].resolve().is_relative_to(root)


def test_the_issue_poc_writes_nothing_outside_the_state_folder(tmp_path):
    target = tmp_path / "pwn2"
    with FeatureStoreEmulator(tmp_path / "state") as emulator:
        sm = boto3.client("sagemaker", endpoint_url=emulator.endpoint_url, config=_NO_RETRY)
        with pytest.raises(ClientError) as exc:
            _create(sm, "poc", _escape_to(target))
        assert error_code(exc) == "ValidationException"
    assert _files(target) == []


def test_a_stored_location_outside_is_never_written_and_its_rows_are_kept(tmp_path):
    """A group stored by an older emulator with an escaping location (the create-time check
    did not exist): its files are refused at write time, the store reports Blocked, its
    rows stay journaled, and online writes keep working."""
    state, target = tmp_path / "state", tmp_path / "outside"
    with FeatureStoreEmulator(state) as emulator:
        sm = boto3.client("sagemaker", endpoint_url=emulator.endpoint_url, config=_NO_RETRY)
        _create(sm, "legacy", "s3://bucket/fs")
    db = sqlite3.connect(state / "featurestore.sqlite3")
    (doc,) = db.execute("SELECT doc FROM feature_groups WHERE name='legacy'").fetchone()
    stored = json.loads(doc)
    stored["OfflineStoreConfig"]["S3StorageConfig"]["ResolvedOutputS3Uri"] = _escape_to(target)
    with db:
        db.execute("UPDATE feature_groups SET doc=? WHERE name='legacy'", (json.dumps(stored),))
    db.close()

    with FeatureStoreEmulator(state) as emulator:
        sm = boto3.client("sagemaker", endpoint_url=emulator.endpoint_url, config=_NO_RETRY)
        rt = boto3.client(
            "sagemaker-featurestore-runtime", endpoint_url=emulator.endpoint_url, config=_NO_RETRY
        )
        rt.put_record(
            FeatureGroupName="legacy",
            Record=record(customer_id="c1", event_time="2024-05-01T00:00:00Z"),
        )
        emulator.flush_offline()
        status = sm.describe_feature_group(FeatureGroupName="legacy")["OfflineStoreStatus"]
        assert status["Status"] == "Blocked"
        assert "outside" in status["BlockedReason"]
        got = rt.get_record(FeatureGroupName="legacy", RecordIdentifierValueAsString="c1")
        assert {"FeatureName": "customer_id", "ValueAsString": "c1"} in got["Record"]
    assert _files(target) == []
    assert not any(p.suffix == ".parquet" for p in _files(state))
    db = sqlite3.connect(state / "featurestore.sqlite3")
    assert db.execute("SELECT COUNT(*) FROM offline_rows").fetchone() == (1,)
    db.close()


def test_a_symlink_out_of_the_offline_folder_is_not_followed(tmp_path):
    state, target = tmp_path / "state", tmp_path / "elsewhere"
    target.mkdir()
    (state / "offline-store").mkdir(parents=True)
    os.symlink(target, state / "offline-store" / "linked-bucket")
    with FeatureStoreEmulator(state) as emulator:
        sm = boto3.client("sagemaker", endpoint_url=emulator.endpoint_url, config=_NO_RETRY)
        with pytest.raises(ClientError) as exc:
            _create(sm, "linked", "s3://linked-bucket/fs")
        assert error_code(exc) == "ValidationException"
    assert _files(target) == []
