"""docs/features.md is current; offline list/show; search expressions; the custom resource."""

from pathlib import Path

from click.testing import CliRunner

from devstack.stack.template import Template, local_stack
from featurestream.contract.catalog import FEATURE_GROUPS
from featurestream_cli.commands.catalog import command, render_docs, search_expression
from featurestream_cli.main import cli

ROOT = Path(__file__).resolve().parents[3]
DOCS = ROOT / "docs" / "features.md"
TEMPLATE = Template.load(ROOT / "template.yaml")


def test_features_doc_is_generated_from_the_current_catalog():
    assert DOCS.read_text() == render_docs(), (
        "docs/features.md is stale: run `featurestream catalog docs`"
    )


def test_docs_command_writes_and_checks(tmp_path):
    out = tmp_path / "features.md"
    runner = CliRunner()
    assert runner.invoke(command, ["docs", "--output", str(out), "--check"]).exit_code == 1
    assert runner.invoke(command, ["docs", "--output", str(out)]).exit_code == 0
    checked = runner.invoke(command, ["docs", "--output", str(out), "--check"])
    assert checked.exit_code == 0, checked.output
    text = out.read_text()
    for spec in FEATURE_GROUPS:
        assert f"## {spec.name}" in text
        for feature in spec.features:
            assert f"| `{feature.name}` | {feature.type} |" in text
    assert "`idType=primarykey`" in text


def test_catalog_is_a_cli_subcommand():
    result = CliRunner().invoke(cli, ["catalog", "--help"])
    assert result.exit_code == 0
    for sub in ("list", "show", "search", "apply", "docs", "check"):
        assert sub in result.output


def test_list_offline_shows_type_owner_description():
    result = CliRunner().invoke(command, ["list", "--group", "orders"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split() == ["GROUP", "FEATURE", "TYPE", "OWNER", "DESCRIPTION"]
    assert len(lines) == 2 + 9
    row = next(line for line in lines if " purchase_amount " in line)
    assert row.split()[:4] == ["orders", "purchase_amount", "Fractional", "ml-platform"]
    assert "min-max scaled" in row


def test_show_by_name_and_by_group():
    runner = CliRunner()
    both = runner.invoke(command, ["show", "customer_id"])
    assert both.exit_code == 0
    assert "customers/customer_id" in both.output and "orders/customer_id" in both.output
    assert "idType:       primarykey" in both.output
    one = runner.invoke(command, ["show", "orders/n_days_since_last_purchase"])
    assert one.exit_code == 0
    assert "customers/" not in one.output
    assert "derivedFrom:  purchased_on" in one.output
    missing = runner.invoke(command, ["show", "nope"])
    assert missing.exit_code == 2 and "no feature 'nope'" in missing.output
    assert runner.invoke(command, ["show", "payments/x"]).exit_code == 2


def test_search_expression_shapes():
    assert search_expression() is None
    assert search_expression(params=[("idType", "primarykey")], groups=["a", "b"]) == {
        "Filters": [
            {"Name": "Parameters.idType", "Operator": "Equals", "Value": "primarykey"},
            {"Name": "FeatureGroupName", "Operator": "In", "Value": "a,b"},
        ]
    }
    expression = search_expression(text="recency", groups=["o"], feature_type="Fractional")
    assert expression["Filters"] == [
        {"Name": "FeatureGroupName", "Operator": "Equals", "Value": "o"},
        {"Name": "FeatureType", "Operator": "Equals", "Value": "Fractional"},
    ]
    (text,) = expression["SubExpressions"]
    assert text["Operator"] == "Or"
    assert [s["Filters"][0]["Name"] for s in text["SubExpressions"]] == [
        "Description",
        "FeatureName",
    ]
    assert all(len(s["Filters"]) == 1 for s in text["SubExpressions"])  # one Contains each


def test_search_rejects_malformed_param():
    result = CliRunner().invoke(command, ["search", "--param", "idType"])
    assert result.exit_code == 2 and "KEY=VALUE" in result.output


# ---------------------------------------------------------------- template


def test_custom_resource_refs_both_groups_and_carries_the_hash():
    resource = TEMPLATE.resource("FeatureMetadata")
    assert resource["Type"].startswith("Custom::")
    props = resource["Properties"]
    assert props["ServiceToken"] == {"Fn::GetAtt": ["FeatureMetadataFunction", "Arn"]}
    assert props["FeatureGroups"] == {
        "customers": {"Ref": "CustomersFeatureGroup"},
        "orders": {"Ref": "OrdersFeatureGroup"},
        "customer-order-stats": {"Ref": "CustomerOrderStatsFeatureGroup"},
    }
    from featurestream.governance.metadata import catalog_hash

    assert props["CatalogHash"] == catalog_hash()


def test_custom_resource_function_and_least_privilege_role():
    function = TEMPLATE.function("FeatureMetadataFunction")
    assert function.handler == "handlers.feature_metadata.lambda_handler"
    assert function.code_uri == "functions/"
    assert not function.events
    assert (ROOT / "functions" / "handlers" / "feature_metadata.py").exists()
    role_id = function.properties["Role"]["Fn::GetAtt"][0]
    role = TEMPLATE.resource(role_id)["Properties"]
    statements = [s for p in role["Policies"] for s in p["PolicyDocument"]["Statement"]]
    stack = local_stack(TEMPLATE)
    sagemaker = [s for s in statements if any(a.startswith("sagemaker:") for a in s["Action"])]
    (statement,) = sagemaker
    assert sorted(statement["Action"]) == [
        "sagemaker:DescribeFeatureGroup",
        "sagemaker:DescribeFeatureMetadata",
        "sagemaker:UpdateFeatureMetadata",
    ]
    groups = [
        TEMPLATE.resolve(TEMPLATE.resource(g)["Properties"]["FeatureGroupName"], stack)
        for g in ("CustomersFeatureGroup", "OrdersFeatureGroup", "CustomerOrderStatsFeatureGroup")
    ]
    resources = [TEMPLATE.resolve(r, stack) for r in statement["Resource"]]
    assert sorted(r.rsplit("/", 1)[1] for r in resources) == sorted(groups)
    assert all(":feature-group/" in r for r in resources)
    for other in statements:
        actions = other["Action"] if isinstance(other["Action"], list) else [other["Action"]]
        if any(a.split(":")[0] in ("sagemaker", "logs") for a in actions):
            assert "*" not in str(other["Resource"]).replace(":*", "")


def test_provisioning_can_read_the_group_names_from_the_custom_resource():
    """What local provisioning passes to apply_catalog_metadata, resolved like the stack."""
    stack = local_stack(TEMPLATE, name="featurestream")
    groups = TEMPLATE.resolve(TEMPLATE.resource("FeatureMetadata")["Properties"], stack)[
        "FeatureGroups"
    ]
    assert groups == {
        "customers": "featurestream-customers",
        "orders": "featurestream-orders",
        "customer-order-stats": "featurestream-customer-order-stats",
    }
