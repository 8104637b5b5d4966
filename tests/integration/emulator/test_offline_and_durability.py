"""Offline store files, restart durability, S3 (moto) output, concurrency and faults."""

import re
import threading
import time
from pathlib import Path

import boto3
import pyarrow.parquet as pq
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from devstack.standins.featurestore.config import FaultConfig
from devstack.standins.featurestore.server import FeatureStoreEmulator
from tests.integration.emulator.support import definitions, error_code, record

KEY_RE = re.compile(
    r"fs/123456789012/sagemaker/us-east-1/offline-store/(?P<fg>.+)-(?P<epoch>\d+)/data/"
    r"year=(?P<y>\d{4})/month=(?P<m>\d\d)/day=(?P<d>\d\d)/hour=(?P<h>\d\d)/"
    r"(?P<latest>\d{8}T\d{6}Z)_[A-Za-z0-9]{16}\.parquet"
)
_NO_RETRY = Config(retries={"mode": "standard", "total_max_attempts": 1})


def _clients(url):
    sm = boto3.client("sagemaker", endpoint_url=url, config=_NO_RETRY)
    rt = boto3.client("sagemaker-featurestore-runtime", endpoint_url=url, config=_NO_RETRY)
    return sm, rt


def _create(sm, name, s3_uri="s3://offline-bucket/fs"):
    sm.create_feature_group(
        FeatureGroupName=name,
        RecordIdentifierFeatureName="customer_id",
        EventTimeFeatureName="event_time",
        FeatureDefinitions=definitions(
            customer_id="String", event_time="String", age="Integral", score="Fractional"
        ),
        OnlineStoreConfig={"EnableOnlineStore": True},
        OfflineStoreConfig={"S3StorageConfig": {"S3Uri": s3_uri}},
        RoleArn="arn:aws:iam::123456789012:role/featurestore",
    )


def _files(root: Path, group: str) -> list[Path]:
    return sorted(p for p in root.rglob("*.parquet") if f"/{group}-" in str(p))


def test_offline_rows_layout_and_columns(featurestore_server, sm, rt, make_group):
    group = make_group()
    rt.put_record(
        FeatureGroupName=group,
        Record=record(customer_id="c1", event_time="2024-05-01T12:30:00Z", age="1", score="0.5"),
    )
    rt.put_record(
        FeatureGroupName=group,
        Record=record(customer_id="c1", event_time="2024-05-01T12:10:00Z", age="0"),
    )  # historic
    rt.put_record(
        FeatureGroupName=group,
        Record=record(customer_id="c1", event_time="2024-05-01T13:00:00Z", age="2"),
    )
    rt.delete_record(
        FeatureGroupName=group, RecordIdentifierValueAsString="c1", EventTime="2024-05-01T13:05:00Z"
    )
    featurestore_server.flush_offline()
    files = _files(featurestore_server.config.offline_dir, group)
    resolved = sm.describe_feature_group(FeatureGroupName=group)["OfflineStoreConfig"][
        "S3StorageConfig"
    ]["ResolvedOutputS3Uri"]
    hours = {}
    for path in files:
        key = str(path.relative_to(featurestore_server.config.offline_dir / "offline-bucket"))
        match = KEY_RE.fullmatch(key)
        assert match, key
        assert f"s3://offline-bucket/{key}".startswith(resolved + "/")
        hours[match["h"]] = match["latest"]
    assert hours == {"12": "20240501T123000Z", "13": "20240501T130500Z"}
    table = pq.read_table(files[0]).to_pylist() + pq.read_table(files[1]).to_pylist()
    assert len(table) == 4  # every put, the historic one included, plus the delete marker
    schema = pq.read_schema(files[0])
    assert {f.name: str(f.type) for f in schema} == {
        "customer_id": "string",
        "event_time": "string",
        "age": "int64",
        "score": "double",
        "city": "string",
        "write_time": "timestamp[ms, tz=UTC]",
        "api_invocation_time": "timestamp[ms, tz=UTC]",
        "is_deleted": "bool",
    }
    markers = [r for r in table if r["is_deleted"]]
    assert len(markers) == 1
    assert markers[0]["age"] is None and markers[0]["event_time"] == "2024-05-01T13:05:00Z"
    assert all(r["write_time"] >= r["api_invocation_time"] for r in table)


