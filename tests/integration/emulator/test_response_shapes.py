"""Every answer of every implemented operation has exactly the shape botocore's model gives.

botocore parses what it knows and drops the rest silently, so a misspelt or invented member
would go unnoticed by any test that reads the parsed answer. This one reads the raw JSON:
every member must be in the output shape, of its type, and every required member present.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.loaders import Loader

from tests.integration.emulator.test_model_constraints import (
    ACCOUNT_ARN,
    BASE,
    CONTROL,
    CP_GROUP,
    RT_GROUP,
    RUNTIME,
    T1,
    _record,
    clients,  # noqa: F401  (the module's private emulator)
)

_MODELS = {svc: Loader().load_service_model(svc, "service-2") for svc in (RUNTIME, CONTROL)}
_ARN = f"{ACCOUNT_ARN}:feature-group/{CP_GROUP}"
_JSON_TYPES = {
    "string": str,
    "boolean": bool,
    "integer": int,
    "long": int,
    "double": (int, float),
    "float": (int, float),
    "timestamp": (int, float),  # epoch seconds on the JSON protocols
}

# Requests that succeed, in order (later ones rely on earlier ones).
CALLS: list[tuple[str, str, dict[str, Any]]] = [
    (RUNTIME, "PutRecord", {"FeatureGroupName": RT_GROUP, "Record": _record("shape")}),
    (
        RUNTIME,
        "GetRecord",
        {
            "FeatureGroupName": RT_GROUP,
            "RecordIdentifierValueAsString": "shape",
            "ExpirationTimeResponse": "Enabled",
        },
    ),
    (
        RUNTIME,
        "BatchGetRecord",
        {
            "Identifiers": [
                {"FeatureGroupName": RT_GROUP, "RecordIdentifiersValueAsString": ["shape"]},
                {"FeatureGroupName": "sweep-absent", "RecordIdentifiersValueAsString": ["x"]},
            ]
        },
    ),
    (
        RUNTIME,
        "BatchWriteRecord",
        {
            "Entries": [
                {"FeatureGroupName": RT_GROUP, "Record": _record("shape2")},
                {"FeatureGroupName": "sweep-absent", "Record": _record("x")},
            ]
        },
    ),
    (
        RUNTIME,
        "UpdateRecord",
        {
            "FeatureGroupName": RT_GROUP,
            "RecordIdentifierValueAsString": "shape",
            "Features": [{"FeatureName": "tags", "ValueAsStringList": ["b"]}],
        },
    ),
    (RUNTIME, "ListRecords", {"FeatureGroupName": RT_GROUP, "MaxResults": 1}),
    (
        RUNTIME,
        "DeleteRecord",
        {"FeatureGroupName": RT_GROUP, "RecordIdentifierValueAsString": "shape2", "EventTime": T1},
    ),
    (
        CONTROL,
        "CreateFeatureGroup",
        {
            "FeatureGroupName": "shape-new",
            "RecordIdentifierFeatureName": "id",
            "EventTimeFeatureName": "t",
            "FeatureDefinitions": [
                {"FeatureName": "id", "FeatureType": "String"},
                {"FeatureName": "t", "FeatureType": "Fractional"},
            ],
            "OnlineStoreConfig": {"EnableOnlineStore": True},
            "OfflineStoreConfig": {"S3StorageConfig": {"S3Uri": "s3://b/p"}},
            "RoleArn": "arn:aws:iam::123456789012:role/r",
        },
    ),
    (CONTROL, "DescribeFeatureGroup", {"FeatureGroupName": CP_GROUP}),
    (CONTROL, "ListFeatureGroups", {"MaxResults": 1}),
    (
        CONTROL,
        "UpdateFeatureGroup",
        {
            "FeatureGroupName": CP_GROUP,
            "FeatureAdditions": [{"FeatureName": "x", "FeatureType": "String"}],
        },
    ),
    (
        CONTROL,
        "UpdateFeatureMetadata",
        {
            "FeatureGroupName": CP_GROUP,
            "FeatureName": "id",
            "Description": "d",
            "ParameterAdditions": [{"Key": "k", "Value": "v"}],
        },
    ),
    (CONTROL, "DescribeFeatureMetadata", {"FeatureGroupName": CP_GROUP, "FeatureName": "id"}),
    (CONTROL, "Search", {"Resource": "FeatureGroup", "MaxResults": 1}),
    (CONTROL, "Search", {"Resource": "FeatureMetadata", "MaxResults": 1}),
    (CONTROL, "AddTags", {"ResourceArn": _ARN, "Tags": [{"Key": "k", "Value": "v"}]}),
    (CONTROL, "ListTags", {"ResourceArn": _ARN}),
    (CONTROL, "DeleteTags", {"ResourceArn": _ARN, "TagKeys": ["k"]}),
    (CONTROL, "DeleteFeatureGroup", {"FeatureGroupName": "shape-new"}),
]


# (operation.member, problem) the emulator differs on, with the reason.
DOCUMENTED_EXCEPTIONS = {
    "DescribeFeatureGroup.NextToken: required but missing": (
        "the model marks the FeatureDefinitions page token required, but every definition "
        "comes back in one page, so there is no page to resume; botocore does not check "
        "required output members"
    ),
}


def _problems(model: dict[str, Any], shape_name: str, value: Any, path: str) -> list[str]:
    shape = model["shapes"][shape_name]
    kind = shape["type"]
    if kind == "structure":
        if not isinstance(value, dict):
            return [f"{path}: expected an object"]
        members = {
            name: member
            for name, member in shape.get("members", {}).items()
            if member.get("location") not in ("header", "headers", "statusCode")
        }
        found = [f"{path}.{key}: not in the model" for key in value if key not in members]
        found += [
            f"{path}.{name}: required but missing"
            for name in shape.get("required", [])
            if name in members and name not in value
        ]
        for key, item in value.items():
            if key in members:
                found += _problems(model, members[key]["shape"], item, f"{path}.{key}")
        return found
    if kind == "list":
        if not isinstance(value, list):
            return [f"{path}: expected a list"]
        return [
            problem
            for index, item in enumerate(value)
            for problem in _problems(model, shape["member"]["shape"], item, f"{path}[{index}]")
        ]
    if kind == "map":
        if not isinstance(value, dict):
            return [f"{path}: expected an object (map)"]
        return [
            problem
            for key, item in value.items()
            for problem in _problems(model, shape["value"]["shape"], item, f"{path}{{{key}}}")
        ]
    expected = _JSON_TYPES.get(kind)
    if expected is None or (isinstance(value, bool) and kind != "boolean"):
        return [f"{path}: {type(value).__name__} for a {kind}"] if expected else []
    if not isinstance(value, expected):
        return [f"{path}: {type(value).__name__} for a {kind}"]
    if "enum" in shape and value not in shape["enum"]:
        return [f"{path}: {value!r} is not in the model's enum"]
    return []


def test_every_answer_matches_the_output_shape(clients):  # noqa: F811
    raw: dict[str, bytes] = {}

    def keep(http_response: Any, model: Any, **_: Any) -> None:
        raw["body"] = http_response.content
        raw["status"] = http_response.status_code

    for client in clients.values():
        client.meta.events.register("after-call", keep)
    problems: list[str] = []
    checked = set()
    for service, operation, request in CALLS:
        clients[service]._make_api_call(operation, request)
        assert raw["status"] == 200, (operation, raw["body"][:300])
        model = _MODELS[service]
        output = model["operations"][operation].get("output")
        body = json.loads(raw["body"]) if raw["body"] else {}
        if output is None:
            if body:
                problems.append(f"{operation}: the model has no output, the answer has a body")
        else:
            problems += _problems(model, output["shape"], body, operation)
        checked.add(operation)
    assert [p for p in problems if p not in DOCUMENTED_EXCEPTIONS] == []
    assert sorted(set(DOCUMENTED_EXCEPTIONS) - set(problems)) == []  # none stale
    assert checked == {
        op.partition("#")[0] for (_, op) in BASE
    }  # every operation the emulator implements


@pytest.mark.parametrize(
    ("value", "shape", "problem"),
    [
        ({"Bogus": 1}, "ListTagsOutput", "Bogus: not in the model"),
        ({"Tags": [{"Key": "k"}]}, "ListTagsOutput", "required but missing"),
        ({"RecordIdentifiers": "x"}, "ListRecordsResponse", "expected a list"),
    ],
)
def test_the_shape_check_can_fail(value, shape, problem):
    model = _MODELS[RUNTIME] if shape.startswith("ListRecords") else _MODELS[CONTROL]
    assert any(problem in p for p in _problems(model, shape, value, "x"))
