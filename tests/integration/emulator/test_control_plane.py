"""Control plane: create/describe/list/update/delete, feature metadata and Search."""

import boto3
import pytest
from botocore.exceptions import ClientError

from tests.integration.emulator.support import definitions, error_code, record

T1 = "2024-05-01T12:00:00Z"


def test_create_and_describe(sm, make_group):
    group = make_group(online={"EnableOnlineStore": True, "StorageType": "Standard"})
    desc = sm.describe_feature_group(FeatureGroupName=group)
    assert (
        desc["FeatureGroupArn"] == f"arn:aws:sagemaker:us-east-1:123456789012:feature-group/{group}"
    )
    assert desc["FeatureGroupStatus"] == "Created"
    assert desc["OfflineStoreStatus"] == {"Status": "Active"}
    assert desc["OnlineStoreConfig"] == {"EnableOnlineStore": True, "StorageType": "Standard"}
    assert desc["ThroughputConfig"]["ThroughputMode"] == "OnDemand"
    epoch = int(desc["CreationTime"].timestamp())
    assert desc["OfflineStoreConfig"]["S3StorageConfig"]["ResolvedOutputS3Uri"] == (
        f"s3://offline-bucket/fs/123456789012/sagemaker/us-east-1/offline-store/{group}-{epoch}/data"
    )
    assert desc["OfflineStoreConfig"]["DataCatalogConfig"]["Database"] == "sagemaker_featurestore"
    assert [d["FeatureName"] for d in desc["FeatureDefinitions"]][:2] == [
        "customer_id",
        "event_time",
    ]


def test_region_comes_from_the_signing_region(featurestore_env, unique_name):
    sm = boto3.client("sagemaker", region_name="eu-west-1")
    arn = sm.create_feature_group(
        FeatureGroupName=unique_name,
        RecordIdentifierFeatureName="id",
        EventTimeFeatureName="t",
        FeatureDefinitions=definitions(id="String", t="Fractional"),
        OfflineStoreConfig={"S3StorageConfig": {"S3Uri": "s3://b"}},
        RoleArn="arn:aws:iam::123456789012:role/featurestore",
    )["FeatureGroupArn"]
    assert arn.startswith("arn:aws:sagemaker:eu-west-1:123456789012:")
    uri = sm.describe_feature_group(FeatureGroupName=unique_name)["OfflineStoreConfig"][
        "S3StorageConfig"
    ]["ResolvedOutputS3Uri"]
    assert uri.startswith("s3://b/123456789012/sagemaker/eu-west-1/offline-store/")


def test_duplicate_name_is_resource_in_use(sm, make_group):
    group = make_group(suffix="dup")
    with pytest.raises(ClientError) as exc:
        make_group(suffix="dup")
    assert error_code(exc) == "ResourceInUse"
    assert group in str(exc.value)


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"FeatureGroupName": "bad_name_"}, "regular expression"),
        ({"EventTimeFeatureName": "age"}, "String or Fractional"),
        ({"RecordIdentifierFeatureName": "ghost"}, "not among the FeatureDefinitions"),
        (
            {
                "FeatureDefinitions": definitions(
                    customer_id="String", event_time="String", is_deleted="String"
                )
            },
            "reserved",
        ),
        (
            {"FeatureDefinitions": definitions(customer_id="String", event_time="Timestamp")},
            "enum value set",
        ),
        ({"OnlineStoreConfig": None, "OfflineStoreConfig": None}, "At least one"),
        (
            {"OnlineStoreConfig": {"EnableOnlineStore": True, "StorageType": "Disk"}},
            "enum value set",
        ),
        ({"OfflineStoreConfig": {"S3StorageConfig": {"S3Uri": "ftp://x"}}}, "regular expression"),
        ({"RoleArn": "arn:aws:iam::1:role/x"}, "regular expression"),
        # Java's \d (the service's regexes) is ASCII; these are Arabic-Indic digits.
        ({"RoleArn": "arn:aws:iam::" + "\u0661" * 12 + ":role/x"}, "regular expression"),
        ({"RoleArn": None}, "RoleArn is required when OfflineStoreConfig is provided"),
        ({"Tags": [{"Key": "team", "Value": "a\tb"}]}, "regular expression"),
        ({"Tags": [{"Key": "a\nb", "Value": "v"}]}, "regular expression"),
        ({"Description": "x" * 129}, "length"),
    ],
)
def test_create_validates_like_the_service(sm, unique_name, change, fragment):
    kwargs = {
        "FeatureGroupName": unique_name,
        "RecordIdentifierFeatureName": "customer_id",
        "EventTimeFeatureName": "event_time",
        "FeatureDefinitions": definitions(
            customer_id="String", event_time="String", age="Integral"
        ),
        "OnlineStoreConfig": {"EnableOnlineStore": True},
        "OfflineStoreConfig": {"S3StorageConfig": {"S3Uri": "s3://bucket"}},
        "RoleArn": "arn:aws:iam::123456789012:role/featurestore",
    }
    kwargs.update(change)
    kwargs = {k: v for k, v in kwargs.items() if v is not None}
    with pytest.raises(ClientError) as exc:
        sm.create_feature_group(**kwargs)
    assert error_code(exc) == "ValidationException"
    assert fragment in str(exc.value)


