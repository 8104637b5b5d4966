"""UpdateRecord, ListRecords and the storage types' differences, through boto3 over HTTP.

Expected behaviour comes from the runtime API reference's UpdateRecord and ListRecords pages
and the developer guide's storage-type pages, as docs/emulator.md states it.
"""

import pytest
from botocore.exceptions import ClientError

from tests.integration.emulator.support import error_code, record

T1 = "2024-05-01T12:00:00Z"
T2 = "2024-05-02T12:00:00Z"
T0 = "2024-04-30T12:00:00Z"
V2 = {"EnableOnlineStore": True, "StorageType": "Standard_V2"}


def _values(rt, group, rid="c1"):
    got = rt.get_record(
        FeatureGroupName=group, RecordIdentifierValueAsString=rid, ExpirationTimeResponse="Enabled"
    )
    return {fv["FeatureName"]: fv["ValueAsString"] for fv in got.get("Record", [])}, got.get(
        "ExpiresAt"
    )


@pytest.fixture
def v2_group(rt, make_group):
    group = make_group(online=V2)
    rt.put_record(
        FeatureGroupName=group,
        Record=record(customer_id="c1", event_time=T1, age="30", score="0.5", city="Oslo"),
    )
    return group


def test_update_record_changes_only_the_features_sent(rt, v2_group):
    rt.update_record(
        FeatureGroupName=v2_group,
        RecordIdentifierValueAsString="c1",
        Features=record(age="31"),
    )
    values, _ = _values(rt, v2_group)
    assert values == {
        "customer_id": "c1",
        "event_time": T1,  # omitted event time: the stored one stays
        "age": "31",
        "score": "0.5",
        "city": "Oslo",
    }


def test_update_record_with_an_older_event_time_is_a_conflict(rt, v2_group):
    with pytest.raises(ClientError) as exc:
        rt.update_record(
            FeatureGroupName=v2_group,
            RecordIdentifierValueAsString="c1",
            Features=record(event_time=T0, age="99"),
        )
    assert error_code(exc) == "ConflictException"
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 409
    assert _values(rt, v2_group)[0]["age"] == "30"  # nothing applied


@pytest.mark.parametrize("event_time", [T1, T2])
def test_update_record_with_an_equal_or_newer_event_time_applies(rt, v2_group, event_time):
    rt.update_record(
        FeatureGroupName=v2_group,
        RecordIdentifierValueAsString="c1",
        Features=record(event_time=event_time, city="Bergen"),
    )
    values, _ = _values(rt, v2_group)
    assert values["city"] == "Bergen"
    assert values["event_time"] == event_time
    # The new event time is the watermark: a put between the two is now historic.
    if event_time == T2:
        rt.put_record(
            FeatureGroupName=v2_group,
            Record=record(customer_id="c1", event_time="2024-05-01T18:00:00Z", city="Moss"),
        )
        assert _values(rt, v2_group)[0]["city"] == "Bergen"


def test_update_record_needs_an_existing_live_record(rt, v2_group):
    for rid in ("nobody", "c1"):
        if rid == "c1":
            rt.delete_record(
                FeatureGroupName=v2_group, RecordIdentifierValueAsString="c1", EventTime=T2
            )
        with pytest.raises(ClientError) as exc:
            rt.update_record(
                FeatureGroupName=v2_group,
                RecordIdentifierValueAsString=rid,
                Features=record(age="1"),
            )
        assert error_code(exc) == "ResourceNotFound"
        assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_update_record_ttl_needs_an_event_time_and_counts_from_it(rt, v2_group):
    with pytest.raises(ClientError) as exc:
        rt.update_record(
            FeatureGroupName=v2_group,
            RecordIdentifierValueAsString="c1",
            Features=record(age="1"),
            TtlDuration={"Unit": "Days", "Value": 1},
        )
    assert error_code(exc) == "ValidationError"
    assert "TtlDuration requires the event time" in str(exc.value)
    rt.update_record(
        FeatureGroupName=v2_group,
        RecordIdentifierValueAsString="c1",
        Features=record(event_time=T2),
        TtlDuration={"Unit": "Days", "Value": 36500},
    )
    assert _values(rt, v2_group)[1] == "2124-04-08T12:00:00.000Z"  # T2 + 36500 days
    # Without TtlDuration the record's expiry stays as it was.
    rt.update_record(
        FeatureGroupName=v2_group, RecordIdentifierValueAsString="c1", Features=record(age="5")
    )
    assert _values(rt, v2_group)[1] == "2124-04-08T12:00:00.000Z"


