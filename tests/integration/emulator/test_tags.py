"""AddTags / ListTags / DeleteTags on feature-group ARNs, as boto3 calls them."""

import pytest
from botocore.exceptions import ClientError

from tests.integration.emulator.support import error_code


@pytest.fixture
def arn(sm, make_group):
    group = make_group()
    return sm.describe_feature_group(FeatureGroupName=group)["FeatureGroupArn"]


def _tags(sm, arn):
    return {t["Key"]: t["Value"] for t in sm.list_tags(ResourceArn=arn)["Tags"]}


def test_add_list_delete_tags_round_trip(sm, arn):
    assert _tags(sm, arn) == {}
    added = sm.add_tags(
        ResourceArn=arn, Tags=[{"Key": "team", "Value": "risk"}, {"Key": "tier", "Value": "1"}]
    )
    assert added["Tags"] == [{"Key": "team", "Value": "risk"}, {"Key": "tier", "Value": "1"}]
    sm.add_tags(ResourceArn=arn, Tags=[{"Key": "team", "Value": "growth"}])  # overwrites
    assert _tags(sm, arn) == {"team": "growth", "tier": "1"}
    sm.delete_tags(ResourceArn=arn, TagKeys=["tier", "never-set"])
    assert _tags(sm, arn) == {"team": "growth"}


def test_tags_given_at_creation_are_listed_and_searchable(sm, unique_name):
    name = unique_name[:64]
    arn = sm.create_feature_group(
        FeatureGroupName=name,
        RecordIdentifierFeatureName="id",
        EventTimeFeatureName="t",
        FeatureDefinitions=[
            {"FeatureName": "id", "FeatureType": "String"},
            {"FeatureName": "t", "FeatureType": "String"},
        ],
        OnlineStoreConfig={"EnableOnlineStore": True},
        Tags=[{"Key": "owner", "Value": "ml"}],
    )["FeatureGroupArn"]
    assert _tags(sm, arn) == {"owner": "ml"}
    sm.add_tags(ResourceArn=arn, Tags=[{"Key": "stage", "Value": "prod"}])
    found = sm.search(
        Resource="FeatureGroup",
        SearchExpression={
            "Filters": [
                {"Name": "FeatureGroupName", "Operator": "Equals", "Value": name},
                {"Name": "Tags.stage", "Operator": "Equals", "Value": "prod"},
            ]
        },
    )["Results"]
    assert [r["FeatureGroup"]["FeatureGroupName"] for r in found] == [name]


def test_list_tags_pages_at_max_results(sm, arn):
    sm.add_tags(ResourceArn=arn, Tags=[{"Key": f"k{n:02d}", "Value": "v"} for n in range(50)])
    first = sm.list_tags(ResourceArn=arn, MaxResults=50)
    assert len(first["Tags"]) == 50
    assert "NextToken" not in first


@pytest.mark.parametrize(
    ("call", "code", "fragment"),
    [
        (
            lambda sm, arn: sm.add_tags(ResourceArn=arn, Tags=[{"Key": "a\tb", "Value": "v"}]),
            "ValidationException",
            "regular expression",
        ),
        (
            lambda sm, arn: sm.add_tags(ResourceArn=arn, Tags=[{"Key": "k", "Value": "x" * 257}]),
            "ValidationException",
            "length",
        ),
        (
            lambda sm, arn: sm.add_tags(
                ResourceArn=arn, Tags=[{"Key": f"n{n}", "Value": "v"} for n in range(51)]
            ),
            "ValidationException",
            "length",
        ),
        (
            lambda sm, arn: sm.list_tags(ResourceArn=arn + "-gone"),
            "ResourceNotFound",
            "no FeatureGroup",
        ),
        (
            lambda sm, arn: sm.list_tags(
                ResourceArn="arn:aws:sagemaker:us-east-1:123456789012:endpoint/e"
            ),
            "ValidationException",
            "only feature groups",
        ),
        (
            lambda sm, arn: sm.list_tags(ResourceArn="arn:aws:s3:::bucket"),
            "ValidationException",
            "regular expression",
        ),
    ],
)
def test_tag_requests_are_validated(sm, arn, call, code, fragment):
    with pytest.raises(ClientError) as exc:
        call(sm, arn)
    assert error_code(exc) == code
    assert fragment in str(exc.value)


def test_fifty_one_tags_in_total_are_refused(sm, arn):
    sm.add_tags(ResourceArn=arn, Tags=[{"Key": f"k{n}", "Value": "v"} for n in range(50)])
    with pytest.raises(ClientError) as exc:
        sm.add_tags(ResourceArn=arn, Tags=[{"Key": "one-more", "Value": "v"}])
    assert error_code(exc) == "ValidationException"
    assert len(_tags(sm, arn)) == 50
