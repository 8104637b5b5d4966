"""Write rules: what PutRecord stores, what it requires and which values it refuses."""

import pytest

from tests.contract.support import VALIDATION_CODES, error, get, record

T1 = "2024-05-01T12:00:00Z"
T2 = "2024-05-02T12:00:00Z"


def test_put_record_replaces_the_whole_online_row(target, rid):
    group = target.group("standard")
    target.rt.put_record(
        FeatureGroupName=group,
        Record=record(customer_id=rid, event_time=T1, age="30", city="Oslo"),
    )
    target.rt.put_record(
        FeatureGroupName=group, Record=record(customer_id=rid, event_time=T2, age="31")
    )
    assert get(target, group, rid) == {"customer_id": rid, "event_time": T2, "age": "31"}


def test_only_the_identifier_and_event_time_are_required(target, rid):
    group = target.group("standard")
    target.rt.put_record(FeatureGroupName=group, Record=record(customer_id=rid, event_time=T1))
    assert get(target, group, rid) == {"customer_id": rid, "event_time": T1}
    for missing in (record(customer_id=rid, age="1"), record(event_time=T1, age="1")):
        code, status, _ = error(target.rt.put_record, FeatureGroupName=group, Record=missing)
        assert (code in VALIDATION_CODES, status) == (True, 400)


def test_an_unknown_feature_is_refused_and_nothing_is_stored(target, rid):
    group = target.group("standard")
    code, status, _ = error(
        target.rt.put_record,
        FeatureGroupName=group,
        Record=record(customer_id=rid, event_time=T1, undefined_feature="x"),
    )
    assert (code in VALIDATION_CODES, status) == (True, 400)
    assert get(target, group, rid) is None


@pytest.mark.parametrize(
    ("feature", "value"),
    [
        ("age", "4.2"),
        ("age", "abc"),
        ("age", str(2**63)),
        ("age", "\u0661\u0662"),  # Arabic-Indic digits
        ("score", "abc"),
        ("score", "\u0661.5"),
    ],
)
def test_integral_and_fractional_values_must_be_numbers(target, rid, feature, value):
    group = target.group("standard")
    code, status, _ = error(
        target.rt.put_record,
        FeatureGroupName=group,
        Record=record(customer_id=rid, event_time=T1, **{feature: value}),
    )
    assert (code in VALIDATION_CODES, status) == (True, 400)


@pytest.mark.parametrize("event_time", ["2024-05-01T12:00:00Z", "2024-05-01T12:00:00.123Z"])
def test_documented_event_time_formats_are_accepted(target, rid, event_time):
    group = target.group("standard")
    target.rt.put_record(
        FeatureGroupName=group, Record=record(customer_id=rid, event_time=event_time)
    )
    assert get(target, group, rid)["event_time"] == event_time


@pytest.mark.parametrize(
    "event_time",
    ["2024-05-01 12:00:00Z", "2024-05-01T12:00:00", "\u0662\u0660\u0662\u0664-05-01T12:00:00Z"],
)
def test_other_event_time_formats_are_refused(target, rid, event_time):
    group = target.group("standard")
    code, status, _ = error(
        target.rt.put_record,
        FeatureGroupName=group,
        Record=record(customer_id=rid, event_time=event_time),
    )
    assert (code in VALIDATION_CODES, status) == (True, 400)