def test_update_record_checks_features_like_put_record(rt, v2_group):
    for features, fragment in (
        (record(age="x"), "Integral"),
        (record(ghost="1"), "not defined"),
        (record(age="1") + record(age="2"), "more than once"),
        (record(customer_id="c2"), "record identifier"),
        (record(event_time="2024-05-01 12:00:00"), "Invalid event_time"),
    ):
        with pytest.raises(ClientError) as exc:
            rt.update_record(
                FeatureGroupName=v2_group, RecordIdentifierValueAsString="c1", Features=features
            )
        assert error_code(exc) == "ValidationError", features
        assert fragment in str(exc.value)


def test_update_record_is_refused_on_the_standard_storage_type(rt, make_group):
    group = make_group()  # StorageType Standard (the default)
    rt.put_record(FeatureGroupName=group, Record=record(customer_id="c1", event_time=T1))
    with pytest.raises(ClientError) as exc:
        rt.update_record(
            FeatureGroupName=group, RecordIdentifierValueAsString="c1", Features=record(age="1")
        )
    assert error_code(exc) == "ValidationError"
    assert "Standard_V2 or InMemory" in str(exc.value)


def test_update_record_works_after_migrating_to_standard_v2(sm, rt, make_group):
    group = make_group()
    rt.put_record(FeatureGroupName=group, Record=record(customer_id="c1", event_time=T1, age="1"))
    sm.update_feature_group(
        FeatureGroupName=group, OnlineStoreConfig={"StorageType": "Standard_V2"}
    )
    rt.update_record(
        FeatureGroupName=group, RecordIdentifierValueAsString="c1", Features=record(age="2")
    )
    assert _values(rt, group)[0]["age"] == "2"


def test_update_record_on_an_in_memory_group_updates_collections(rt, make_group, sm, unique_name):
    name = f"{unique_name}-mem"[:64]
    sm.create_feature_group(
        FeatureGroupName=name,
        RecordIdentifierFeatureName="id",
        EventTimeFeatureName="t",
        FeatureDefinitions=[
            {"FeatureName": "id", "FeatureType": "String"},
            {"FeatureName": "t", "FeatureType": "String"},
            {"FeatureName": "tags", "FeatureType": "String", "CollectionType": "List"},
        ],
        OnlineStoreConfig={"EnableOnlineStore": True, "StorageType": "InMemory"},
    )
    rt.put_record(
        FeatureGroupName=name,
        Record=[
            {"FeatureName": "id", "ValueAsString": "a"},
            {"FeatureName": "t", "ValueAsString": T1},
            {"FeatureName": "tags", "ValueAsStringList": ["x"]},
        ],
    )
    rt.update_record(
        FeatureGroupName=name,
        RecordIdentifierValueAsString="a",
        Features=[{"FeatureName": "tags", "ValueAsStringList": ["y", "z"]}],
    )
    got = rt.get_record(FeatureGroupName=name, RecordIdentifierValueAsString="a")["Record"]
    assert got[-1] == {"FeatureName": "tags", "ValueAsStringList": ["y", "z"]}


def test_update_record_writes_the_merged_record_offline(featurestore_server, rt, v2_group):
    rt.update_record(
        FeatureGroupName=v2_group,
        RecordIdentifierValueAsString="c1",
        Features=record(event_time=T2, age="40"),
    )
    rows = _offline_rows(featurestore_server, v2_group)
    latest = max(rows, key=lambda r: r["event_time"])
    assert (latest["event_time"], latest["age"], latest["city"]) == (T2, 40, "Oslo")
    assert len(rows) == 2  # the put and the update


