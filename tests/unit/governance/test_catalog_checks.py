"""Catalog governance: each broken rule is a clear failure in `make test`.

The first tests check the real catalog, template and released definitions (they fail when a
catalog change breaks a rule); the rest prove each rule fires with a message that says what
to do instead.
"""

import dataclasses
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from featurestream.contract.catalog import CUSTOMERS, FEATURE_GROUPS, ORDERS, Feature
from featurestream.governance.catalog_checks import check_catalog, check_definitions, definitions_of
from featurestream.governance.metadata import catalog_hash
from featurestream_cli.commands import template as template_command
from featurestream_cli.commands.catalog import (
    command,
    governance_problems,
    template_definitions,
)
from featurestream_cli.commands.template import render_hash

ROOT = Path(__file__).resolve().parents[3]
TEMPLATE = ROOT / "template.yaml"
RELEASED = Path(__file__).with_name("released_features.json")


def messages(problems):
    return [str(p) for p in problems]


# ---------------------------------------------------------------- the real catalog


def test_catalog_obeys_every_rule():
    assert messages(check_catalog()) == []


def test_template_has_exactly_the_catalogs_features_and_types():
    assert messages(check_definitions(template_definitions(TEMPLATE), "template")) == []


def test_no_released_feature_was_removed_or_retyped():
    """released_features.json: what has shipped; add new features to it once deployed."""
    released = json.loads(RELEASED.read_text())
    assert messages(check_definitions(released, "released")) == []


def test_template_catalog_hash_is_current():
    """Else a deploy would not re-run the FeatureMetadata custom resource."""
    assert messages(governance_problems(TEMPLATE)) == []
    assert f'CatalogHash: "{catalog_hash()}"' in TEMPLATE.read_text()


def test_check_command_passes_on_the_repository(monkeypatch):
    monkeypatch.chdir(ROOT)
    result = CliRunner().invoke(command, ["check", "--released", str(RELEASED)])
    assert result.exit_code == 0, result.output
    assert "catalog OK: 3 groups, 32 features" in result.output


# ---------------------------------------------------------------- each rule fires


def with_feature(spec, feature):
    return dataclasses.replace(spec, features=(*spec.features, feature))


@pytest.mark.parametrize(
    ("feature", "expected"),
    [
        (Feature("write_time", "String", "d"), "customers/write_time: reserved name"),
        (Feature("is_deleted", "Integral", "d"), "customers/is_deleted: reserved name"),
        (Feature("bad name", "String", "d"), "customers/bad name: invalid feature name"),
        (Feature("_lead", "String", "d"), "customers/_lead: invalid feature name"),
        (Feature("x" * 65, "String", "d"), "invalid feature name"),
        (Feature("nodesc", "String", "  "), "customers/nodesc: missing description"),
        (Feature("long", "String", "d" * 256), "customers/long: description longer than 255"),
        (Feature("noowner", "String", "d", owner=""), "customers/noowner: missing owner"),
        (
            Feature("params", "String", "d", parameters={f"k{i}": "v" for i in range(25)}),
            "customers/params: 26 parameters (owner included), at most 25",
        ),
        (
            Feature("badparam", "String", "d", parameters={"k": "a;b"}),
            "customers/badparam: parameter 'k'='a;b'",
        ),
        (
            Feature("emptyparam", "String", "d", parameters={"k": ""}),
            "customers/emptyparam: parameter 'k'=''",
        ),
        (Feature("sex", "Integral", "d"), "customers/sex: feature declared twice"),
    ],
)
def test_catalog_rules(feature, expected):
    problems = messages(check_catalog((with_feature(CUSTOMERS, feature), ORDERS)))
    assert any(expected in p for p in problems), problems


def test_record_identifier_and_event_time_must_be_features_of_allowed_types():
    spec = dataclasses.replace(CUSTOMERS, record_identifier="nope", event_time_feature="sex")
    problems = messages(check_catalog((spec,)))
    assert "customers: record identifier 'nope' is not a feature" in problems
    assert "customers/sex: event-time feature must be String or Fractional" in problems


def test_parameter_text_allows_unicode_letters_spaces_and_punctuation():
    feature = Feature(
        "ok", "String", "d", parameters={"updateFrequency": "per event", "n": "ä:/=+-_."}
    )
    assert messages(check_catalog((with_feature(CUSTOMERS, feature),))) == []


def test_type_change_says_to_add_a_new_feature_or_group():
    template = definitions_of()
    template["orders"]["purchase_amount"] = "Integral"
    (problem,) = messages(check_definitions(template, "template"))
    assert problem.startswith("orders/purchase_amount: type changed from Integral (template)")
    assert "to Fractional (catalog)" in problem
    assert "cannot change a feature's type" in problem
    assert "purchase_amount_v2" in problem
    assert "new feature group" in problem


def test_catalog_feature_missing_from_template_and_the_reverse():
    template = definitions_of()
    del template["customers"]["sex"]
    template["orders"]["legacy"] = "String"
    problems = messages(check_definitions(template, "template"))
    assert any(
        p.startswith("customers/sex: in the catalog but not in the template")
        and "featurestream template --write" in p
        for p in problems
    )
    assert any(
        p.startswith("orders/legacy: in the template definitions but not in the catalog")
        and "cannot be removed" in p
        for p in problems
    )
    del template["orders"]
    assert "orders: feature group not in the template stack" in messages(
        check_definitions(template, "template")
    )


def test_released_definitions_allow_new_features_but_not_removals_or_type_changes():
    released = definitions_of()
    del released["customers"]["sex"]  # a feature added since the release: fine
    assert check_definitions(released, "released") == []
    released["customers"]["retired"] = "String"
    released["customers"]["n_days_active"] = "Integral"
    problems = messages(check_definitions(released, "released"))
    assert len(problems) == 2
    assert any("retired: in the released definitions but not in the catalog" in p for p in problems)
    assert any("n_days_active: type changed from Integral (released)" in p for p in problems)


def test_stale_template_hash_is_reported_and_rewritten(tmp_path):
    text = TEMPLATE.read_text()
    stale = tmp_path / "template.yaml"
    stale.write_text(render_hash(text, "0000000000000000"))
    problems = messages(governance_problems(stale))
    assert any("CatalogHash is stale" in p for p in problems)
    runner = CliRunner()
    checked = runner.invoke(template_command.command, ["--template", str(stale), "--check"])
    assert checked.exit_code == 1 and "featurestream template --write" in checked.output
    written = runner.invoke(template_command.command, ["--template", str(stale), "--write"])
    assert written.exit_code == 0
    assert stale.read_text() == text


def test_governance_problems_collects_every_rule():
    broken = with_feature(CUSTOMERS, Feature("write_time", "String", ""))
    problems = messages(governance_problems(TEMPLATE, RELEASED, groups=(broken, ORDERS)))
    assert "customers/write_time: reserved name" in problems[0]
    assert "customers/write_time: missing description" in problems
    assert any("write_time: in the catalog but not in the template" in p for p in problems)
    assert any("CatalogHash is stale" in p for p in problems)


def test_check_command_lists_problems_and_fails(tmp_path):
    stale = tmp_path / "template.yaml"
    stale.write_text(render_hash(TEMPLATE.read_text(), "0000000000000000"))
    result = CliRunner().invoke(command, ["check", "--template", str(stale)])
    assert result.exit_code == 1
    assert "CatalogHash is stale" in result.output
    assert "1 catalog problem(s)" in result.output


def test_every_group_is_checked():
    assert {spec.name for spec in FEATURE_GROUPS} == set(template_definitions(TEMPLATE))
