"""Batch limits and per-entry results; the error codes callers branch on."""

from tests.contract.support import VALIDATION_CODES, error, get, record

T1 = "2024-05-01T12:00:00Z"


def test_batch_get_record_leaves_out_missing_ids_and_reports_unknown_groups(target, rid):
    group = target.group("standard")
    target.rt.put_record(FeatureGroupName=group, Record=record(customer_id=rid, event_time=T1))
    missing_group = f"{target.prefix}-never-created"
    response = target.rt.batch_get_record(
        Identifiers=[
            {"FeatureGroupName": group, "RecordIdentifiersValueAsString": [rid, f"{rid}-none"]},
            {"FeatureGroupName": missing_group, "RecordIdentifiersValueAsString": [rid]},
        ]
    )
    assert [r["RecordIdentifierValueAsString"] for r in response["Records"]] == [rid]
    assert [(e["FeatureGroupName"], e["ErrorCode"]) for e in response["Errors"]] == [
        (missing_group, "ResourceNotFound")
    ]


def test_batch_get_record_takes_at_most_100_ids_per_group(target, rid):
    group = target.group("standard")
    ids = [f"{rid}-{n}" for n in range(101)]
    code, status, _ = error(
        target.rt.batch_get_record,
        Identifiers=[{"FeatureGroupName": group, "RecordIdentifiersValueAsString": ids}],
    )
    assert (code in VALIDATION_CODES, status) == (True, 400)


def test_batch_write_record_takes_at_most_25_entries(target, rid):
    group = target.group("standard")
    entries = [
        {"FeatureGroupName": group, "Record": record(customer_id=f"{rid}-{n}", event_time=T1)}
        for n in range(26)
    ]
    code, status, _ = error(target.rt.batch_write_record, Entries=entries)
    assert (code in VALIDATION_CODES, status) == (True, 400)
    assert get(target, group, f"{rid}-0") is None


def test_batch_write_record_reports_a_bad_entry_and_writes_the_others(target, rid):
    group = target.group("standard")
    response = target.rt.batch_write_record(
        Entries=[
            {"FeatureGroupName": group, "Record": record(customer_id=rid, event_time=T1)},
            {
                "FeatureGroupName": group,
                "Record": record(customer_id=f"{rid}-bad", event_time="not a time"),
            },
        ]
    )
    assert [e["Entry"]["Record"][0]["ValueAsString"] for e in response["Errors"]] == [f"{rid}-bad"]
    assert get(target, group, rid) == {"customer_id": rid, "event_time": T1}


def test_unknown_group_errors(target, rid):
    missing = f"{target.prefix}-never-created"
    code, status, _ = error(
        target.rt.get_record, FeatureGroupName=missing, RecordIdentifierValueAsString=rid
    )
    assert (code, status) == ("ResourceNotFound", 404)
    code, status, _ = error(
        target.rt.put_record,
        FeatureGroupName=missing,
        Record=record(customer_id=rid, event_time=T1),
    )
    assert (code in (*VALIDATION_CODES, "ResourceNotFound"), status in (400, 404)) == (True, True)
    code, _, _ = error(target.sm.describe_feature_group, FeatureGroupName=missing)
    assert code == "ResourceNotFound"


def test_a_missing_record_is_an_empty_answer(target, rid):
    group = target.group("standard")
    response = target.rt.get_record(FeatureGroupName=group, RecordIdentifierValueAsString=rid)
    assert "Record" not in response
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 200