def _offline_rows(server, group):
    import pyarrow.parquet as pq

    server.flush_offline()
    return [
        row
        for path in sorted(server.config.offline_dir.rglob("*.parquet"))
        if group in str(path)
        for row in pq.read_table(path).to_pylist()
    ]


# -- ListRecords ------------------------------------------------------------------------------


def test_list_records_pages_through_every_id_in_order(rt, make_group):
    group = make_group()
    ids = [f"c{n:02d}" for n in range(7)]
    for rid in reversed(ids):
        rt.put_record(FeatureGroupName=group, Record=record(customer_id=rid, event_time=T1))
    seen, pages, token = [], 0, None
    while True:
        kwargs = {"NextToken": token} if token else {}
        page = rt.list_records(FeatureGroupName=group, MaxResults=3, **kwargs)
        seen += page["RecordIdentifiers"]
        pages += 1
        token = page.get("NextToken")
        if not token:
            break
    assert seen == ids
    assert pages == 3


def test_list_records_pages_past_any_identifier(rt, make_group):
    """Identifiers up to the 2 KiB limit, non-ASCII and control characters included."""
    group = make_group()
    ids = sorted(["\u0000" * 2048, "é" * 1024, "a\nb", "z" * 2048])
    for rid in ids:
        rt.put_record(FeatureGroupName=group, Record=record(customer_id=rid, event_time=T1))
    seen, token = [], None
    while True:
        page = rt.list_records(
            FeatureGroupName=group, MaxResults=1, **({"NextToken": token} if token else {})
        )
        seen += page["RecordIdentifiers"]
        token = page.get("NextToken")
        if not token:
            break
        assert len(token) <= 8192
    assert seen == ids


def test_list_records_shows_soft_deleted_ids_only_when_asked(rt, make_group):
    group = make_group()
    for rid in ("a", "b", "c"):
        rt.put_record(FeatureGroupName=group, Record=record(customer_id=rid, event_time=T1))
    rt.delete_record(FeatureGroupName=group, RecordIdentifierValueAsString="b", EventTime=T2)
    rt.delete_record(
        FeatureGroupName=group,
        RecordIdentifierValueAsString="c",
        EventTime=T2,
        DeletionMode="HardDelete",
    )
    assert rt.list_records(FeatureGroupName=group)["RecordIdentifiers"] == ["a"]
    listed = rt.list_records(FeatureGroupName=group, IncludeSoftDeletedRecords=True)
    assert listed["RecordIdentifiers"] == ["a", "b"]  # a hard delete is gone either way
    assert "NextToken" not in listed


def test_list_records_leaves_out_expired_records(rt, make_group):
    group = make_group()
    rt.put_record(
        FeatureGroupName=group,
        Record=record(customer_id="old", event_time=T1),
        TtlDuration={"Unit": "Seconds", "Value": 1},  # expired since 2024
    )
    rt.put_record(FeatureGroupName=group, Record=record(customer_id="new", event_time=T1))
    assert rt.list_records(FeatureGroupName=group)["RecordIdentifiers"] == ["new"]


def test_list_records_errors(rt, make_group):
    group = make_group()
    with pytest.raises(ClientError) as exc:
        rt.list_records(FeatureGroupName="no-such-group")
    assert error_code(exc) == "ResourceNotFound"
    with pytest.raises(ClientError) as exc:
        rt.list_records(FeatureGroupName=group, NextToken="not-a-token")
    assert error_code(exc) == "ValidationError"
    other = make_group()
    for rid in ("a", "b"):
        rt.put_record(FeatureGroupName=other, Record=record(customer_id=rid, event_time=T1))
    token = rt.list_records(FeatureGroupName=other, MaxResults=1)["NextToken"]
    with pytest.raises(ClientError) as exc:  # a token belongs to its group
        rt.list_records(FeatureGroupName=group, NextToken=token)
    assert error_code(exc) == "ValidationError"
    offline_only = make_group(online={"EnableOnlineStore": False})
    with pytest.raises(ClientError) as exc:
        rt.list_records(FeatureGroupName=offline_only)
    assert error_code(exc) == "ValidationError"


