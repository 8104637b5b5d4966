"""Search expression evaluation and the online store's gate, without HTTP."""

import pytest

from devstack.standins.featurestore.config import TiePolicy
from devstack.standins.featurestore.database import Database
from devstack.standins.featurestore.errors import ApiError
from devstack.standins.featurestore.online import OnlineStore
from devstack.standins.featurestore.search import check_expression, evaluate, resolve, search

DOC = {
    "FeatureName": "age",
    "FeatureType": "Integral",
    "CreationTime": 1_714_564_800.0,
    "Parameters": [{"Key": "team", "Value": "risk"}, {"Key": "a.b", "Value": "dotted"}],
    "OfflineStoreConfig": {"S3StorageConfig": {"S3Uri": "s3://b"}},
}


def test_resolve_paths():
    assert resolve(DOC, "Parameters.team") == ["risk"]
    assert resolve(DOC, "Parameters.a.b") == ["dotted"]
    assert resolve(DOC, "OfflineStoreConfig.S3StorageConfig.S3Uri") == ["s3://b"]
    assert sorted(resolve(DOC, "AllParameters")) == ["a.b", "dotted", "risk", "team"]
    assert resolve(DOC, "Parameters.ghost") == []


def test_timestamps_compare_as_instants():
    after = {
        "Filters": [
            {"Name": "CreationTime", "Operator": "GreaterThan", "Value": "2024-05-01T11:59:59"}
        ]
    }
    before = {
        "Filters": [
            {"Name": "CreationTime", "Operator": "LessThan", "Value": "2024-05-01T11:59:59"}
        ]
    }
    assert evaluate(DOC, after) and not evaluate(DOC, before)


def test_nested_sub_expressions():
    expr = {
        "Operator": "Or",
        "SubExpressions": [
            {"Filters": [{"Name": "FeatureType", "Operator": "Equals", "Value": "String"}]},
            {"Filters": [{"Name": "Parameters.team", "Operator": "In", "Value": "ops,risk"}]},
        ],
    }
    assert evaluate(DOC, expr)


def test_search_limits():
    with pytest.raises(ApiError):
        search(
            [DOC],
            expression={"Filters": [{"Name": "x", "Operator": "Exists"}] * 21},
            sort_by=None,
            sort_order=None,
            next_token=None,
            max_results=None,
        )
    with pytest.raises(ApiError):
        search(
            [DOC], expression=None, sort_by=None, sort_order=None, next_token=None, max_results=101
        )
    with pytest.raises(ApiError):
        check_expression({"Filters": [{"Name": "FeatureName", "Operator": "Like", "Value": "a"}]})


@pytest.fixture
def store(tmp_path):
    db = Database(tmp_path / "db.sqlite3")
    yield OnlineStore(db, TiePolicy.HISTORIC)
    db.close()


def _put(store, ms, payload):
    return store.put("fg", "r1", ms, features_json=payload, expires_ms=None, expires_at=None)


def test_gate_and_ties(store):
    assert _put(store, 10, '["a"]')
    assert not _put(store, 10, '["tie"]')
    assert not _put(store, 5, '["old"]')
    assert store.get("fg", "r1").features_json == '["a"]'
    store.tie_policy = TiePolicy.APPLY
    assert _put(store, 10, '["tie"]')


def test_expired_rows_free_the_identifier_and_are_purged(store):
    assert store.put("fg", "r1", 10_000, features_json="[]", expires_ms=1, expires_at="x")
    assert store.get("fg", "r1") is None
    assert _put(store, 5, '["older but allowed"]')  # expiry is a hard delete
    store.put("fg", "r2", 10, features_json="[]", expires_ms=1, expires_at="x")
    assert [e.record_id for e in store.purge_expired()] == ["r2"]
