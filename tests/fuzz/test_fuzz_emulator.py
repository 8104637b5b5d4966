"""The Feature Store emulator answers any request a client could send with a 2xx or a 4xx in
the service's error format: never a 5xx, never a file outside its state folder.

Real HTTP to a real emulator. Control-plane requests are JSON 1.1 with an ``X-Amz-Target``;
runtime requests are REST JSON under ``/FeatureGroup/...`` and ``/BatchGetRecord``."""

import http.client
import json
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from devstack.standins.featurestore.server import FeatureStoreEmulator
from tests.fuzz.strategies import NAME, hostile_text, json_values, nested

CONTROL = [
    "CreateFeatureGroup",
    "DescribeFeatureGroup",
    "DeleteFeatureGroup",
    "ListFeatureGroups",
    "UpdateFeatureGroup",
    "UpdateFeatureMetadata",
    "DescribeFeatureMetadata",
    "Search",
    NAME,
]
RUNTIME = [
    ("PUT", "/FeatureGroup/{g}"),
    ("GET", "/FeatureGroup/{g}"),
    ("DELETE", "/FeatureGroup/{g}"),
    ("POST", "/BatchGetRecord"),
    ("POST", "/BatchWriteRecord"),
    ("POST", "/_emulator/faults"),
    ("GET", "/FeatureGroup/{g}/../../etc"),
]
GROUP = {
    "FeatureGroupName": "fuzzed",
    "RecordIdentifierFeatureName": "id",
    "EventTimeFeatureName": "t",
    "FeatureDefinitions": [
        {"FeatureName": "id", "FeatureType": "String"},
        {"FeatureName": "t", "FeatureType": "String"},
    ],
    "OnlineStoreConfig": {"EnableOnlineStore": True},
    "OfflineStoreConfig": {"S3StorageConfig": {"S3Uri": "s3://bucket/prefix"}},
    "RoleArn": "arn:aws:iam::123456789012:role/r",
}


@pytest.fixture(scope="module")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    root = tmp_path_factory.mktemp("fuzz-root")
    state = root / "state"
    with FeatureStoreEmulator(state, offline_flush_interval=0.05) as server:
        yield server.endpoint_url, root


def _mutated_group(draw: st.DrawFn) -> dict:
    group = json.loads(json.dumps(GROUP))
    for _ in range(draw(st.integers(0, 2))):
        key = draw(st.sampled_from([*group, NAME]))
        group[key] = draw(json_values)
    if isinstance(group.get("OfflineStoreConfig"), dict) and draw(st.booleans()):
        group["OfflineStoreConfig"] = {"S3StorageConfig": {}}
        group["OfflineStoreConfig"]["S3StorageConfig"]["S3Uri"] = draw(
            st.sampled_from(["s3://b/../../../../escaped", "s3://b/%2e%2e/x", "s3://b/" + NAME])
        )
    return group


@st.composite
def requests(draw: st.DrawFn) -> tuple[str, str, dict[str, str], bytes]:
    body = draw(
        st.one_of(
            json_values.map(lambda v: json.dumps(v).encode()),
            st.builds(lambda: None).flatmap(lambda _: st.just(b"")),
            st.integers(40, 3000).map(lambda d: nested(d).encode()),
            st.binary(max_size=80),
        )
    )
    if draw(st.booleans()):
        target = draw(st.sampled_from(CONTROL))
        if target == "CreateFeatureGroup" and draw(st.booleans()):
            body = json.dumps(_mutated_group(draw)).encode()
        headers = {
            "Content-Type": "application/x-amz-json-1.1",
            "X-Amz-Target": f"SageMaker.{target}",
        }
        return "POST", "/", headers, body
    method, path = draw(st.sampled_from(RUNTIME))
    group = draw(st.one_of(st.just("fuzzed"), hostile_text))
    path = path.replace("{g}", quote(group[:200], safe="") or "x")  # as a client encodes it
    return method, path, {"Content-Type": "application/json"}, body


@given(requests())
def test_any_request_gets_a_2xx_or_4xx_and_writes_only_inside_the_state_folder(
    emulator, request_
) -> None:
    url, root = emulator
    method, path, headers, body = request_
    host, port = url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    try:
        connection.putrequest(method, path, skip_accept_encoding=True)
        for name, value in {**headers, "Content-Length": str(len(body))}.items():
            connection.putheader(name, value)
        connection.endheaders(body)
        response = connection.getresponse()
        answer = response.read()
    finally:
        connection.close()
    assert response.status < 500, (response.status, answer[:300])
    if quote(
        NAME, safe=""
    ) not in path and not (  # a resource's own name may come back, as AWS does
        b'"FeatureGroupName"' in body and NAME.encode() in body
    ):
        assert NAME.encode() not in answer
    outside = [p for p in root.rglob("*") if not p.is_relative_to(root / "state")]
    assert outside == []
