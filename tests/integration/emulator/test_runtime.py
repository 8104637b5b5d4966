"""Runtime semantics (docs/emulator.md), driven through boto3 over HTTP."""

import time
from datetime import UTC, datetime, timedelta

import pytest
from botocore.exceptions import ClientError

from tests.integration.emulator.support import error_code, record

T1 = "2024-05-01T12:00:00Z"
T2 = "2024-05-02T12:00:00Z"
T3 = "2024-05-03T12:00:00.500Z"


def _get(rt, group, rid="c1", **kwargs):
    return rt.get_record(FeatureGroupName=group, RecordIdentifierValueAsString=rid, **kwargs)


def _values(response):
    return {fv["FeatureName"]: fv["ValueAsString"] for fv in response["Record"]}


def test_put_replaces_the_whole_row(rt, make_group):
    group = make_group()
    rt.put_record(
        FeatureGroupName=group,
        Record=record(customer_id="c1", event_time=T1, age="30", city="Oslo"),
    )
    rt.put_record(FeatureGroupName=group, Record=record(customer_id="c1", event_time=T2, age="31"))
    assert _values(_get(rt, group)) == {"customer_id": "c1", "event_time": T2, "age": "31"}


def test_only_identifier_and_event_time_are_required(rt, make_group):
    group = make_group()
    rt.put_record(FeatureGroupName=group, Record=record(customer_id="c1", event_time=T1))
    assert _values(_get(rt, group)) == {"customer_id": "c1", "event_time": T1}
    for missing in (record(customer_id="c2", age="1"), record(event_time=T1, age="1")):
        with pytest.raises(ClientError) as exc:
            rt.put_record(FeatureGroupName=group, Record=missing)
        assert error_code(exc) == "ValidationError"
        assert "missing the required feature" in str(exc.value)


def test_unknown_feature_is_a_validation_error(rt, make_group):
    group = make_group()
    with pytest.raises(ClientError) as exc:
        rt.put_record(
            FeatureGroupName=group, Record=record(customer_id="c1", event_time=T1, nope="1")
        )
    assert error_code(exc) == "ValidationError"
    assert "nope" in str(exc.value)


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"Record": [{"FeatureName": "bad name!", "ValueAsString": "x"}]}, "regular expression"),
        ({"Record": record(customer_id="c1", event_time=T1, city="x" * 358_401)}, "limit"),
        ({"Record": record(customer_id="c1", event_time=T1, city="x" * 358_400)}, "Record size"),
        ({"TargetStores": ["Elsewhere"]}, "enum value set"),
        ({"TargetStores": ["OnlineStore", "OfflineStore", "OnlineStore"]}, "length between"),
        ({"TtlDuration": {"Unit": "Fortnights", "Value": 1}}, "enum value set"),
        ({"Record": record(customer_id="c1", event_time=T1, **{"f" * 65: "x"})}, "length between"),
    ],
)
def test_service_limits_patterns_and_enums_are_enforced(rt, make_group, kwargs, fragment):
    group = make_group()
    kwargs = {"Record": record(customer_id="c1", event_time=T1), **kwargs}
    with pytest.raises(ClientError) as exc:
        rt.put_record(FeatureGroupName=group, **kwargs)
    assert error_code(exc) == "ValidationError"
    assert fragment in str(exc.value)


def test_group_name_longer_than_the_runtime_limit_is_rejected(rt):
    with pytest.raises(ClientError) as exc:
        _get(rt, "a" * 151)
    assert error_code(exc) == "ValidationError"


@pytest.mark.parametrize("event_time", ["2024-05-01T12:00:00Z", "2024-05-01T12:00:00.123Z"])
def test_documented_string_event_times_are_accepted(rt, make_group, event_time):
    group = make_group()
    rt.put_record(FeatureGroupName=group, Record=record(customer_id="c1", event_time=event_time))
    assert _values(_get(rt, group))["event_time"] == event_time


@pytest.mark.parametrize(
    "event_time",
    [
        "2024-05-01T12:00:00.123456Z",  # isoformat() microseconds
        "2024-05-01T12:00:00+00:00",
        "2024-05-01T12:00:00",
        "2024-05-01T12:00:00z",
        "2024-05-01 12:00:00Z",
        "2024-02-30T12:00:00Z",
        "1714564800",
        "\u0662\u0660\u0662\u0664-01-01T00:00:00Z",  # Arabic-Indic digits: the format is ASCII
        "2024-05-01T12:00:0\uff10Z",  # a fullwidth zero
    ],
)
def test_other_string_event_times_are_rejected_clearly(rt, make_group, event_time):
    group = make_group()
    with pytest.raises(ClientError) as exc:
        rt.put_record(
            FeatureGroupName=group, Record=record(customer_id="c1", event_time=event_time)
        )
    assert error_code(exc) == "ValidationError"
    message = exc.value.response["Error"]["Message"]
    assert message.startswith("Invalid event_time: ")  # names the field and what is wrong
    assert event_time not in message  # never the value sent (it may be personal data)


