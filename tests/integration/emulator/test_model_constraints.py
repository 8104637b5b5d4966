"""Every constraint in botocore's service models, probed just inside and just outside.

For each operation the emulator implements, this walks the input shape of the pinned
botocore models (sagemaker, sagemaker-featurestore-runtime) and finds every constrained
member: string length and pattern, integer range, enum, list size. Starting from a valid
request (``BASE``), it changes one member at a time to a value just inside the constraint
(the emulator must not answer with a constraint violation) and just outside it (the
emulator must answer 400 with a validation error). A constrained member this test cannot
reach must be listed in ``NOT_PROBED`` with its reason, and a probe whose answer differs
from the model must be listed in ``DOCUMENTED_EXCEPTIONS`` with its reason: a new botocore
that adds or changes a constraint fails here instead of drifting silently.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from botocore.loaders import Loader

from devstack.standins.featurestore.server import FeatureStoreEmulator

RUNTIME = "sagemaker-featurestore-runtime"
CONTROL = "sagemaker"
ACCOUNT_ARN = "arn:aws:sagemaker:us-east-1:123456789012"
RT_GROUP = "sweep-runtime"  # InMemory with a List feature: every runtime call applies
CP_GROUP = "sweep-control"  # Standard, online + offline
T1 = "2024-05-01T12:00:00Z"
ROLE = "arn:aws:iam::123456789012:role/sweep"


def _record(rid: str = "r1") -> list[dict[str, Any]]:
    return [
        {"FeatureName": "id", "ValueAsString": rid},
        {"FeatureName": "t", "ValueAsString": T1},
        {"FeatureName": "tags", "ValueAsStringList": ["a"]},
    ]


TTL = {"Unit": "Days", "Value": 1}
LIST_RECORDS_TOKEN = "<a NextToken from ListRecords>"
FILTER = {"Name": "FeatureGroupName", "Operator": "Contains", "Value": "sweep"}
# A valid request for every operation the emulator implements, with every optional member
# the emulator checks, so each constrained member has a value to change.
BASE: dict[tuple[str, str], dict[str, Any]] = {
    (RUNTIME, "PutRecord"): {
        "FeatureGroupName": RT_GROUP,
        "Record": _record("put-1"),  # not r1: its TTL would expire the record UpdateRecord needs
        "TargetStores": ["OnlineStore"],
        "TtlDuration": TTL,
    },
    (RUNTIME, "GetRecord"): {
        "FeatureGroupName": RT_GROUP,
        "RecordIdentifierValueAsString": "r1",
        "FeatureNames": ["t"],
        "ExpirationTimeResponse": "Enabled",
    },
    (RUNTIME, "BatchGetRecord"): {
        "Identifiers": [
            {
                "FeatureGroupName": RT_GROUP,
                "RecordIdentifiersValueAsString": ["r1"],
                "FeatureNames": ["t"],
            }
        ],
        "ExpirationTimeResponse": "Enabled",
    },
    (RUNTIME, "DeleteRecord"): {
        "FeatureGroupName": RT_GROUP,
        "RecordIdentifierValueAsString": "gone",
        "EventTime": T1,
        "TargetStores": ["OnlineStore"],
        "DeletionMode": "SoftDelete",
    },
    (RUNTIME, "BatchWriteRecord"): {
        "Entries": [
            {
                "FeatureGroupName": RT_GROUP,
                "Record": _record("put-1"),
                "TargetStores": ["OnlineStore"],
                "TtlDuration": TTL,
            }
        ],
        "TtlDuration": TTL,
    },
    (RUNTIME, "UpdateRecord"): {
        "FeatureGroupName": RT_GROUP,
        "RecordIdentifierValueAsString": "r1",
        # A late event time, so the TTL it carries keeps r1 live for every later probe.
        "Features": [
            {"FeatureName": "tags", "ValueAsStringList": ["b"]},
            {"FeatureName": "t", "ValueAsString": "2099-01-01T00:00:00Z"},
        ],
        "TargetStores": ["OnlineStore"],
        "TtlDuration": TTL,
    },
    (RUNTIME, "ListRecords"): {
        "FeatureGroupName": RT_GROUP,
        "MaxResults": 10,
        "NextToken": LIST_RECORDS_TOKEN,  # a real token, fetched when the probe is sent
        "IncludeSoftDeletedRecords": True,
    },
    (CONTROL, "CreateFeatureGroup"): {
        "FeatureGroupName": "sweep-new",
        "RecordIdentifierFeatureName": "id",
        "EventTimeFeatureName": "t",
        "FeatureDefinitions": [
            {"FeatureName": "id", "FeatureType": "String"},
            {"FeatureName": "t", "FeatureType": "String"},
        ],
        "OnlineStoreConfig": {
            "EnableOnlineStore": True,
            "SecurityConfig": {"KmsKeyId": "alias/k"},
            "TtlDuration": TTL,
            "StorageType": "Standard",
        },
        "OfflineStoreConfig": {
            "S3StorageConfig": {
                "S3Uri": "s3://bucket/prefix",
                "KmsKeyId": "alias/k",
                "ResolvedOutputS3Uri": "s3://bucket/prefix/resolved",
            },
            "DataCatalogConfig": {"TableName": "t", "Catalog": "AwsDataCatalog", "Database": "d"},
            "TableFormat": "Glue",
        },
        "ThroughputConfig": {
            "ThroughputMode": "OnDemand",
            "ProvisionedReadCapacityUnits": 5,
            "ProvisionedWriteCapacityUnits": 5,
        },
        "RoleArn": ROLE,
        "Description": "d",
        "Tags": [{"Key": "k", "Value": "v"}],
    },
    # Collections need InMemory, which has no offline store: a second base reaches them.
    (CONTROL, "CreateFeatureGroup#collections"): {
        "FeatureGroupName": "sweep-new",
        "RecordIdentifierFeatureName": "id",
        "EventTimeFeatureName": "t",
        "FeatureDefinitions": [
            {"FeatureName": "id", "FeatureType": "String"},
            {"FeatureName": "t", "FeatureType": "String"},
            {
                "FeatureName": "v",
                "FeatureType": "Fractional",
                "CollectionType": "Vector",
                "CollectionConfig": {"VectorConfig": {"Dimension": 3}},
            },
        ],
        "OnlineStoreConfig": {"EnableOnlineStore": True, "StorageType": "InMemory"},
    },
    (CONTROL, "DescribeFeatureGroup"): {"FeatureGroupName": CP_GROUP, "NextToken": "x"},
    (CONTROL, "ListFeatureGroups"): {
        "NameContains": "sweep",
        "FeatureGroupStatusEquals": "Created",
        "OfflineStoreStatusEquals": "Active",
        "SortOrder": "Ascending",
        "SortBy": "Name",
        "MaxResults": 10,
        "NextToken": "0",
    },
    (CONTROL, "DeleteFeatureGroup"): {"FeatureGroupName": "sweep-absent"},
    # Collection features only on an InMemory group (the service's rule, checked on update too).
    (CONTROL, "UpdateFeatureGroup#collection"): {
        "FeatureGroupName": RT_GROUP,
        "FeatureAdditions": [
            {
                "FeatureName": "added",
                "FeatureType": "Fractional",
                "CollectionType": "Vector",
                "CollectionConfig": {"VectorConfig": {"Dimension": 3}},
            }
        ],
    },
    (CONTROL, "UpdateFeatureGroup"): {
        "FeatureGroupName": CP_GROUP,
        "FeatureAdditions": [{"FeatureName": "added", "FeatureType": "Fractional"}],
        "OnlineStoreConfig": {"TtlDuration": TTL, "StorageType": "Standard"},
        "ThroughputConfig": {
            "ThroughputMode": "OnDemand",
            "ProvisionedReadCapacityUnits": 5,
            "ProvisionedWriteCapacityUnits": 5,
        },
    },
    (CONTROL, "UpdateFeatureMetadata"): {
        "FeatureGroupName": CP_GROUP,
        "FeatureName": "id",
        "Description": "d",
        "ParameterAdditions": [{"Key": "k", "Value": "v"}],
        "ParameterRemovals": ["old"],
    },
    (CONTROL, "DescribeFeatureMetadata"): {"FeatureGroupName": CP_GROUP, "FeatureName": "id"},
    (CONTROL, "Search"): {
        "Resource": "FeatureGroup",
        "SearchExpression": {
            "Filters": [FILTER],
            "NestedFilters": [{"NestedPropertyName": "Tags", "Filters": [FILTER]}],
            "SubExpressions": [{"Filters": [FILTER]}],
            "Operator": "And",
        },
        "SortBy": "FeatureGroupName",
        "SortOrder": "Ascending",
        "NextToken": "0",
        "MaxResults": 10,
        "CrossAccountFilterOption": "SameAccount",
        "VisibilityConditions": [{"Key": "k", "Value": "v"}],
    },
    (CONTROL, "AddTags"): {
        "ResourceArn": f"{ACCOUNT_ARN}:feature-group/{CP_GROUP}",
        "Tags": [{"Key": "k", "Value": "v"}],
    },
    (CONTROL, "ListTags"): {
        "ResourceArn": f"{ACCOUNT_ARN}:feature-group/{CP_GROUP}",
        "NextToken": "0",
        "MaxResults": 50,
    },
    (CONTROL, "DeleteTags"): {
        "ResourceArn": f"{ACCOUNT_ARN}:feature-group/{CP_GROUP}",
        "TagKeys": ["k"],
    },
}

# Constrained members with no value in BASE, each with the reason. Empty: BASE reaches every
# one in botocore 1.44.18 (the walk visits a recursive shape such as Search's SubExpressions
# once, at the top level).
NOT_PROBED: dict[str, str] = {}

_ID_QUOTA = (
    "record identifiers are at most 2 KiB, the service's documented limit, far below the "
    "model's 358400-character ValueAsString"
)
_URL_LIMIT = (
    "a 358401-character query parameter does not fit in an HTTP request line: the server "
    "answers 414 URI Too Long before any operation sees it (still a refusal)"
)
_EMPTY_QUERY_LIST = (
    "sent in the query string, where an empty list is the same as no list: botocore sends "
    "nothing, so the default applies"
)
# (operation.member path, probe kind) -> why the emulator answers differently from the model.
DOCUMENTED_EXCEPTIONS: dict[tuple[str, str], str] = {
    ("BatchGetRecord.Identifiers[].RecordIdentifiersValueAsString[]", "inside max"): _ID_QUOTA,
    ("UpdateRecord.RecordIdentifierValueAsString", "inside max"): _ID_QUOTA,
    ("GetRecord.RecordIdentifierValueAsString", "outside max"): _URL_LIMIT,
    ("DeleteRecord.RecordIdentifierValueAsString", "outside max"): _URL_LIMIT,
    ("DeleteRecord.EventTime", "outside max"): _URL_LIMIT,
    ("GetRecord.FeatureNames", "outside min"): _EMPTY_QUERY_LIST,
    ("DeleteRecord.TargetStores", "outside min"): _EMPTY_QUERY_LIST,
    ("Search.SortBy", "inside min"): (
        "the model allows any property name; the emulator sorts only by the scalar "
        "properties its documents have and refuses others rather than return an arbitrary "
        "order"
    ),
    ("Search.SortBy", "inside max"): "as for inside min",
}


@dataclass(frozen=True)
class Probe:
    service: str
    operation: str
    member: str  # Operation.Member[].Member
    kind: str  # "inside max", "outside pattern", ...
    request: dict[str, Any]
    accept: bool


# -- values that match a pattern at a given length ---------------------------------------------

_FG_ARN = "arn:aws:sagemaker:us-east-1:123456789012:feature-group/"


def _name(n: int) -> str | None:
    return "a" * n if 1 <= n <= 64 else None


def _name_or_arn(n: int) -> str | None:
    if n <= 64:
        return _name(n)
    # Pad the region part ([a-z0-9\-]*) to reach longer lengths with a 64-character name.
    pad = n - len(_FG_ARN) - 64
    return None if pad < 0 else _FG_ARN.replace("us-east-1", "us-east-1" + "x" * pad) + "a" * 64


def _role(n: int) -> str | None:
    prefix = "arn:aws:iam::123456789012:role/"
    return prefix + "r" * (n - len(prefix)) if n > len(prefix) else None


def _s3(n: int) -> str | None:
    return "s3://b/" + "p" * (n - 7) if n >= 7 else None


def _resource_arn(n: int) -> str | None:
    prefix = f"{ACCOUNT_ARN}:feature-group/"
    return prefix + "a" * (n - len(prefix)) if n > len(prefix) else None


def _plain(char: str) -> Callable[[int], str | None]:
    return lambda n: char * n


# pattern -> (value of length n matching it, a short value that does not match)
PATTERNS: dict[str, tuple[Callable[[int], str | None], str | None]] = {
    "^[a-zA-Z0-9]([-_]*[a-zA-Z0-9]){0,63}": (_name, "-a"),
    "[a-zA-Z0-9]([-_]*[a-zA-Z0-9]){0,63}": (_name, "-a"),
    "[a-zA-Z0-9]([_-]*[a-zA-Z0-9]){0,63}": (_name, "a b"),
    (
        r"(arn:aws[a-z\-]*:sagemaker:[a-z0-9\-]*:[0-9]{12}:feature-group/)?"
        r"([a-zA-Z0-9]([-_]*[a-zA-Z0-9]){0,63})"
    ): (_name_or_arn, "a/b"),
    (
        r"(arn:aws[a-z\-]*:sagemaker:[a-z0-9\-]*:[0-9]{12}:feature-group\/)?"
        r"([a-zA-Z0-9]([_-]*[a-zA-Z0-9]){0,63})"
    ): (_name_or_arn, "a b"),
    r"arn:aws[a-z\-]*:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+": (
        _role,
        "arn:aws:iam::\u0661\u0662\u0663\u0664\u0665\u0666\u0667\u0668\u0669\u0660\u0661\u0662:role/r",
    ),
    "(https|s3)://([^/]+)/?(.*)": (_s3, "ftp://b"),
    "[a-zA-Z0-9:/_-]*": (_plain("k"), "k k"),
    r"([\p{L}\p{Z}\p{N}_.:/=+\-@]*)": (_plain("t"), "a\tb"),
    r"([\p{L}\p{Z}\p{N}_.:/=+\-]*)": (_plain("p"), "a\nb"),
    r"[\u0020-\uD7FF\uE000-\uFFFD\uD800\uDC00-\uDBFF\uDFFF\t]*": (_plain("c"), "a\u0001b"),
    "arn:aws[a-z-]*:sagemaker:[a-z0-9-]*:[0-9]{12}:.+": (_resource_arn, "arn:aws:s3:::b"),
    # Any character (.* allows the empty string, .+ does not: min covers that).
    ".*": (_plain("1"), None),
    ".+": (_plain("n"), None),
}


# -- walking the model and the base request together -------------------------------------------


def _resolve(request: Any, path: list[Any]) -> list[Any] | None:
    """``path`` with each list step (0) replaced by the index of the first element in which
    the rest of the path has a value; None when the base request has no such value."""
    if not path:
        return [] if request is not None else None
    key, rest = path[0], path[1:]
    if isinstance(key, int):
        if not isinstance(request, list):
            return None
        for index, item in enumerate(request):
            found = _resolve(item, rest)
            if found is not None:
                return [index, *found]
        return None
    if not isinstance(request, dict) or request.get(key) is None:
        return None
    found = _resolve(request[key], rest)
    return None if found is None else [key, *found]


def _get(request: Any, path: list[Any]) -> Any:
    for key in path:
        request = request[key]
    return request


def _set(request: dict[str, Any], path: list[Any], value: Any) -> dict[str, Any]:
    out = copy.deepcopy(request)
    node: Any = out
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return out


def _label(operation: str, path: list[Any]) -> str:
    text = operation
    for key in path:
        text += "[]" if isinstance(key, int) else f".{key}"
    return text


def _constrained(model: dict[str, Any], shape_name: str, path: list[Any], seen: frozenset[str]):
    shape = model["shapes"][shape_name]
    keys = {k: shape[k] for k in ("min", "max", "pattern", "enum") if k in shape}
    if keys and shape["type"] != "structure":
        yield path, shape
    if shape_name in seen:
        return
    seen = seen | {shape_name}
    if shape["type"] == "structure":
        for name, member in shape.get("members", {}).items():
            yield from _constrained(model, member["shape"], [*path, name], seen)
    elif shape["type"] == "list":
        yield from _constrained(model, shape["member"]["shape"], [*path, 0], seen)


def _list_of(base: list[Any], n: int) -> list[Any]:
    return [copy.deepcopy(base[i % len(base)]) for i in range(n)]


def _probes_for(shape: dict[str, Any], current: Any) -> Iterator[tuple[str, Any, bool]]:
    """(kind, value, accept) for one constrained member whose base value is ``current``."""
    kind = shape["type"]
    if "enum" in shape:
        for value in shape["enum"]:
            yield f"inside enum {value}", value, True
        yield "outside enum", "NotAModelValue", False
        return
    low, high = shape.get("min"), shape.get("max")
    if kind == "integer":
        if low is not None:
            yield "inside min", low, True
            yield "outside min", low - 1, False
        if high is not None:
            yield "inside max", high, True
            yield "outside max", high + 1, False
        return
    if kind == "list":
        if low is not None and low > 0:
            yield "inside min", _list_of(current, low), True
            yield "outside min", [], False
        if high is not None:
            yield "inside max", _list_of(current, high), True
            yield "outside max", _list_of(current, high + 1), False
        return
    make, bad = PATTERNS[shape["pattern"]] if "pattern" in shape else (_plain("d"), None)
    for bound, label, step in ((low, "min", -1), (high, "max", 1)):
        if bound is None:
            continue
        inside = make(bound)
        if inside is not None:
            yield f"inside {label}", inside, True
        if bound + step >= 0 and not (label == "min" and bound == 0):
            outside = make(bound + step) if bound + step > 0 else ""
            if outside is not None:
                yield f"outside {label}", outside, False
    if bad is not None:
        yield "outside pattern", bad, False


def _all_probes() -> tuple[list[Probe], set[str]]:
    loader = Loader()
    probes: list[Probe] = []
    unreached: set[str] = set()
    models = {svc: loader.load_service_model(svc, "service-2") for svc in (RUNTIME, CONTROL)}
    probed: set[str] = set()
    for (service, variant), base in BASE.items():
        operation = variant.partition("#")[0]
        model = models[service]
        input_shape = model["operations"][operation]["input"]["shape"]
        for path, shape in _constrained(model, input_shape, [], frozenset()):
            label = _label(operation, path)
            concrete = _resolve(base, path)
            if concrete is None or label in probed:
                if label not in probed:
                    unreached.add(label)
                continue
            probed.add(label)
            unreached.discard(label)
            for kind, value, accept in _probes_for(shape, _get(base, concrete)):
                probes.append(
                    Probe(service, operation, label, kind, _set(base, concrete, value), accept)
                )
    return probes, unreached


PROBES, UNREACHED = _all_probes()


def _not_probed(label: str) -> bool:
    return label in NOT_PROBED


def test_every_constrained_member_is_probed_or_listed_with_a_reason():
    assert {label for label in UNREACHED if not _not_probed(label)} == set()
    assert set(NOT_PROBED) <= UNREACHED, "NOT_PROBED lists members that are probed now"
    assert len({p.member for p in PROBES}) >= 140


# -- running the probes ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def clients(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A private emulator: probes create groups and change the base groups' tags."""
    config = Config(parameter_validation=False, retries={"total_max_attempts": 1})
    with FeatureStoreEmulator(tmp_path_factory.mktemp("sweep")) as emulator:
        made = {
            svc: boto3.client(
                svc,
                endpoint_url=emulator.endpoint_url,
                region_name="us-east-1",
                aws_access_key_id="sweep",
                aws_secret_access_key="sweep",
                config=config,
            )
            for svc in (RUNTIME, CONTROL)
        }
        _create_base_groups(made[CONTROL])
        made[RUNTIME].put_record(FeatureGroupName=RT_GROUP, Record=_record())
        for rid in ("page-a", "page-b"):  # live (no TTL), so ListRecords has a second page
            made[RUNTIME].put_record(FeatureGroupName=RT_GROUP, Record=_record(rid))
        yield made