def test_offline_rows_are_flushed_on_clean_stop_and_data_survives_restart(tmp_path):
    with FeatureStoreEmulator(tmp_path, offline_flush_interval=3600) as emulator:
        sm, rt = _clients(emulator.endpoint_url)
        _create(sm, "durable")
        rt.put_record(
            FeatureGroupName="durable",
            Record=record(customer_id="c1", event_time="2024-05-01T12:00:00Z", age="7"),
        )
        sm.update_feature_metadata(
            FeatureGroupName="durable", FeatureName="age", Description="years"
        )
        assert _files(tmp_path, "durable") == []
    assert len(_files(tmp_path, "durable")) == 1
    with FeatureStoreEmulator(tmp_path) as emulator:
        sm, rt = _clients(emulator.endpoint_url)
        got = rt.get_record(FeatureGroupName="durable", RecordIdentifierValueAsString="c1")
        assert {"FeatureName": "age", "ValueAsString": "7"} in got["Record"]
        assert (
            sm.describe_feature_metadata(FeatureGroupName="durable", FeatureName="age")[
                "Description"
            ]
            == "years"
        )


def test_offline_store_writes_to_s3_when_configured(tmp_path, moto_server):
    s3 = boto3.client("s3", endpoint_url=moto_server)
    s3.create_bucket(Bucket="fs-offline")
    with FeatureStoreEmulator(tmp_path, offline_s3_endpoint=moto_server) as emulator:
        sm, rt = _clients(emulator.endpoint_url)
        _create(sm, "to-s3", "s3://fs-offline/fs")
        _create(sm, "no-bucket", "s3://missing-bucket/fs")
        rt.put_record(
            FeatureGroupName="to-s3",
            Record=record(customer_id="c1", event_time="2024-05-01T12:00:00Z"),
        )
        rt.put_record(
            FeatureGroupName="no-bucket",
            Record=record(customer_id="c1", event_time="2024-05-01T12:00:00Z"),
        )
        emulator.flush_offline()
        keys = [o["Key"] for o in s3.list_objects_v2(Bucket="fs-offline")["Contents"]]
        assert len(keys) == 1 and KEY_RE.fullmatch(keys[0])
        status = sm.describe_feature_group(FeatureGroupName="no-bucket")["OfflineStoreStatus"]
        assert status["Status"] == "Blocked"
    # Rows that could not reach S3 are kept locally on shutdown rather than lost.
    assert len(_files(tmp_path, "no-bucket")) == 1


def test_concurrent_writers_keep_the_newest_event(featurestore_env, make_group):
    group = make_group()
    rt = boto3.client("sagemaker-featurestore-runtime", config=Config(max_pool_connections=8))
    errors = []

    def writer(offset):
        try:
            for i in range(offset, 200, 8):
                rt.put_record(
                    FeatureGroupName=group,
                    Record=record(
                        customer_id=f"c{i % 5}",
                        event_time=f"2024-05-01T12:{i // 60:02d}:{i % 60:02d}Z",
                        age=str(i),
                    ),
                )
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    for k in range(5):
        newest = max(i for i in range(200) if i % 5 == k)
        got = rt.get_record(FeatureGroupName=group, RecordIdentifierValueAsString=f"c{k}")["Record"]
        assert {"FeatureName": "age", "ValueAsString": str(newest)} in got


def test_tie_policy_apply_switch(tmp_path):
    with FeatureStoreEmulator(tmp_path, tie_policy="apply") as emulator:
        sm, rt = _clients(emulator.endpoint_url)
        _create(sm, "ties")
        for age in ("1", "2"):
            rt.put_record(
                FeatureGroupName="ties",
                Record=record(customer_id="c1", event_time="2024-05-01T12:00:00Z", age=age),
            )
        got = rt.get_record(FeatureGroupName="ties", RecordIdentifierValueAsString="c1")["Record"]
        assert {"FeatureName": "age", "ValueAsString": "2"} in got