def test_fractional_event_time_is_epoch_seconds(rt, make_group):
    group = make_group(features={"customer_id": "String", "event_time": "Fractional"})
    rt.put_record(
        FeatureGroupName=group, Record=record(customer_id="c1", event_time="1714564800.123")
    )
    assert _values(_get(rt, group))["event_time"] == "1714564800.123"
    for bad in ("1714564800123000", "2024-05-01T12:00:00Z", "NaN", "\u0661714564800"):
        with pytest.raises(ClientError) as exc:
            rt.put_record(FeatureGroupName=group, Record=record(customer_id="c2", event_time=bad))
        assert error_code(exc) == "ValidationError"
        assert "epoch seconds" in str(exc.value)


@pytest.mark.parametrize(
    ("feature", "value", "ok"),
    [
        ("age", "42", True),
        ("age", "-7", True),
        ("age", "4.2", False),
        ("age", "abc", False),
        ("age", str(2**63), False),
        ("score", "0.5", True),
        ("score", "10", True),
        ("score", "1e3", True),
        ("score", "abc", False),
        ("score", "inf", False),
        ("score", "1e999", False),
        ("age", "00000000000000000000042", True),
        ("city", "", True),
        # Unicode digits other than ASCII 0-9 are not numbers to the service.
        ("age", "\u0661\u0662", False),
        ("age", "4\uff12", False),
        ("score", "\u0661.5", False),
        ("score", "1e\u0663", False),
    ],
)
def test_integral_and_fractional_values_are_checked(rt, make_group, feature, value, ok):
    group = make_group()
    call = lambda: rt.put_record(  # noqa: E731
        FeatureGroupName=group, Record=record(customer_id="c1", event_time=T1, **{feature: value})
    )
    if ok:
        call()
        assert _values(_get(rt, group))[feature] == value
    else:
        with pytest.raises(ClientError) as exc:
            call()
        assert error_code(exc) == "ValidationError"


def test_older_event_time_is_accepted_but_not_applied_online(rt, make_group):
    group = make_group()
    rt.put_record(FeatureGroupName=group, Record=record(customer_id="c1", event_time=T2, age="2"))
    response = rt.put_record(
        FeatureGroupName=group, Record=record(customer_id="c1", event_time=T1, age="1")
    )
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert _values(_get(rt, group))["age"] == "2"


def test_event_time_tie_is_historic_by_default(rt, make_group):
    group = make_group()
    rt.put_record(FeatureGroupName=group, Record=record(customer_id="c1", event_time=T1, age="1"))
    rt.put_record(FeatureGroupName=group, Record=record(customer_id="c1", event_time=T1, age="2"))
    assert _values(_get(rt, group))["age"] == "1"


def test_event_times_compare_as_instants_not_strings(rt, make_group):
    group = make_group()
    rt.put_record(
        FeatureGroupName=group,
        Record=record(customer_id="c1", event_time="2024-05-01T12:00:00.500Z", age="1"),
    )
    # Lexicographically "...00Z" > "...00.500Z", but it is the earlier instant.
    rt.put_record(
        FeatureGroupName=group,
        Record=record(customer_id="c1", event_time="2024-05-01T12:00:00Z", age="2"),
    )
    assert _values(_get(rt, group))["age"] == "1"


def test_get_missing_record_is_200_without_record(rt, make_group):
    group = make_group()
    response = _get(rt, group, "nobody")
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert "Record" not in response


def test_unknown_group_errors_differ_between_get_and_put(rt):
    with pytest.raises(ClientError) as exc:
        _get(rt, "no-such-group")
    assert error_code(exc) == "ResourceNotFound"
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    with pytest.raises(ClientError) as exc:
        rt.put_record(
            FeatureGroupName="no-such-group", Record=record(customer_id="c1", event_time=T1)
        )
    assert error_code(exc) == "ValidationError"
    assert exc.value.response["Error"]["Message"].startswith(
        "Resource Not Found: Amazon SageMaker can't find a FeatureGroup with name no-such-group"
    )


