"""The catalog applied to the Feature Store emulator, converged after edits, and searched.

Same boto3 calls as against AWS: the emulator is reached through AWS_ENDPOINT_URL_SAGEMAKER.
"""

import dataclasses
from types import MappingProxyType

import boto3
import pytest
from click.testing import CliRunner

from featurestream.contract.catalog import (
    CUSTOMER_ORDER_STATS,
    CUSTOMERS,
    FEATURE_GROUPS,
    ORDERS,
    FeatureGroupSpec,
)
from featurestream.governance.metadata import CatalogMismatch, apply_catalog_metadata
from featurestream_cli.commands.catalog import command


def create_group(client, name: str, spec: FeatureGroupSpec) -> None:
    client.create_feature_group(
        FeatureGroupName=name,
        RecordIdentifierFeatureName=spec.record_identifier,
        EventTimeFeatureName=spec.event_time_feature,
        FeatureDefinitions=spec.feature_definitions(),
        OnlineStoreConfig={"EnableOnlineStore": True},
        Description=spec.description,
    )


@pytest.fixture
def deployed(featurestore_env, unique_name):
    """Both catalog groups on the emulator as `<prefix>customers` / `<prefix>orders`."""
    client = boto3.client("sagemaker")
    prefix = unique_name[:40].rstrip("-_") + "-"
    names = {spec.name: prefix + spec.name for spec in FEATURE_GROUPS}
    for spec in FEATURE_GROUPS:
        create_group(client, names[spec.name], spec)
    return client, prefix, names


def metadata(client, group: str, feature: str) -> tuple[str | None, dict[str, str]]:
    doc = client.describe_feature_metadata(FeatureGroupName=group, FeatureName=feature)
    return doc.get("Description"), {p["Key"]: p["Value"] for p in doc.get("Parameters", [])}


def test_apply_sets_every_features_description_and_parameters(deployed):
    client, _, names = deployed
    report = apply_catalog_metadata(client, names)
    assert report.calls == sum(len(s.features) for s in FEATURE_GROUPS)
    for spec in FEATURE_GROUPS:
        for feature in spec.features:
            description, params = metadata(client, names[spec.name], feature.name)
            assert description == feature.description
            assert params == feature.metadata_parameters()
    assert apply_catalog_metadata(client, names).calls == 0


def test_a_catalog_edit_converges_added_changed_and_removed_parameters(deployed):
    client, _, names = deployed
    apply_catalog_metadata(client, names)
    amount = ORDERS.feature("purchase_amount")
    params = dict(amount.parameters)
    params["scaling"] = "minmax-v2"  # changed
    del params["updateFrequency"]  # removed
    params["unit"] = "USD"  # added
    edited_amount = dataclasses.replace(
        amount, description="Order total, min-max scaled", parameters=MappingProxyType(params)
    )
    edited = dataclasses.replace(
        ORDERS,
        features=tuple(edited_amount if f.name == amount.name else f for f in ORDERS.features),
    )
    report = apply_catalog_metadata(client, names, groups=(CUSTOMERS, edited, CUSTOMER_ORDER_STATS))
    assert report.calls == 1
    assert list(report.lines()) == [
        f"{names['orders']}/purchase_amount: description +scaling,unit -updateFrequency"
    ]
    description, deployed_params = metadata(client, names["orders"], "purchase_amount")
    assert description == "Order total, min-max scaled"
    assert deployed_params == edited_amount.metadata_parameters()
    assert "updateFrequency" not in deployed_params
    # and back to the shipped catalog
    assert apply_catalog_metadata(client, names).calls == 1
    assert metadata(client, names["orders"], "purchase_amount")[1] == amount.metadata_parameters()


def test_manual_drift_is_reverted(deployed):
    client, _, names = deployed
    apply_catalog_metadata(client, names)
    client.update_feature_metadata(
        FeatureGroupName=names["customers"],
        FeatureName="sex",
        Description="edited in the console",
        ParameterAdditions=[{"Key": "note", "Value": "temp"}],
        ParameterRemovals=["owner"],
    )
    report = apply_catalog_metadata(client, names)
    assert report.calls == 1
    assert metadata(client, names["customers"], "sex") == (
        CUSTOMERS.feature("sex").description,
        CUSTOMERS.feature("sex").metadata_parameters(),
    )