def test_fault_injection_latency_throttling_and_errors(tmp_path):
    with FeatureStoreEmulator(tmp_path) as emulator:
        sm, rt = _clients(emulator.endpoint_url)
        _create(sm, "faulty")

        def put():
            rt.put_record(
                FeatureGroupName="faulty",
                Record=record(customer_id="c1", event_time="2024-05-01T12:00:00Z"),
            )

        emulator.faults = FaultConfig(latency_ms=50, operations=frozenset({"PutRecord"}))
        started = time.perf_counter()
        put()
        assert time.perf_counter() - started >= 0.05
        rt.get_record(FeatureGroupName="faulty", RecordIdentifierValueAsString="c1")  # unaffected
        emulator.faults = FaultConfig(throttle_rate=1.0)
        with pytest.raises(ClientError) as exc:
            put()
        assert error_code(exc) == "ThrottlingException"
        emulator.faults = FaultConfig(error_rate=1.0)
        with pytest.raises(ClientError) as exc:
            put()
        assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 503
        sm.describe_feature_group(FeatureGroupName="faulty")  # control plane untouched by default
        emulator.faults = FaultConfig()
        put()


def _offline_rows(server, group):
    server.flush_offline()
    return [
        row
        for path in _files(server.config.offline_dir, group)
        for row in pq.read_table(path).to_pylist()
    ]


def test_delete_markers_follow_the_delete_rules(featurestore_server, rt, make_group):
    group = make_group()
    rt.put_record(
        FeatureGroupName=group, Record=record(customer_id="c1", event_time="2024-05-02T00:00:00Z")
    )
    # A non-newer soft delete is ignored online but still leaves a marker offline ...
    rt.delete_record(
        FeatureGroupName=group, RecordIdentifierValueAsString="c1", EventTime="2024-05-01T00:00:00Z"
    )
    # ... a failed hard delete leaves none.
    with pytest.raises(ClientError):
        rt.delete_record(
            FeatureGroupName=group,
            RecordIdentifierValueAsString="c1",
            EventTime="2024-05-01T00:00:00Z",
            DeletionMode="HardDelete",
        )
    rows = _offline_rows(featurestore_server, group)
    assert sorted((r["event_time"], r["is_deleted"]) for r in rows) == [
        ("2024-05-01T00:00:00Z", True),
        ("2024-05-02T00:00:00Z", False),
    ]


def test_ttl_expiry_adds_an_offline_delete_marker(featurestore_server, rt, make_group):
    group = make_group()
    rt.put_record(
        FeatureGroupName=group,
        Record=record(customer_id="c1", event_time="2024-05-01T00:00:00Z", age="1"),
        TtlDuration={"Unit": "Seconds", "Value": 30},
    )
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        rows = _offline_rows(featurestore_server, group)
        if any(r["is_deleted"] for r in rows):
            break
        time.sleep(0.05)
    marker = next(r for r in rows if r["is_deleted"])
    assert marker["customer_id"] == "c1" and marker["age"] is None
    assert marker["event_time"] == "2024-05-01T00:00:30.000Z"  # ExpiresAt = EventTime + TTL


def test_features_added_while_rows_are_buffered_reach_the_parquet_file(
    featurestore_server, sm, rt, make_group
):
    group = make_group()
    rt.put_record(
        FeatureGroupName=group, Record=record(customer_id="c1", event_time="2024-05-01T12:00:00Z")
    )
    sm.update_feature_group(FeatureGroupName=group, FeatureAdditions=definitions(tier="String"))
    rt.put_record(
        FeatureGroupName=group,
        Record=record(customer_id="c2", event_time="2024-05-01T12:00:01Z", tier="gold"),
    )
    rows = {r["customer_id"]: r for r in _offline_rows(featurestore_server, group)}
    assert rows["c1"]["tier"] is None and rows["c2"]["tier"] == "gold"