def _create_base_groups(sm: Any) -> None:
    common = {
        "RecordIdentifierFeatureName": "id",
        "EventTimeFeatureName": "t",
    }
    sm.create_feature_group(
        FeatureGroupName=RT_GROUP,
        FeatureDefinitions=[
            {"FeatureName": "id", "FeatureType": "String"},
            {"FeatureName": "t", "FeatureType": "String"},
            {"FeatureName": "tags", "FeatureType": "String", "CollectionType": "List"},
        ],
        OnlineStoreConfig={"EnableOnlineStore": True, "StorageType": "InMemory"},
        **common,
    )
    sm.create_feature_group(
        FeatureGroupName=CP_GROUP,
        FeatureDefinitions=[
            {"FeatureName": "id", "FeatureType": "String"},
            {"FeatureName": "t", "FeatureType": "String"},
        ],
        OnlineStoreConfig={"EnableOnlineStore": True},
        OfflineStoreConfig={"S3StorageConfig": {"S3Uri": "s3://bucket/sweep"}},
        RoleArn=ROLE,
        **common,
    )


_serial = iter(range(10**9))


def _fresh(clients: dict[str, Any], operation: str, member: str, request: dict[str, Any]):
    """The request as sent: names that must be new are new (so the base stays valid however
    often it is sent), and the ListRecords token placeholder is a real token."""
    request = copy.deepcopy(request)
    if operation == "CreateFeatureGroup" and member != "CreateFeatureGroup.FeatureGroupName":
        request["FeatureGroupName"] = f"sweep-{next(_serial)}"
    if (
        operation == "UpdateFeatureGroup"
        and member != "UpdateFeatureGroup.FeatureAdditions[].FeatureName"
    ):
        for addition in request.get("FeatureAdditions") or []:
            if isinstance(addition, dict):
                addition["FeatureName"] = f"added{next(_serial)}"
    if request.get("NextToken") == LIST_RECORDS_TOKEN:
        page = clients[RUNTIME].list_records(FeatureGroupName=RT_GROUP, MaxResults=1)
        request["NextToken"] = page["NextToken"]
    return request


