"""Hostile JSON against the emulator: bodies botocore would never send, answered as the
service answers bad input (400 ``SerializationException`` / ``ValidationException`` /
``ValidationError``), never a 500, never an internal-error log line.

Real HTTP to the session's emulator; each test names the fault it would have caught."""

import http.client
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest

from devstack.standins.featurestore.config import FaultConfig

JSON11 = {"Content-Type": "application/x-amz-json-1.1"}
T0 = "2024-05-01T00:00:00Z"


class Wire:
    """One kept-alive connection to the emulator; answers as (status, error code, body)."""

    def __init__(self, url: str) -> None:
        host, port = url.removeprefix("http://").split(":")
        self.conn = http.client.HTTPConnection(host, int(port), timeout=30)

    def call(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> tuple[int, str | None, dict[str, Any]]:
        data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
        self.conn.request(method, path, body=data, headers=headers or {})
        response = self.conn.getresponse()
        payload = json.loads(response.read() or b"{}")
        code = response.getheader("x-amzn-ErrorType") or payload.get("__type")
        return response.status, code, payload

    def control(self, operation: str, body: Any) -> tuple[int, str | None, dict[str, Any]]:
        return self.call("POST", "/", body, {**JSON11, "X-Amz-Target": f"SageMaker.{operation}"})


@pytest.fixture
def wire(featurestore_emulator) -> Iterator[Wire]:
    client = Wire(featurestore_emulator)
    yield client
    client.conn.close()


@pytest.fixture
def internal_errors(caplog) -> list[logging.LogRecord]:
    """Error records the emulator logs (an internal error is one); must stay empty."""
    caplog.set_level(logging.INFO, logger="devstack")
    records = caplog.records
    yield records
    assert [r.getMessage() for r in records if r.levelno >= logging.ERROR] == []


def _nested(depth: int) -> bytes:
    return b'{"a":' * depth + b"1" + b"}" * depth


@pytest.mark.parametrize("depth", [40, 100_000])
@pytest.mark.parametrize(
    "route",
    ["Search", "CreateFeatureGroup", "PUT /FeatureGroup/g", "POST /BatchGetRecord", "faults"],
)
def test_deeply_nested_json_is_a_serialization_error(wire, internal_errors, route, depth):
    body = b'{"Resource": "FeatureGroup", "SearchExpression": ' + _nested(depth) + b"}"
    if route == "faults":
        status, code, _ = wire.call("POST", "/_emulator/faults", body)
    elif " " in route:
        method, path = route.split(" ")
        status, code, _ = wire.call(method, path, body)
    else:
        status, code, _ = wire.control(route, body)
    assert (status, code) == (400, "SerializationException")


@pytest.mark.parametrize(
    "body",
    [
        b'{"Record": NaN}',
        b'{"Record": -Infinity}',
        b'{"Record": [{"FeatureName": "\\ud800", "ValueAsString": "x"}]}',
        b"\xff\xfe{}",
        b"[]",
        b'"text"',
    ],
)
def test_bodies_that_are_not_strict_json_objects_are_serialization_errors(
    wire, internal_errors, body
):
    status, code, payload = wire.call("PUT", "/FeatureGroup/g", body)
    assert (status, code) == (400, "SerializationException")
    assert payload["message"]


def test_a_surrogate_pair_is_a_character_not_an_error(wire, make_group, rt):
    group = make_group()
    body = json.dumps(
        {
            "Record": [
                {"FeatureName": "customer_id", "ValueAsString": "c1"},
                {"FeatureName": "event_time", "ValueAsString": T0},
                {"FeatureName": "city", "ValueAsString": "caf\u00e9 \U0001f600"},
            ]
        }
    ).encode()  # ensure_ascii: the emoji travels as the pair \ud83d\ude00
    assert b"\\ud83d\\ude00" in body
    assert wire.call("PUT", f"/FeatureGroup/{group}", body)[0] == 200
    got = rt.get_record(FeatureGroupName=group, RecordIdentifierValueAsString="c1")["Record"]
    assert {"FeatureName": "city", "ValueAsString": "caf\u00e9 \U0001f600"} in got


@pytest.mark.parametrize(
    ("settings", "field"),
    [
        (b"{not json", None),
        (b"[1]", None),
        ({"throttle_rate": 5}, "throttle_rate"),
        ({"error_rate": -0.1}, "error_rate"),
        ({"throttle_rate": 0.7, "error_rate": 0.7}, "throttle_rate + error_rate"),
        ({"latency_ms": -1}, "latency_ms"),
        ({"latency_ms": 10**9}, "latency_ms"),
        ({"latency_ms": "slow"}, "latency_ms"),
        ({"error_status": 200}, "error_status"),
        ({"error_code": "Boom\r\nSet-Cookie: x=1"}, "error_code"),
        ({"operations": "PutRecord"}, "operations"),
        ({"operations": ["Teleport"]}, "operations"),
        ({"seed": True}, "seed"),
        ({"throttle": 0.5}, "throttle"),
    ],
)
def test_fault_settings_are_validated_and_a_bad_post_changes_nothing(
    wire, featurestore_server, internal_errors, settings, field
):
    featurestore_server.faults = FaultConfig(latency_ms=1, operations=frozenset({"GetRecord"}))
    try:
        status, code, payload = wire.call("POST", "/_emulator/faults", settings)
        assert status == 400
        assert code in ("ValidationException", "SerializationException")
        if field is not None:
            assert field in payload["message"]
        assert "Set-Cookie" not in json.dumps(payload)  # never echoed
        assert wire.call("GET", "/_emulator/faults")[2]["latency_ms"] == 1  # unchanged
    finally:
        featurestore_server.faults = FaultConfig()


def test_valid_fault_settings_still_apply(wire, featurestore_server):
    try:
        sent = {"throttle_rate": 1, "operations": ["GetRecord"], "injected": {"throttle": 3}}
        status, _, payload = wire.call("POST", "/_emulator/faults", sent)
        assert status == 200 and payload["throttle_rate"] == 1.0
        assert featurestore_server.faults.operations == frozenset({"GetRecord"})
    finally:
        featurestore_server.faults = FaultConfig()


@pytest.mark.parametrize(
    "identifiers",
    [
        "not-a-list",
        [{"FeatureGroupName": "{group}", "RecordIdentifiersValueAsString": "c1"}],
        [{"FeatureGroupName": "{group}", "RecordIdentifiersValueAsString": ["c1", ["c2"]]}],
        [{"FeatureGroupName": "{group}", "RecordIdentifiersValueAsString": ["c1", 7]}],
        [
            {
                "FeatureGroupName": "{group}",
                "RecordIdentifiersValueAsString": ["c1"],
                "FeatureNames": "age",
            }
        ],
        ["{group}"],
    ],
)
def test_batch_get_record_refuses_wrong_types(wire, make_group, rt, internal_errors, identifiers):
    """A string where a list belongs used to be read as a list of characters: 200, nothing."""
    group = make_group()
    rt.put_record(
        FeatureGroupName=group,
        Record=[
            {"FeatureName": "customer_id", "ValueAsString": "c1"},
            {"FeatureName": "event_time", "ValueAsString": T0},
        ],
    )
    body = json.loads(json.dumps(identifiers).replace("{group}", group))
    status, code, payload = wire.call("POST", "/BatchGetRecord", {"Identifiers": body})
    assert (status, code) == (400, "ValidationError")
    assert "identifiers" in payload["message"]


@pytest.mark.parametrize("sort_by", ["NoSuchProperty", "", 5, ["FeatureName"]])
def test_search_refuses_a_sort_by_the_resource_does_not_have(wire, internal_errors, sort_by):
    body = {"Resource": "FeatureMetadata", "SortBy": sort_by}
    status, code, payload = wire.control("Search", body)
    assert (status, code) == (400, "ValidationException")
    assert "sortBy" in payload["message"]


def test_search_still_sorts_by_a_property_of_the_resource(wire, make_group):
    group = make_group()
    status, _, payload = wire.control(
        "Search",
        {
            "Resource": "FeatureMetadata",
            "SearchExpression": {
                "Filters": [{"Name": "FeatureGroupName", "Operator": "Equals", "Value": group}]
            },
            "SortBy": "FeatureName",
            "SortOrder": "Ascending",
        },
    )
    assert status == 200
    names = [r["FeatureMetadata"]["FeatureName"] for r in payload["Results"]]
    assert names == sorted(names) and len(names) == 5


@pytest.mark.parametrize(
    ("operation", "body", "member"),
    [
        ("ListFeatureGroups", {"MaxResults": True}, "maxResults"),
        ("ListFeatureGroups", {"MaxResults": "5"}, "maxResults"),
        ("ListFeatureGroups", {"NextToken": "\u00b2"}, "NextToken"),  # "²".isdigit() is True
        ("ListFeatureGroups", {"FeatureGroupStatusEquals": "Sleeping"}, "featureGroupStatus"),
        ("Search", {"Resource": "FeatureGroup", "NextToken": "\u00b2"}, "NextToken"),
        ("Search", {"Resource": "FeatureGroup", "NextToken": 5}, "nextToken"),
        ("Search", {"Resource": "FeatureGroup", "MaxResults": 10.5}, "maxResults"),
        (
            "Search",
            {"Resource": "FeatureGroup", "SearchExpression": {"Filters": "FeatureName"}},
            "SearchExpression.Filters",
        ),
        (
            "Search",
            {
                "Resource": "FeatureGroup",
                "SearchExpression": {"NestedFilters": [{"NestedPropertyName": "Tags"}]},
            },
            "NestedFilters.Filters",
        ),
    ],
)
def test_control_plane_members_of_the_wrong_type_are_named(
    wire, internal_errors, operation, body, member
):
    status, code, payload = wire.control(operation, body)
    assert (status, code) == (400, "ValidationException")
    if member is not None:
        assert member in payload["message"]


def test_a_ttl_beyond_the_last_instant_is_a_validation_error(wire, make_group, internal_errors):
    """EventTime + TTL past year 9999 used to overflow into a 500."""
    group = make_group()
    record = [
        {"FeatureName": "customer_id", "ValueAsString": "c1"},
        {"FeatureName": "event_time", "ValueAsString": T0},
    ]
    for ttl in ({"Unit": "Weeks", "Value": 10**12}, {"Unit": "Days", "Value": 3_000_000}):
        status, code, payload = wire.call(
            "PUT", f"/FeatureGroup/{group}", {"Record": record, "TtlDuration": ttl}
        )
        assert (status, code) == (400, "ValidationError")
        assert "TtlDuration" in payload["message"] or "ttlDuration" in payload["message"]


# -- every member of every operation, replaced by every JSON type ------------------------------

SUBSTITUTES: list[Any] = [
    "x",
    "",
    0,
    -1,
    1.5,
    10**30,
    True,
    None,
    [],
    ["x"],
    [["x"]],
    {},
    {"x": 1},
]


def _mutations(body: Any) -> Iterator[Any]:
    """``body`` with one node (any depth) replaced by each substitute, and the root too."""
    yield from SUBSTITUTES
    if isinstance(body, dict):
        for key, value in body.items():
            for changed in _mutations(value):
                yield {**body, key: changed}
    elif isinstance(body, list):
        for index, value in enumerate(body):
            for changed in _mutations(value):
                yield [*body[:index], changed, *body[index + 1 :]]


def _base_requests(group: str) -> list[tuple[str, str, str | None, dict[str, Any]]]:
    """(method, path, control-plane operation, a valid body) for every operation."""
    record = [
        {"FeatureName": "customer_id", "ValueAsString": "c1"},
        {"FeatureName": "event_time", "ValueAsString": T0},
        {"FeatureName": "age", "ValueAsString": "3"},
    ]
    ttl = {"Unit": "Days", "Value": 1}
    arn = f"arn:aws:sagemaker:us-east-1:123456789012:feature-group/{group}"
    control = [
        (
            "CreateFeatureGroup",
            {
                "FeatureGroupName": f"{group}-new",
                "RecordIdentifierFeatureName": "customer_id",
                "EventTimeFeatureName": "event_time",
                "FeatureDefinitions": [
                    {"FeatureName": "customer_id", "FeatureType": "String"},
                    {"FeatureName": "event_time", "FeatureType": "String"},
                ],
                "OnlineStoreConfig": {"EnableOnlineStore": True, "TtlDuration": ttl},
                "OfflineStoreConfig": {
                    "S3StorageConfig": {"S3Uri": "s3://bucket/prefix"},
                    "TableFormat": "Glue",
                },
                "RoleArn": "arn:aws:iam::123456789012:role/featurestore",
                "ThroughputConfig": {"ThroughputMode": "OnDemand"},
                "Tags": [{"Key": "k", "Value": "v"}],
            },
        ),
        ("DescribeFeatureGroup", {"FeatureGroupName": group}),
        (
            "ListFeatureGroups",
            {
                "NameContains": group[:20],
                "FeatureGroupStatusEquals": "Created",
                "OfflineStoreStatusEquals": "Active",
                "CreationTimeAfter": 0,
                "SortBy": "Name",
                "SortOrder": "Ascending",
                "MaxResults": 5,
                "NextToken": "0",
            },
        ),
        (
            "UpdateFeatureGroup",
            {
                "FeatureGroupName": group,
                "FeatureAdditions": [{"FeatureName": "extra", "FeatureType": "String"}],
                "OnlineStoreConfig": {"TtlDuration": ttl},
                "ThroughputConfig": {"ThroughputMode": "OnDemand"},
            },
        ),
        (
            "UpdateFeatureMetadata",
            {
                "FeatureGroupName": group,
                "FeatureName": "age",
                "Description": "d",
                "ParameterAdditions": [{"Key": "k", "Value": "v"}],
                "ParameterRemovals": ["old"],
            },
        ),
        ("DescribeFeatureMetadata", {"FeatureGroupName": group, "FeatureName": "age"}),
        (
            "Search",
            {
                "Resource": "FeatureMetadata",
                "SearchExpression": {
                    "Filters": [{"Name": "FeatureName", "Operator": "Equals", "Value": "age"}],
                    "NestedFilters": [
                        {
                            "NestedPropertyName": "Parameters",
                            "Filters": [{"Name": "Key", "Operator": "Exists"}],
                        }
                    ],
                    "SubExpressions": [
                        {
                            "Filters": [
                                {"Name": "CreationTime", "Operator": "GreaterThan", "Value": "0"}
                            ]
                        }
                    ],
                    "Operator": "Or",
                },
                "SortBy": "FeatureName",
                "SortOrder": "Ascending",
                "MaxResults": 5,
                "NextToken": "0",
            },
        ),
        ("DeleteFeatureGroup", {"FeatureGroupName": f"{group}-absent"}),
        ("AddTags", {"ResourceArn": arn, "Tags": [{"Key": "k", "Value": "v"}]}),
        ("ListTags", {"ResourceArn": arn, "MaxResults": 50, "NextToken": "0"}),
        ("DeleteTags", {"ResourceArn": arn, "TagKeys": ["k"]}),
    ]
    runtime = [
        (
            "POST",
            f"/FeatureGroup/{group}/Record",
            {
                "RecordIdentifierValueAsString": "c1",
                "Features": record[1:],
                "TargetStores": ["OnlineStore"],
                "TtlDuration": ttl,
            },
        ),
        (
            "POST",
            f"/FeatureGroup/{group}/ListRecords",
            {"MaxResults": 5, "IncludeSoftDeletedRecords": True},
        ),
        (
            "PUT",
            f"/FeatureGroup/{group}",
            {"Record": record, "TargetStores": ["OnlineStore", "OfflineStore"], "TtlDuration": ttl},
        ),
        (
            "POST",
            "/BatchGetRecord",
            {
                "Identifiers": [
                    {
                        "FeatureGroupName": group,
                        "RecordIdentifiersValueAsString": ["c1"],
                        "FeatureNames": ["age"],
                    }
                ],
                "ExpirationTimeResponse": "Enabled",
            },
        ),
        (
            "POST",
            "/BatchWriteRecord",
            {
                "Entries": [
                    {
                        "FeatureGroupName": group,
                        "Record": record,
                        "TargetStores": ["OnlineStore"],
                        "TtlDuration": ttl,
                    }
                ],
                "TtlDuration": ttl,
            },
        ),
        (
            "POST",
            "/_emulator/faults",
            {
                "latency_ms": 0,
                "throttle_rate": 0,
                "error_rate": 0,
                "error_code": "Injected",
                "error_status": 503,
                "operations": ["DescribeFeatureMetadata"],
                "include_control_plane": False,
                "seed": 1,
            },
        ),
    ]
    return [("POST", "/", op, body) for op, body in control] + [
        (method, path, None, body) for method, path, body in runtime
    ]


def test_no_member_of_any_operation_can_cause_a_server_error(
    wire, make_group, featurestore_server, internal_errors
):
    # Standard_V2, so UpdateRecord gets past the storage-type check to every member.
    group = make_group(online={"EnableOnlineStore": True, "StorageType": "Standard_V2"})
    answered: dict[int, int] = {}
    try:
        for method, path, operation, base in _base_requests(group):
            headers = {**JSON11, "X-Amz-Target": f"SageMaker.{operation}"} if operation else {}
            for body in _mutations(base):
                status, _, payload = wire.call(method, path, body, headers)
                assert status < 500, (operation or path, body, payload)
                if status >= 400:
                    assert payload.get("message"), (operation or path, body, payload)
                answered[status] = answered.get(status, 0) + 1
        for query in (
            "RecordIdentifierValueAsString=%ff%fe",
            "RecordIdentifierValueAsString=c1&FeatureName=%00",
            "RecordIdentifierValueAsString=c1&ExpirationTimeResponse=Sometimes",
            "",
        ):
            status, _, _ = wire.call("GET", f"/FeatureGroup/{group}?{query}")
            assert status < 500, query
        for query in (
            f"RecordIdentifierValueAsString=c1&EventTime={T0}&DeletionMode=Shred",
            f"RecordIdentifierValueAsString=c1&EventTime={T0}&TargetStores=Attic",
            "RecordIdentifierValueAsString=c1&EventTime=yesterday",
        ):
            status, _, _ = wire.call("DELETE", f"/FeatureGroup/{group}?{query}")
            assert status == 400, query
    finally:
        featurestore_server.faults = FaultConfig()
    assert answered.get(200, 0) > 0 and answered.get(400, 0) > 1000  # the sweep did reach both
    assert wire.control("DescribeFeatureGroup", {"FeatureGroupName": group})[0] == 200