# -- storage types ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("online", "offline", "throughput", "fragment"),
    [
        ({"EnableOnlineStore": True, "StorageType": "InMemory"}, True, None, "offline store"),
        (V2, False, {"ThroughputMode": "Provisioned"}, "Provisioned throughput"),
        (
            {"EnableOnlineStore": True, "StorageType": "InMemory"},
            False,
            {"ThroughputMode": "Provisioned"},
            "Provisioned throughput",
        ),
    ],
)
def test_storage_type_combinations_the_service_does_not_offer_are_refused(
    sm, unique_name, online, offline, throughput, fragment
):
    kwargs = {
        "FeatureGroupName": unique_name[:64],
        "RecordIdentifierFeatureName": "id",
        "EventTimeFeatureName": "t",
        "FeatureDefinitions": [
            {"FeatureName": "id", "FeatureType": "String"},
            {"FeatureName": "t", "FeatureType": "String"},
        ],
        "OnlineStoreConfig": online,
    }
    if offline:
        kwargs["OfflineStoreConfig"] = {"S3StorageConfig": {"S3Uri": "s3://b"}}
        kwargs["RoleArn"] = "arn:aws:iam::123456789012:role/r"
    if throughput:
        kwargs["ThroughputConfig"] = throughput
    with pytest.raises(ClientError) as exc:
        sm.create_feature_group(**kwargs)
    assert error_code(exc) == "ValidationException"
    assert fragment in str(exc.value)


@pytest.mark.parametrize("with_online", [True, False])
def test_provisioned_throughput_is_accepted_on_standard_and_offline_only(
    sm, unique_name, with_online
):
    kwargs = {
        "FeatureGroupName": unique_name[:64],
        "RecordIdentifierFeatureName": "id",
        "EventTimeFeatureName": "t",
        "FeatureDefinitions": [
            {"FeatureName": "id", "FeatureType": "String"},
            {"FeatureName": "t", "FeatureType": "String"},
        ],
        "OfflineStoreConfig": {"S3StorageConfig": {"S3Uri": "s3://b"}},
        "RoleArn": "arn:aws:iam::123456789012:role/r",
        "ThroughputConfig": {
            "ThroughputMode": "Provisioned",
            "ProvisionedReadCapacityUnits": 5,
            "ProvisionedWriteCapacityUnits": 5,
        },
    }
    if with_online:
        kwargs["OnlineStoreConfig"] = {"EnableOnlineStore": True, "StorageType": "Standard"}
    sm.create_feature_group(**kwargs)
    described = sm.describe_feature_group(FeatureGroupName=unique_name[:64])
    assert described["ThroughputConfig"]["ThroughputMode"] == "Provisioned"


@pytest.mark.parametrize("online", [{"EnableOnlineStore": True}, V2])
def test_update_cannot_add_a_collection_feature_outside_in_memory(sm, make_group, online):
    group = make_group(online=online)
    with pytest.raises(ClientError) as exc:
        sm.update_feature_group(
            FeatureGroupName=group,
            FeatureAdditions=[
                {"FeatureName": "tags", "FeatureType": "String", "CollectionType": "List"}
            ],
        )
    assert error_code(exc) == "ValidationException"
    assert "InMemory" in str(exc.value)
    names = [
        d["FeatureName"]
        for d in sm.describe_feature_group(FeatureGroupName=group)["FeatureDefinitions"]
    ]
    assert "tags" not in names


def test_update_cannot_make_a_provisioned_group_that_is_not_standard(sm, make_group):
    group = make_group(online=V2)
    with pytest.raises(ClientError) as exc:
        sm.update_feature_group(
            FeatureGroupName=group, ThroughputConfig={"ThroughputMode": "Provisioned"}
        )
    assert error_code(exc) == "ValidationException"
    assert "Provisioned throughput" in str(exc.value)
    standard = make_group()
    sm.update_feature_group(
        FeatureGroupName=standard, ThroughputConfig={"ThroughputMode": "Provisioned"}
    )
    with pytest.raises(ClientError) as exc:  # and a Provisioned group cannot move to V2
        sm.update_feature_group(
            FeatureGroupName=standard, OnlineStoreConfig={"StorageType": "Standard_V2"}
        )
    assert error_code(exc) == "ValidationException"
