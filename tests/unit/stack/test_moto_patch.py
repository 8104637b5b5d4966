"""The moto patch gives moto's own answers, and refuses a moto it was not made for.

Each equivalence test runs moto as shipped and moto patched on the same real inputs, in this
process (the patch is undone after each use), and compares the results exactly.
"""

import base64
import logging
import os
from datetime import datetime, timedelta

import boto3
import pytest
from moto import mock_aws

from devstack.standins import moto_service
from devstack.standins.moto_service import (
    MOTO_VERSION,
    MotoPatch,
    check_fit,
    fast_get_records,
    installed_moto_version,
    patched_moto,
)
from featurestream.aws.dependency_fit import DependencyMismatch

REGION = "us-east-1"
ACCOUNT = "123456789012"
T0 = datetime(2024, 3, 1, 12, 0, 0)  # naive UTC, as moto's utcnow() gives


@pytest.fixture(autouse=True)
def _credentials(monkeypatch):
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(key, "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    for key in [k for k in os.environ if k.startswith("AWS_ENDPOINT_URL")]:
        monkeypatch.delenv(key)


def test_the_installed_moto_is_the_one_the_patch_was_made_for():
    assert installed_moto_version() == MOTO_VERSION
    check_fit()  # raises if any patched function changed


def test_a_moto_whose_internals_changed_is_refused_naming_both_versions(monkeypatch):
    changed = dict(moto_service.FINGERPRINTS)
    changed["moto.kinesis.models.Shard.get_records"] = "000000000000"
    monkeypatch.setattr(moto_service, "FINGERPRINTS", changed)
    monkeypatch.setattr(moto_service, "MOTO_VERSION", "5.0.0")
    with pytest.raises(DependencyMismatch) as raised:
        MotoPatch().apply()
    message = str(raised.value)
    assert f"moto {installed_moto_version()} is installed" in message
    assert "made for moto 5.0.0" in message
    assert "Shard.get_records changed" in message
    from moto.kinesis.models import Shard

    assert Shard.get_records.__module__ == "moto.kinesis.models"  # nothing was patched


def _stream_with_records(name: str, count: int, step: timedelta) -> tuple[object, object]:
    """A one-shard stream holding ``count`` records that arrived ``step`` apart."""
    kinesis = boto3.client("kinesis", region_name=REGION)
    kinesis.create_stream(StreamName=name, ShardCount=1)
    kinesis.put_records(
        StreamName=name,
        Records=[{"Data": f"r{i}".encode(), "PartitionKey": f"C{i}"} for i in range(count)],
    )
    from moto.kinesis.models import kinesis_backends

    stream = kinesis_backends[ACCOUNT][REGION].streams[name]
    shard = next(iter(stream.shards.values()))
    for index, record in enumerate(shard.records.values()):
        record.created_at = T0 + step * index
    return kinesis, shard


@mock_aws
def test_shard_reads_equal_moto_s_own_including_millis_behind_latest():
    from moto.kinesis.models import Shard

    _, shard = _stream_with_records("equivalence", 12, timedelta(milliseconds=250))
    original = Shard.get_records
    behind_seen = set()
    for last in range(0, 15):
        for limit in (None, 1, 3, 5, 12, 100):
            expected = original(shard, str(last), limit)
            actual = fast_get_records(shard, str(last), limit, original=original)
            assert actual == expected, (last, limit)
            behind_seen.add(expected[2])
    assert max(behind_seen) == 2750  # a page that ends 11 records before the newest
    assert 0 in behind_seen


@mock_aws
def test_shard_reads_across_a_gap_fall_back_to_moto_s_scan():
    from moto.kinesis.models import Shard

    _, shard = _stream_with_records("gap", 8, timedelta(seconds=1))
    del shard.records[4]
    original = Shard.get_records
    for last in range(0, 9):
        assert fast_get_records(shard, str(last), 3, original=original) == original(
            shard, str(last), 3
        )


def _reads(kinesis, name: str) -> list[dict]:
    shard_id = kinesis.list_shards(StreamName=name)["Shards"][0]["ShardId"]
    iterator = kinesis.get_shard_iterator(
        StreamName=name, ShardId=shard_id, ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    pages = []
    for _ in range(4):
        page = kinesis.get_records(ShardIterator=iterator, Limit=3)
        page.pop("ResponseMetadata")
        pages.append(page)
        iterator = page["NextShardIterator"]
    return pages


@mock_aws
def test_get_records_on_the_wire_equals_moto_s_serializer():
    kinesis, _ = _stream_with_records("wire", 8, timedelta(milliseconds=1500))
    expected = _reads(kinesis, "wire")
    with patched_moto():
        actual = _reads(kinesis, "wire")
    assert actual == expected
    assert expected[0]["MillisBehindLatest"] == 7500  # records 0-2 read, record 7 newest
    first = expected[0]["Records"][0]
    assert first["ApproximateArrivalTimestamp"].replace(tzinfo=None) == T0
    assert base64.b64decode(base64.b64encode(first["Data"])) == b"r0"


def _put(name: str) -> list[object]:
    kinesis = boto3.client("kinesis", region_name=REGION)
    kinesis.create_stream(StreamName=name, ShardCount=2)
    answers = []
    for batch in range(3):
        answer = kinesis.put_records(
            StreamName=name,
            Records=[
                {"Data": f"{batch}-{i}".encode(), "PartitionKey": f"C{i % 7}"} for i in range(20)
            ],
        )
        answer.pop("ResponseMetadata")
        answers.append(answer)
    with pytest.raises(kinesis.exceptions.ResourceNotFoundException) as missing:
        kinesis.put_records(StreamName="absent", Records=[{"Data": b"x", "PartitionKey": "k"}])
    answers.append(missing.value.response["Error"])
    return answers


def test_put_records_on_the_wire_equals_moto_s_serializer():
    with mock_aws():
        expected = _put("puts")
    with mock_aws(), patched_moto():
        actual = _put("puts")
    assert actual == expected
    assert expected[0]["FailedRecordCount"] == 0


def test_backends_come_from_a_cache_with_moto_s_answers(monkeypatch):
    from moto import backends
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication

    hosts = [
        "kinesis.us-east-1.amazonaws.com",
        "sqs.us-east-1.amazonaws.com",
        "s3.amazonaws.com",
        "sqs",
        "moto_api",
        None,
        "unknown.example",
    ]
    app = DomainDispatcherApplication(lambda service: None)
    expected = [app.get_backend_for_host(host) for host in hosts]
    with patched_moto():
        assert [app.get_backend_for_host(host) for host in hosts] == expected

        def no_disk(*args):
            pytest.fail("moto's package folder was listed again")

        monkeypatch.setattr(os, "listdir", no_disk)
        assert [app.get_backend_for_host(host) for host in hosts] == expected
        assert "sqs" in backends.list_of_moto_modules()
    assert expected[0] == "kinesis"


def test_the_service_refuses_to_start_on_a_changed_moto(monkeypatch, capsys):
    monkeypatch.setattr(moto_service, "MOTO_VERSION", "5.0.0")
    monkeypatch.setattr(
        moto_service, "FINGERPRINTS", dict.fromkeys(moto_service.FINGERPRINTS, "000000000000")
    )
    assert moto_service.main(["--port", "1"]) == 3
    err = capsys.readouterr().err
    assert "made for moto 5.0.0" in err
    assert logging.getLogger("werkzeug").level != logging.DEBUG


def _transaction_story(client):
    """A table, then transactions that commit, cancel on a condition, repeat an item and
    carry a ConditionCheck; every answer and the table's final items."""
    from botocore.exceptions import ClientError

    client.create_table(
        TableName="state",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )

    def put(pk, version=None, extra=None):
        item = {"pk": {"S": pk}, **(extra or {})}
        action = {"TableName": "state", "Item": item}
        if version is None:
            action["ConditionExpression"] = "attribute_not_exists(pk)"
        else:
            action["ConditionExpression"] = "version = :v"
            action["ExpressionAttributeValues"] = {":v": {"N": str(version)}}
        return {"Put": action}

    answers = []
    transactions = [
        [put("customer#C1", extra={"version": {"N": "0"}}), put("order#O1"), put("order#O2")],
        [put("customer#C1", version=0, extra={"version": {"N": "1"}}), put("order#O1")],
        [put("customer#C1", version=0, extra={"version": {"N": "1"}}), put("order#O3")],
        [put("order#O4"), put("order#O4")],
        [
            {
                "ConditionCheck": {
                    "TableName": "state",
                    "Key": {"pk": {"S": "customer#C1"}},
                    "ConditionExpression": "version = :v",
                    "ExpressionAttributeValues": {":v": {"N": "1"}},
                }
            },
            {"Delete": {"TableName": "state", "Key": {"pk": {"S": "order#O2"}}}},
        ],
    ]
    for items in transactions:
        try:
            client.transact_write_items(TransactItems=items)
            answers.append("ok")
        except ClientError as error:
            answers.append(
                (error.response["Error"]["Code"], error.response.get("CancellationReasons"))
            )
    items = client.scan(TableName="state")["Items"]
    return answers, sorted(items, key=lambda item: item["pk"]["S"])


def test_transactions_give_moto_s_own_answers_and_items():
    with mock_aws():
        shipped = _transaction_story(boto3.client("dynamodb", region_name=REGION))
    with mock_aws(), patched_moto():
        patched = _transaction_story(boto3.client("dynamodb", region_name=REGION))
    assert patched == shipped
    answers, items = patched
    assert answers[0] == "ok" and answers[2] == "ok" and answers[4] == "ok"
    assert answers[1][0] == "TransactionCanceledException"
    assert [item["pk"]["S"] for item in items] == ["customer#C1", "order#O1", "order#O3"]
