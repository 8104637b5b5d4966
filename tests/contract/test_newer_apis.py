"""UpdateRecord, ListRecords and tags on feature groups."""

from tests.contract.support import VALIDATION_CODES, error, get, record

T0 = "2024-04-30T12:00:00Z"
T1 = "2024-05-01T12:00:00Z"
T2 = "2024-05-02T12:00:00Z"


def test_update_record_is_a_partial_update(target, rid):
    group = target.group("standard-v2")
    target.rt.put_record(
        FeatureGroupName=group,
        Record=record(customer_id=rid, event_time=T1, age="30", city="Oslo"),
    )
    target.rt.update_record(
        FeatureGroupName=group, RecordIdentifierValueAsString=rid, Features=record(age="31")
    )
    assert get(target, group, rid) == {
        "customer_id": rid,
        "event_time": T1,
        "age": "31",
        "city": "Oslo",
    }


def test_update_record_with_an_older_event_time_is_a_conflict(target, rid):
    group = target.group("standard-v2")
    target.rt.put_record(
        FeatureGroupName=group, Record=record(customer_id=rid, event_time=T1, city="Oslo")
    )
    code, status, _ = error(
        target.rt.update_record,
        FeatureGroupName=group,
        RecordIdentifierValueAsString=rid,
        Features=record(event_time=T0, city="Moss"),
    )
    assert (code, status) == ("ConflictException", 409)
    target.rt.update_record(
        FeatureGroupName=group,
        RecordIdentifierValueAsString=rid,
        Features=record(event_time=T2, city="Bergen"),
    )
    assert get(target, group, rid)["city"] == "Bergen"


def test_update_record_needs_an_existing_record_and_a_v2_or_in_memory_group(target, rid):
    code, status, _ = error(
        target.rt.update_record,
        FeatureGroupName=target.group("standard-v2"),
        RecordIdentifierValueAsString=rid,
        Features=record(age="1"),
    )
    assert (code, status) == ("ResourceNotFound", 404)
    standard = target.group("standard")
    target.rt.put_record(FeatureGroupName=standard, Record=record(customer_id=rid, event_time=T1))
    code, status, _ = error(
        target.rt.update_record,
        FeatureGroupName=standard,
        RecordIdentifierValueAsString=rid,
        Features=record(age="1"),
    )
    assert (code in VALIDATION_CODES, status) == (True, 400)


def _all_ids(target, group, prefix, **kwargs):
    ids, token = [], None
    while True:
        page = target.rt.list_records(
            FeatureGroupName=group,
            MaxResults=2,
            **({"NextToken": token} if token else {}),
            **kwargs,
        )
        ids += [i for i in page["RecordIdentifiers"] if i.startswith(prefix)]
        token = page.get("NextToken")
        if not token:
            return sorted(ids)


def test_list_records_pages_and_shows_soft_deleted_ids_on_request(target, rid):
    group = target.group("standard")
    for n in range(5):
        target.rt.put_record(
            FeatureGroupName=group, Record=record(customer_id=f"{rid}-{n}", event_time=T1)
        )
    target.rt.delete_record(
        FeatureGroupName=group, RecordIdentifierValueAsString=f"{rid}-4", EventTime=T2
    )
    assert _all_ids(target, group, rid) == [f"{rid}-{n}" for n in range(4)]
    assert _all_ids(target, group, rid, IncludeSoftDeletedRecords=True) == [
        f"{rid}-{n}" for n in range(5)
    ]


def test_tags_on_a_feature_group(target):
    group = target.group("standard")
    arn = target.sm.describe_feature_group(FeatureGroupName=group)["FeatureGroupArn"]
    target.sm.add_tags(ResourceArn=arn, Tags=[{"Key": "contract", "Value": "yes"}])
    tags = {t["Key"]: t["Value"] for t in target.sm.list_tags(ResourceArn=arn)["Tags"]}
    assert tags.get("contract") == "yes"
    target.sm.delete_tags(ResourceArn=arn, TagKeys=["contract"])
    tags = {t["Key"]: t["Value"] for t in target.sm.list_tags(ResourceArn=arn)["Tags"]}
    assert "contract" not in tags
