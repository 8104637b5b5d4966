"""apply_catalog_metadata's diff and call plan: minimal, idempotent, batched, checked first."""

import dataclasses
from types import MappingProxyType

import pytest

from featurestream.contract.catalog import (
    CUSTOMER_ORDER_STATS,
    CUSTOMERS,
    FEATURE_GROUPS,
    ORDERS,
    Feature,
)
from featurestream.governance.metadata import (
    MAX_PARAMETER_CHANGES,
    CatalogMismatch,
    DesiredMetadata,
    apply_catalog_metadata,
    catalog_hash,
    diff_feature,
)


class FakeSageMaker:
    """In-memory DescribeFeatureGroup / DescribeFeatureMetadata / UpdateFeatureMetadata."""

    def __init__(self, groups):
        self.types = {name: {f.name: f.type for f in spec.features} for name, spec in groups}
        self.meta = {(g, f): {} for g, types in self.types.items() for f in types}
        self.updates = []

    def describe_feature_group(self, FeatureGroupName, NextToken=None):
        """Two pages, to exercise NextToken."""
        defs = [
            {"FeatureName": n, "FeatureType": t} for n, t in self.types[FeatureGroupName].items()
        ]
        half = len(defs) // 2
        if NextToken is None:
            return {"FeatureDefinitions": defs[:half], "NextToken": "page2"}
        return {"FeatureDefinitions": defs[half:]}

    def describe_feature_metadata(self, FeatureGroupName, FeatureName):
        meta = self.meta[(FeatureGroupName, FeatureName)]
        doc = {"FeatureName": FeatureName, "FeatureType": self.types[FeatureGroupName][FeatureName]}
        if "Description" in meta:
            doc["Description"] = meta["Description"]
        if meta.get("Parameters"):
            doc["Parameters"] = [{"Key": k, "Value": v} for k, v in meta["Parameters"].items()]
        return doc

    def update_feature_metadata(self, **request):
        assert len(request.get("ParameterAdditions", [])) <= 25
        assert len(request.get("ParameterRemovals", [])) <= 25
        self.updates.append(request)
        meta = self.meta[(request["FeatureGroupName"], request["FeatureName"])]
        if "Description" in request:
            meta["Description"] = request["Description"]
        params = meta.setdefault("Parameters", {})
        for key in request.get("ParameterRemovals", []):
            params.pop(key, None)
        for item in request.get("ParameterAdditions", []):
            params[item["Key"]] = item["Value"]


NAMES = {
    "customers": "fs-customers",
    "orders": "fs-orders",
    "customer-order-stats": "fs-customer-order-stats",
}


@pytest.fixture
def client():
    return FakeSageMaker(
        [
            ("fs-customers", CUSTOMERS),
            ("fs-orders", ORDERS),
            ("fs-customer-order-stats", CUSTOMER_ORDER_STATS),
        ]
    )


def test_first_apply_sets_everything_with_one_call_per_feature_then_nothing(client):
    report = apply_catalog_metadata(client, NAMES)
    features = sum(len(spec.features) for spec in FEATURE_GROUPS)
    assert report.calls == features == report.changed_features
    for spec in FEATURE_GROUPS:
        for feature in spec.features:
            meta = client.meta[(NAMES[spec.name], feature.name)]
            assert meta["Description"] == feature.description
            assert meta["Parameters"] == feature.metadata_parameters()
    again = apply_catalog_metadata(client, NAMES)
    assert again.calls == 0
    assert again.unchanged_features == features
    assert "0 UpdateFeatureMetadata" in again.summary()


def test_only_the_difference_is_sent(client):
    apply_catalog_metadata(client, NAMES)
    meta = client.meta[("fs-orders", "purchase_amount")]
    meta["Parameters"]["scaling"] = "zscore"  # changed
    meta["Parameters"]["stale"] = "x"  # extra
    del meta["Parameters"]["source"]  # missing
    client.updates.clear()
    report = apply_catalog_metadata(client, NAMES)
    assert report.calls == 1
    (request,) = client.updates
    assert "Description" not in request
    assert request["ParameterRemovals"] == ["stale"]
    assert {p["Key"]: p["Value"] for p in request["ParameterAdditions"]} == {
        "scaling": "minmax",
        "source": "order-events",
    }
    assert list(report.lines()) == ["fs-orders/purchase_amount: +scaling,source -stale"]


def test_dry_run_sends_nothing(client):
    report = apply_catalog_metadata(client, {"orders": "fs-orders"}, dry_run=True)
    assert client.updates == []
    assert report.calls == len(ORDERS.features)
    assert "would send" in report.summary()


def test_more_than_25_changes_are_batched():
    deployed = {"Parameters": [{"Key": f"old{i}", "Value": "v"} for i in range(25)]}
    desired = DesiredMetadata("d", {f"new{i}": "v" for i in range(30)})
    change = diff_feature("g", "f", desired, deployed)
    requests = change.requests()
    assert len(requests) == 2
    assert requests[0]["Description"] == "d" and "Description" not in requests[1]
    assert len(requests[0]["ParameterRemovals"]) == MAX_PARAMETER_CHANGES
    assert len(requests[0]["ParameterAdditions"]) == 25
    assert "ParameterRemovals" not in requests[1]
    assert len(requests[1]["ParameterAdditions"]) == 5


def test_description_only_change():
    deployed = {"Description": "old", "Parameters": [{"Key": "owner", "Value": "a"}]}
    change = diff_feature("g", "f", DesiredMetadata("new", {"owner": "a"}), deployed)
    assert change.requests() == [
        {"FeatureGroupName": "g", "FeatureName": "f", "Description": "new"}
    ]
    same = diff_feature("g", "f", DesiredMetadata("old", {"owner": "a"}), deployed)
    assert not same.changed and same.requests() == []


def test_mismatched_definitions_fail_before_any_update(client):
    client.types["fs-orders"]["purchase_amount"] = "Integral"
    del client.types["fs-customers"]["sex"]
    client.types["fs-customers"]["legacy"] = "String"
    with pytest.raises(CatalogMismatch) as info:
        apply_catalog_metadata(client, NAMES)
    message = str(info.value)
    assert "'purchase_amount' is deployed as Integral" in message
    assert "new name" in message
    assert "'sex' is in the catalog but not deployed" in message
    assert client.updates == []


def test_uncatalogued_deployed_features_are_reported_not_touched(client):
    client.types["fs-orders"]["legacy"] = "String"
    client.meta[("fs-orders", "legacy")] = {}
    report = apply_catalog_metadata(client, {"orders": "fs-orders"})
    assert report.groups[0].uncatalogued == ["legacy"]
    assert all(u["FeatureName"] != "legacy" for u in client.updates)


def test_unknown_group_is_refused(client):
    with pytest.raises(KeyError, match="not catalogued"):
        apply_catalog_metadata(client, {"payments": "fs-payments"})


def test_catalog_hash_follows_metadata_changes():
    base = catalog_hash()
    assert base == catalog_hash() and len(base) == 16
    feature = CUSTOMERS.features[1]
    edited = dataclasses.replace(
        feature, parameters=MappingProxyType({**feature.parameters, "pii": "no"})
    )
    customers = dataclasses.replace(
        CUSTOMERS, features=(CUSTOMERS.features[0], edited, *CUSTOMERS.features[2:])
    )
    assert catalog_hash((customers, ORDERS)) != base
    renamed = dataclasses.replace(
        CUSTOMERS, features=(*CUSTOMERS.features, Feature("x", "String", "d"))
    )
    assert catalog_hash((renamed, ORDERS)) != base
