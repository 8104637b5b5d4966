"""The catalog obeys the Feature Store's naming rules and agrees with the transforms."""

import re

import pytest

from featurestream.contract.catalog import (
    FEATURE_GROUP_NAME_PATTERN,
    FEATURE_GROUPS,
    FEATURE_NAME_PATTERN,
    RESERVED_FEATURE_NAMES,
    FeatureGroupSpec,
)


@pytest.mark.parametrize("group", FEATURE_GROUPS, ids=lambda g: g.name)
def test_names_follow_the_feature_store_rules(group: FeatureGroupSpec) -> None:
    assert re.fullmatch(FEATURE_GROUP_NAME_PATTERN, group.name)
    assert len(group.feature_names) == len(set(group.feature_names))
    for name in group.feature_names:
        assert re.fullmatch(FEATURE_NAME_PATTERN, name), name
        assert name not in RESERVED_FEATURE_NAMES


@pytest.mark.parametrize("group", FEATURE_GROUPS, ids=lambda g: g.name)
def test_identifier_and_event_time_are_strings_in_the_group(group: FeatureGroupSpec) -> None:
    assert group.feature(group.record_identifier).type == "String"
    assert group.feature(group.event_time_feature).type == "String"
    assert "transform_version" in group.feature_names


@pytest.mark.parametrize("group", FEATURE_GROUPS, ids=lambda g: g.name)
def test_every_feature_is_documented_and_owned(group: FeatureGroupSpec) -> None:
    assert 0 < len(group.description) <= 128
    for feature in group.features:
        assert 0 < len(feature.description) <= 255, feature.name
        assert feature.owner
        parameters = feature.metadata_parameters()
        assert len(parameters) <= 25
        assert all(0 < len(k) <= 255 and 0 < len(v) <= 255 for k, v in parameters.items())


def test_the_naming_rule_itself_rejects_bad_names() -> None:
    for bad in ("_lead", "trail-", "has space", "a" * 65, "dots.no"):
        assert not re.fullmatch(FEATURE_NAME_PATTERN, bad), bad


def test_record_identifier_is_searchable_as_primary_key() -> None:
    for group in FEATURE_GROUPS:
        assert group.feature(group.record_identifier).parameters["idType"] == "primarykey"