def test_features_come_back_in_definition_order_and_can_be_filtered(rt, make_group):
    group = make_group()
    rt.put_record(
        FeatureGroupName=group,
        Record=record(city="Oslo", score="0.5", event_time=T1, customer_id="c1", age="3"),
    )
    names = [fv["FeatureName"] for fv in _get(rt, group)["Record"]]
    assert names == ["customer_id", "event_time", "age", "score", "city"]
    filtered = _get(rt, group, FeatureNames=["city", "age"])
    assert [fv["FeatureName"] for fv in filtered["Record"]] == ["age", "city"]


def test_get_record_can_be_fetched_by_arn(rt, sm, make_group):
    group = make_group()
    arn = sm.describe_feature_group(FeatureGroupName=group)["FeatureGroupArn"]
    rt.put_record(FeatureGroupName=arn, Record=record(customer_id="c1", event_time=T1))
    assert _values(_get(rt, arn))["customer_id"] == "c1"


def test_target_stores_offline_only_skips_the_online_store(rt, make_group):
    group = make_group()
    rt.put_record(
        FeatureGroupName=group,
        Record=record(customer_id="c1", event_time=T1),
        TargetStores=["OfflineStore"],
    )
    assert "Record" not in _get(rt, group)
    online_only = make_group(offline=False)
    with pytest.raises(ClientError) as exc:
        rt.put_record(
            FeatureGroupName=online_only,
            Record=record(customer_id="c1", event_time=T1),
            TargetStores=["OfflineStore"],
        )
    assert "does not have an OfflineStore" in str(exc.value)


def test_soft_delete_hides_the_record_and_keeps_its_watermark(rt, make_group):
    group = make_group()
    rt.put_record(FeatureGroupName=group, Record=record(customer_id="c1", event_time=T1, age="1"))
    rt.delete_record(FeatureGroupName=group, RecordIdentifierValueAsString="c1", EventTime=T2)
    assert "Record" not in _get(rt, group)
    # An older put stays historic after a soft delete ...
    rt.put_record(FeatureGroupName=group, Record=record(customer_id="c1", event_time=T1, age="9"))
    assert "Record" not in _get(rt, group)
    # ... a newer one restores the record.
    rt.put_record(FeatureGroupName=group, Record=record(customer_id="c1", event_time=T3, age="3"))
    assert _values(_get(rt, group))["age"] == "3"


def test_soft_delete_with_a_non_newer_event_time_is_ignored_online(rt, make_group):
    group = make_group()
    rt.put_record(FeatureGroupName=group, Record=record(customer_id="c1", event_time=T2, age="1"))
    rt.delete_record(FeatureGroupName=group, RecordIdentifierValueAsString="c1", EventTime=T1)
    assert _values(_get(rt, group))["age"] == "1"


def test_hard_delete_forgets_the_watermark(rt, make_group):
    group = make_group()
    rt.put_record(FeatureGroupName=group, Record=record(customer_id="c1", event_time=T2, age="2"))
    rt.delete_record(
        FeatureGroupName=group,
        RecordIdentifierValueAsString="c1",
        EventTime=T3,
        DeletionMode="HardDelete",
    )
    assert "Record" not in _get(rt, group)
    rt.put_record(FeatureGroupName=group, Record=record(customer_id="c1", event_time=T1, age="1"))
    assert _values(_get(rt, group))["age"] == "1"


def test_hard_delete_with_a_non_newer_event_time_fails(rt, make_group):
    group = make_group()
    rt.put_record(FeatureGroupName=group, Record=record(customer_id="c1", event_time=T2))
    with pytest.raises(ClientError) as exc:
        rt.delete_record(
            FeatureGroupName=group,
            RecordIdentifierValueAsString="c1",
            EventTime=T1,
            DeletionMode="HardDelete",
        )
    assert error_code(exc) == "ValidationException"
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert "Record" in _get(rt, group)


def test_delete_validates_mode_and_event_time_format(rt, make_group):
    group = make_group()
    for kwargs in ({"EventTime": T1, "DeletionMode": "Shred"}, {"EventTime": "yesterday"}):
        with pytest.raises(ClientError) as exc:
            rt.delete_record(FeatureGroupName=group, RecordIdentifierValueAsString="c1", **kwargs)
        assert error_code(exc) == "ValidationError"


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def test_ttl_counts_from_event_time_and_reports_expires_at(rt, make_group):
    group = make_group()
    old = datetime.now(UTC) - timedelta(minutes=10)
    # Ingested late with an old event time: born already expired.
    rt.put_record(
        FeatureGroupName=group,
        Record=record(customer_id="old", event_time=_iso(old)),
        TtlDuration={"Unit": "Minutes", "Value": 5},
    )
    assert "Record" not in _get(rt, group, "old")
    event = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=1)
    rt.put_record(
        FeatureGroupName=group,
        Record=record(customer_id="c1", event_time=_iso(event)),
        TtlDuration={"Unit": "Seconds", "Value": 1},
    )
    response = _get(rt, group, ExpirationTimeResponse="Enabled")
    expires = datetime.fromisoformat(response["ExpiresAt"].replace("Z", "+00:00"))
    assert expires == event + timedelta(seconds=1)
    assert "ExpiresAt" not in _get(rt, group)
    time.sleep(max(0.0, (expires - datetime.now(UTC)).total_seconds()) + 0.1)
    assert "Record" not in _get(rt, group)
    batch = rt.batch_get_record(
        Identifiers=[{"FeatureGroupName": group, "RecordIdentifiersValueAsString": ["c1"]}]
    )
    assert batch["Records"] == []