def _call(clients: dict[str, Any], probe: Probe) -> tuple[int, str, str]:
    """(HTTP status, error code, message); 200 and empty strings on success."""
    client = clients[probe.service]
    try:
        client._make_api_call(
            probe.operation, _fresh(clients, probe.operation, probe.member, probe.request)
        )
    except ClientError as error:
        response = error.response
        return (
            response["ResponseMetadata"]["HTTPStatusCode"],
            response["Error"]["Code"],
            response["Error"]["Message"],
        )
    return 200, "", ""


def _verdict(probe: Probe, status: int, code: str, message: str) -> str | None:
    """None when the answer matches the model, else what went wrong."""
    violated = status == 400 and code in ("ValidationError", "ValidationException")
    if probe.accept:
        # Inside the constraint: any answer but a constraint violation (the value may still
        # break a rule the model does not state, e.g. an unknown feature name).
        if status >= 500 or (violated and "failed to satisfy constraint" in message):
            return f"refused with {status} {code}: {message[:200]}"
        return None
    if not violated:
        return f"accepted (answered {status} {code or 'OK'})"
    return None


def test_every_base_request_is_valid(clients):
    """Otherwise an outside probe would be refused for the base's fault, not the member's."""
    refused = {}
    for (service, variant), base in BASE.items():
        operation = variant.partition("#")[0]
        probe = Probe(service, operation, "", "base", base, True)
        status, code, message = _call(clients, probe)
        if status >= 500 or (status == 400 and code in ("ValidationError", "ValidationException")):
            refused[variant] = f"{status} {code}: {message[:200]}"
    assert refused == {}


def test_the_emulator_accepts_and_rejects_exactly_as_the_models_say(clients):
    mismatches: dict[tuple[str, str], str] = {}
    for probe in PROBES:
        status, code, message = _call(clients, probe)
        problem = _verdict(probe, status, code, message)
        if problem is not None:
            mismatches[(probe.member, probe.kind)] = problem
    unexplained = {k: v for k, v in mismatches.items() if k not in DOCUMENTED_EXCEPTIONS}
    stale = sorted(set(DOCUMENTED_EXCEPTIONS) - set(mismatches))
    assert unexplained == {}, f"{len(unexplained)} of {len(PROBES)} probes differ"
    assert stale == [], "documented exceptions that no longer happen: remove them"