def test_describe_unknown_group_is_resource_not_found(sm):
    with pytest.raises(ClientError) as exc:
        sm.describe_feature_group(FeatureGroupName="no-such-group")
    assert error_code(exc) == "ResourceNotFound"


def test_list_feature_groups_filters_sorts_and_pages(sm, make_group, unique_name):
    names = [make_group(suffix=s) for s in ("b", "a", "c")]
    listed = sm.list_feature_groups(NameContains=unique_name, SortBy="Name", SortOrder="Ascending")
    assert [s["FeatureGroupName"] for s in listed["FeatureGroupSummaries"]] == sorted(names)
    first = sm.list_feature_groups(
        NameContains=unique_name, MaxResults=2, SortBy="Name", SortOrder="Ascending"
    )
    assert len(first["FeatureGroupSummaries"]) == 2
    rest = sm.list_feature_groups(
        NameContains=unique_name,
        MaxResults=2,
        SortBy="Name",
        SortOrder="Ascending",
        NextToken=first["NextToken"],
    )
    assert [s["FeatureGroupName"] for s in rest["FeatureGroupSummaries"]] == [sorted(names)[2]]
    assert "NextToken" not in rest


def test_delete_feature_group_makes_online_data_unreachable(sm, rt, make_group):
    group = make_group()
    rt.put_record(FeatureGroupName=group, Record=record(customer_id="c1", event_time=T1))
    sm.delete_feature_group(FeatureGroupName=group)
    with pytest.raises(ClientError) as exc:
        rt.get_record(FeatureGroupName=group, RecordIdentifierValueAsString="c1")
    assert error_code(exc) == "ResourceNotFound"
    with pytest.raises(ClientError) as exc:
        sm.delete_feature_group(FeatureGroupName=group)
    assert error_code(exc) == "ResourceNotFound"


def test_update_feature_group_adds_features_and_changes_ttl(sm, rt, make_group):
    group = make_group()
    with pytest.raises(ClientError):
        rt.put_record(
            FeatureGroupName=group, Record=record(customer_id="c1", event_time=T1, tier="gold")
        )
    sm.update_feature_group(FeatureGroupName=group, FeatureAdditions=definitions(tier="String"))
    rt.put_record(
        FeatureGroupName=group, Record=record(customer_id="c1", event_time=T1, tier="gold", age="5")
    )
    got = rt.get_record(FeatureGroupName=group, RecordIdentifierValueAsString="c1")["Record"]
    assert [fv["FeatureName"] for fv in got][-1] == "tier"
    with pytest.raises(ClientError) as exc:
        sm.update_feature_group(
            FeatureGroupName=group, FeatureAdditions=definitions(age="Integral")
        )
    assert error_code(exc) == "ValidationException"
    sm.update_feature_group(
        FeatureGroupName=group, OnlineStoreConfig={"TtlDuration": {"Unit": "Hours", "Value": 2}}
    )
    desc = sm.describe_feature_group(FeatureGroupName=group)
    assert desc["OnlineStoreConfig"]["TtlDuration"] == {"Unit": "Hours", "Value": 2}
    assert desc["LastUpdateStatus"]["Status"] == "Successful"
    # Records written before the update keep their (absent) TTL.
    before = rt.get_record(
        FeatureGroupName=group, RecordIdentifierValueAsString="c1", ExpirationTimeResponse="Enabled"
    )
    assert "ExpiresAt" not in before


def test_feature_metadata_is_a_patch_with_ordered_parameters(sm, make_group):
    group = make_group()
    sm.update_feature_metadata(
        FeatureGroupName=group,
        FeatureName="customer_id",
        Description="the customer",
        ParameterAdditions=[
            {"Key": "idType", "Value": "primarykey"},
            {"Key": "owner", "Value": "crm"},
        ],
    )
    sm.update_feature_metadata(
        FeatureGroupName=group, FeatureName="customer_id", ParameterRemovals=["owner"]
    )
    sm.update_feature_metadata(
        FeatureGroupName=group,
        FeatureName="customer_id",
        ParameterAdditions=[{"Key": "pii", "Value": "no"}],
    )
    meta = sm.describe_feature_metadata(FeatureGroupName=group, FeatureName="customer_id")
    assert meta["Description"] == "the customer"
    assert meta["Parameters"] == [
        {"Key": "idType", "Value": "primarykey"},
        {"Key": "pii", "Value": "no"},
    ]
    assert meta["FeatureType"] == "String"
    with pytest.raises(ClientError) as exc:
        sm.describe_feature_metadata(FeatureGroupName=group, FeatureName="ghost")
    assert error_code(exc) == "ResourceNotFound"
    with pytest.raises(ClientError) as exc:
        sm.update_feature_metadata(FeatureGroupName=group, FeatureName="age", Description="x" * 256)
    assert error_code(exc) == "ValidationException"