def test_group_default_ttl_applies_and_record_ttl_wins(rt, make_group):
    group = make_group(
        online={"EnableOnlineStore": True, "TtlDuration": {"Unit": "Days", "Value": 1}}
    )
    rt.put_record(FeatureGroupName=group, Record=record(customer_id="c1", event_time=T1))
    response = _get(rt, group, ExpirationTimeResponse="Enabled")
    assert "Record" not in response  # 2024 + 1 day is long past
    now = datetime.now(UTC).replace(microsecond=0)
    rt.put_record(
        FeatureGroupName=group,
        Record=record(customer_id="c2", event_time=_iso(now)),
        TtlDuration={"Unit": "Weeks", "Value": 1},
    )
    expires = _get(rt, group, "c2", ExpirationTimeResponse="Enabled")["ExpiresAt"]
    assert datetime.fromisoformat(expires.replace("Z", "+00:00")) == now + timedelta(weeks=1)


def test_batch_get_record_across_groups(rt, make_group):
    customers = make_group(suffix="customers")
    orders = make_group(
        features={
            "order_id": "String",
            "customer_id": "String",
            "event_time": "String",
            "amount": "Fractional",
        },
        record_id="customer_id",
        suffix="orders",
    )
    rt.put_record(
        FeatureGroupName=customers, Record=record(customer_id="c1", event_time=T1, age="30")
    )
    rt.put_record(
        FeatureGroupName=orders,
        Record=record(customer_id="c1", order_id="o1", event_time=T1, amount="9.5"),
    )
    response = rt.batch_get_record(
        Identifiers=[
            {"FeatureGroupName": customers, "RecordIdentifiersValueAsString": ["c1", "missing"]},
            {
                "FeatureGroupName": orders,
                "RecordIdentifiersValueAsString": ["c1"],
                "FeatureNames": ["amount"],
            },
            {"FeatureGroupName": "no-such-group", "RecordIdentifiersValueAsString": ["c1"]},
        ],
        ExpirationTimeResponse="Enabled",
    )
    got = {
        (r["FeatureGroupName"], r["RecordIdentifierValueAsString"]): r["Record"]
        for r in response["Records"]
    }
    assert set(got) == {(customers, "c1"), (orders, "c1")}
    assert got[(orders, "c1")] == [{"FeatureName": "amount", "ValueAsString": "9.5"}]
    assert [e["ErrorCode"] for e in response["Errors"]] == ["ResourceNotFound"]
    assert response["UnprocessedIdentifiers"] == []


def test_batch_get_record_returns_records_beyond_100_as_unprocessed(rt, make_group):
    group = make_group()
    ids = [f"c{i}" for i in range(100)]
    response = rt.batch_get_record(
        Identifiers=[
            {"FeatureGroupName": group, "RecordIdentifiersValueAsString": ids},
            {"FeatureGroupName": group, "RecordIdentifiersValueAsString": ["x1", "x2"]},
        ]
    )
    assert response["UnprocessedIdentifiers"] == [
        {"FeatureGroupName": group, "RecordIdentifiersValueAsString": ["x1", "x2"]}
    ]
    with pytest.raises(ClientError) as exc:
        rt.batch_get_record(
            Identifiers=[
                {"FeatureGroupName": group, "RecordIdentifiersValueAsString": [*ids, "c100"]}
            ]
        )
    assert error_code(exc) == "ValidationError"


def test_batch_write_record_reports_per_entry_errors(rt, make_group):
    group = make_group()
    response = rt.batch_write_record(
        Entries=[
            {"FeatureGroupName": group, "Record": record(customer_id="c1", event_time=T1)},
            {"FeatureGroupName": group, "Record": record(customer_id="c2", event_time="bad")},
        ]
    )
    assert [e["ErrorCode"] for e in response["Errors"]] == ["ValidationError"]
    assert "Record" in _get(rt, group, "c1")