def test_the_tutorials_search_finds_customer_id_in_both_groups(deployed):
    client, _, names = deployed
    apply_catalog_metadata(client, names)
    response = client.search(
        Resource="FeatureMetadata",
        SearchExpression={
            "Filters": [
                {"Name": "Parameters.idType", "Operator": "Equals", "Value": "primarykey"},
                {"Name": "FeatureGroupName", "Operator": "In", "Value": ",".join(names.values())},
            ]
        },
    )
    hits = {
        (r["FeatureMetadata"]["FeatureGroupName"], r["FeatureMetadata"]["FeatureName"])
        for r in response["Results"]
    }
    assert hits == {(names[group], "customer_id") for group in names}


def test_type_mismatch_stops_before_any_update(featurestore_env, unique_name):
    client = boto3.client("sagemaker")
    name = unique_name[:40].rstrip("-_") + "-orders"
    retyped = dataclasses.replace(
        ORDERS,
        features=tuple(
            dataclasses.replace(f, type="Integral") if f.name == "purchase_amount" else f
            for f in ORDERS.features
        ),
    )
    create_group(client, name, retyped)
    with pytest.raises(CatalogMismatch, match="Feature Store cannot change a type"):
        apply_catalog_metadata(client, {"orders": name})
    assert metadata(client, name, "customer_id") == (None, {})


# ---------------------------------------------------------------- the CLI against the emulator


def invoke(*args):
    result = CliRunner().invoke(command, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def test_cli_apply_search_list_show_check(deployed):
    _, prefix, names = deployed
    dry = invoke("apply", "--group-name-prefix", prefix, "--dry-run")
    assert "would send 32 UpdateFeatureMetadata" in dry
    assert "32 feature(s) changed" in invoke("apply", "--group-name-prefix", prefix)
    assert "sent 0 UpdateFeatureMetadata" in invoke("apply", "--group-name-prefix", prefix)

    found = invoke("search", "--param", "idType=primarykey", "--group-name-prefix", prefix)
    rows = [line.split()[:2] for line in found.splitlines()[2:]]
    assert rows == [
        [names["customer-order-stats"], "customer_id"],
        [names["customers"], "customer_id"],
        [names["orders"], "customer_id"],
    ]

    recency = invoke(
        "search", "--text", "recency", "--group", "orders", "--group-name-prefix", prefix
    )
    assert [line.split()[1] for line in recency.splitlines()[2:]] == ["n_days_since_last_purchase"]

    fractional = invoke("search", "--type", "Fractional", "--group-name-prefix", prefix)
    assert {line.split()[1] for line in fractional.splitlines()[2:]} == {
        "n_days_active",
        "purchase_amount",
        "n_days_since_last_purchase",
        "total_purchase_amount",
        "avg_purchase_amount",
        "avg_purchase_amount_scaled",
        "reorder_rate",
    }
    assert "no matching features" in invoke(
        "search", "--param", "idType=nope", "--group-name-prefix", prefix
    )

    listed = invoke("list", "--deployed", "--group-name-prefix", prefix)
    assert len(listed.splitlines()) == 2 + 32
    assert all("ml-platform" in line for line in listed.splitlines()[2:])

    shown = invoke("show", "orders/customer_id", "--deployed", "--group-name-prefix", prefix)
    assert shown.startswith(f"{names['orders']}/customer_id")
    assert "idType:       primarykey" in shown and "modified:" in shown

    assert "catalog OK" in invoke("check", "--deployed", "--group-name-prefix", prefix)


def test_cli_reports_missing_groups_cleanly(featurestore_env, unique_name):
    result = CliRunner().invoke(command, ["apply", "--group-name-prefix", f"{unique_name[:30]}-"])
    assert result.exit_code == 1
    assert "ResourceNotFound" in result.output
    assert "Traceback" not in result.output