@pytest.mark.parametrize(
    ("key", "value"),
    [("owner", "a\tb"), ("owner", "a\nb"), ("a\tb", "v"), ("a\rb", "v"), ("a@b", "v")],
)
def test_feature_parameters_follow_the_model_pattern(sm, make_group, key, value):
    """([\\p{L}\\p{Z}\\p{N}_.:/=+\\-]*): tab, newline and CR are control characters (Cc), and
    @ is in the tag pattern but not the feature-parameter one."""
    group = make_group()
    with pytest.raises(ClientError) as exc:
        sm.update_feature_metadata(
            FeatureGroupName=group,
            FeatureName="age",
            ParameterAdditions=[{"Key": key, "Value": value}],
        )
    assert error_code(exc) == "ValidationException"
    assert "regular expression" in str(exc.value)


def test_feature_parameters_accept_letters_numbers_and_separators_of_any_script(sm, make_group):
    group = make_group()
    params = {"équipe": "données clients", "部門": "リスク\u00a0評価", "unit": "٣ years=+-/:."}
    sm.update_feature_metadata(
        FeatureGroupName=group,
        FeatureName="age",
        ParameterAdditions=[{"Key": k, "Value": v} for k, v in params.items()],
    )
    meta = sm.describe_feature_metadata(FeatureGroupName=group, FeatureName="age")
    assert {p["Key"]: p["Value"] for p in meta["Parameters"]} == params


@pytest.fixture
def tagged(sm, make_group):
    group = make_group()
    for feature, params in {
        "customer_id": {"idType": "primarykey", "team": "growth"},
        "age": {"team": "risk", "unit": "years"},
        "score": {"team": "risk"},
    }.items():
        sm.update_feature_metadata(
            FeatureGroupName=group,
            FeatureName=feature,
            ParameterAdditions=[{"Key": k, "Value": v} for k, v in params.items()],
        )
    return group


def _features(sm, group, *filters, operator="And", **kwargs):
    expression = {"Filters": [{"Name": "FeatureGroupName", "Operator": "Equals", "Value": group}]}
    expression["SubExpressions"] = [{"Filters": list(filters), "Operator": operator}]
    response = sm.search(Resource="FeatureMetadata", SearchExpression=expression, **kwargs)
    return sorted(r["FeatureMetadata"]["FeatureName"] for r in response["Results"])


@pytest.mark.parametrize(
    ("filters", "operator", "expected"),
    [
        (
            [{"Name": "Parameters.idType", "Operator": "Equals", "Value": "primarykey"}],
            "And",
            ["customer_id"],
        ),
        (
            [{"Name": "Parameters.team", "Operator": "NotEquals", "Value": "risk"}],
            "And",
            ["city", "customer_id", "event_time"],
        ),
        (
            [{"Name": "Parameters.team", "Operator": "Contains", "Value": "RIS"}],
            "And",
            ["age", "score"],
        ),
        ([{"Name": "Parameters.unit", "Operator": "Exists"}], "And", ["age"]),
        ([{"Name": "Parameters.team", "Operator": "NotExists"}], "And", ["city", "event_time"]),
        ([{"Name": "FeatureName", "Operator": "In", "Value": "age, city"}], "And", ["age", "city"]),
        ([{"Name": "AllParameters", "Operator": "Contains", "Value": "year"}], "And", ["age"]),
        (
            [
                {"Name": "FeatureType", "Operator": "Equals", "Value": "Fractional"},
                {"Name": "Parameters.idType", "Operator": "Exists"},
            ],
            "Or",
            ["customer_id", "score"],
        ),
        (
            [
                {"Name": "Parameters.team", "Operator": "Equals", "Value": "risk"},
                {"Name": "FeatureType", "Operator": "Equals", "Value": "Integral"},
            ],
            "And",
            ["age"],
        ),
    ],
)
def test_search_feature_metadata_operators(sm, tagged, filters, operator, expected):
    assert _features(sm, tagged, *filters, operator=operator) == expected


def test_search_pages_and_sorts(sm, tagged):
    expression = {"Filters": [{"Name": "FeatureGroupName", "Operator": "Equals", "Value": tagged}]}
    seen = []
    token = None
    while True:
        kwargs = {"NextToken": token} if token else {}
        page = sm.search(
            Resource="FeatureMetadata",
            SearchExpression=expression,
            SortBy="FeatureName",
            SortOrder="Ascending",
            MaxResults=2,
            **kwargs,
        )
        seen.extend(r["FeatureMetadata"]["FeatureName"] for r in page["Results"])
        assert page["TotalHits"]["Value"] == 5
        token = page.get("NextToken")
        if not token:
            break
    assert seen == ["age", "city", "customer_id", "event_time", "score"]


def test_search_feature_groups(sm, make_group, unique_name):
    group = make_group()
    response = sm.search(
        Resource="FeatureGroup",
        SearchExpression={
            "Filters": [{"Name": "FeatureGroupName", "Operator": "Contains", "Value": unique_name}]
        },
    )
    assert [r["FeatureGroup"]["FeatureGroupName"] for r in response["Results"]] == [group]
    with pytest.raises(ClientError) as exc:
        sm.search(Resource="TrainingJob")
    assert error_code(exc) == "ValidationException"
