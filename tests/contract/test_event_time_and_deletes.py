"""Event-time ordering online, soft and hard deletes."""

from tests.contract.support import VALIDATION_CODES, error, get, record

T1 = "2024-05-01T12:00:00Z"
T1_HALF = "2024-05-01T12:00:00.500Z"
T2 = "2024-05-02T12:00:00Z"
T3 = "2024-05-03T12:00:00Z"


def _put(target, group, rid, event_time, city):
    target.rt.put_record(
        FeatureGroupName=group, Record=record(customer_id=rid, event_time=event_time, city=city)
    )


def test_an_older_put_succeeds_but_does_not_change_the_online_record(target, rid):
    group = target.group("standard")
    _put(target, group, rid, T2, "new")
    _put(target, group, rid, T1, "old")  # 200: historic, offline only
    assert get(target, group, rid)["city"] == "new"
    _put(target, group, rid, T3, "newer")
    assert get(target, group, rid)["city"] == "newer"


def test_event_times_compare_as_instants(target, rid):
    group = target.group("standard")
    _put(target, group, rid, T1_HALF, "half")
    _put(target, group, rid, T1, "whole")  # "...00Z" sorts after "...00.500Z" as text
    assert get(target, group, rid)["city"] == "half"


def test_soft_delete_hides_the_record_and_keeps_its_event_time(target, rid):
    group = target.group("standard")
    _put(target, group, rid, T1, "a")
    target.rt.delete_record(FeatureGroupName=group, RecordIdentifierValueAsString=rid, EventTime=T2)
    assert get(target, group, rid) is None
    _put(target, group, rid, T1_HALF, "older than the delete")
    assert get(target, group, rid) is None
    _put(target, group, rid, T3, "newer than the delete")
    assert get(target, group, rid)["city"] == "newer than the delete"


def test_hard_delete_forgets_the_event_time(target, rid):
    group = target.group("standard")
    _put(target, group, rid, T2, "a")
    target.rt.delete_record(
        FeatureGroupName=group,
        RecordIdentifierValueAsString=rid,
        EventTime=T3,
        DeletionMode="HardDelete",
    )
    assert get(target, group, rid) is None
    _put(target, group, rid, T1, "older than both")
    assert get(target, group, rid)["city"] == "older than both"


def test_a_hard_delete_that_is_not_newer_fails(target, rid):
    group = target.group("standard")
    _put(target, group, rid, T2, "kept")
    code, status, _ = error(
        target.rt.delete_record,
        FeatureGroupName=group,
        RecordIdentifierValueAsString=rid,
        EventTime=T1,
        DeletionMode="HardDelete",
    )
    assert (code in VALIDATION_CODES, status) == (True, 400)
    assert get(target, group, rid)["city"] == "kept"
