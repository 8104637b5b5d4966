"""Provisioning from template.yaml: every stream, queue, bucket and feature group of the
template exists afterwards, metadata is applied, what cannot run locally is listed with a
reason, and a second run changes nothing. Runs on the session's moto and emulator, under a
unique stack name per test."""

import json
from pathlib import Path

import boto3
import pytest

from devstack.stack.provision import DEFAULT_LOCAL_SHARDS, provision
from devstack.stack.template import Template, local_stack

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture
def endpoints(
    moto_server: str,
    featurestore_emulator: str,
    athena_standin: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for service in ("KINESIS", "SQS", "S3", "DYNAMODB", "GLUE"):
        monkeypatch.setenv(f"AWS_ENDPOINT_URL_{service}", moto_server)
    monkeypatch.setenv("AWS_ENDPOINT_URL_ATHENA", athena_standin)
    monkeypatch.setenv("AWS_ENDPOINT_URL_SAGEMAKER", featurestore_emulator)
    monkeypatch.setenv("AWS_ENDPOINT_URL_SAGEMAKER_FEATURESTORE_RUNTIME", featurestore_emulator)


@pytest.fixture
def stack_name(unique_name: str) -> str:
    return ("p" + unique_name[-8:]).lower()


def _template() -> Template:
    return Template.load(REPO / "template.yaml")


def test_every_resource_of_the_template_exists_after_provisioning(
    endpoints: None, stack_name: str
) -> None:
    template = _template()
    report = provision(template, stack_name=stack_name)
    assert report.ok, report.lines()
    stack = local_stack(template, name=stack_name)
    kinesis, sqs, s3 = boto3.client("kinesis"), boto3.client("sqs"), boto3.client("s3")
    sagemaker = boto3.client("sagemaker")
    for logical_id in template.resources_of_type("AWS::Kinesis::Stream"):
        shards = kinesis.list_shards(StreamName=stack.refs[logical_id])["Shards"]
        assert len(shards) == DEFAULT_LOCAL_SHARDS  # on demand in the template
    for logical_id in template.resources_of_type("AWS::SQS::Queue"):
        sqs.get_queue_url(QueueName=stack.attributes[(logical_id, "QueueName")])
    for logical_id in template.resources_of_type("AWS::S3::Bucket"):
        s3.head_bucket(Bucket=stack.refs[logical_id])
    athena = boto3.client("athena")
    for logical_id, resource in template.resources_of_type("AWS::Athena::WorkGroup").items():
        config = athena.get_work_group(WorkGroup=stack.refs[logical_id])["WorkGroup"]
        wanted = template.resolve(resource["Properties"], stack)["WorkGroupConfiguration"]
        assert config["Configuration"]["EnforceWorkGroupConfiguration"] is True
        assert config["Configuration"]["ResultConfiguration"] == wanted["ResultConfiguration"]
    glue = boto3.client("glue")
    for logical_id in template.resources_of_type("AWS::Glue::Database"):
        assert glue.get_database(Name=stack.refs[logical_id])["Database"]["Name"]
    for logical_id, resource in template.resources_of_type("AWS::SageMaker::FeatureGroup").items():
        described = sagemaker.describe_feature_group(FeatureGroupName=stack.refs[logical_id])
        properties = template.resolve(resource["Properties"], stack)
        assert described["FeatureGroupStatus"] == "Created"
        assert [d["FeatureName"] for d in described["FeatureDefinitions"]] == [
            d["FeatureName"] for d in properties["FeatureDefinitions"]
        ]
        bucket = stack.refs["OfflineStoreBucket"]
        assert described["OfflineStoreConfig"]["S3StorageConfig"]["S3Uri"].startswith(
            f"s3://{bucket}/"
        )
        # the catalog's metadata was applied (the custom resource's job)
        metadata = sagemaker.describe_feature_metadata(
            FeatureGroupName=stack.refs[logical_id], FeatureName="customer_id"
        )
        assert metadata.get("Description")


def test_what_cannot_run_locally_is_listed_with_a_reason(endpoints: None, stack_name: str) -> None:
    template = _template()
    report = provision(template, stack_name=stack_name)
    outcome = {r.logical_id: r for r in report.results}
    assert set(outcome) == set(template.resources)  # nothing silently skipped
    for logical_id in ("CustomerFeaturesFunction", "OrderFeaturesFunction"):
        assert outcome[logical_id].outcome == "listed"
        assert outcome[logical_id].detail == "run by the trigger runner"
    for logical_id, resource in template.resources.items():
        if resource["Type"] in ("AWS::IAM::Role", "AWS::CloudWatch::Alarm"):
            assert outcome[logical_id].outcome == "listed"
            assert "not emulated" in outcome[logical_id].detail
    assert outcome["FeatureMetadata"].outcome == "applied"
    assert outcome["AlarmTopic"].outcome == "skipped"  # condition HasAlarmEmail is false
    assert "condition HasAlarmEmail" in outcome["AlarmTopic"].detail


def test_provisioning_twice_changes_nothing(endpoints: None, stack_name: str) -> None:
    template = _template()
    first = provision(template, stack_name=stack_name)
    second = provision(template, stack_name=stack_name)
    assert second.ok
    created = {r.logical_id for r in first.by_outcome("created")}
    assert created
    assert {r.logical_id for r in second.by_outcome("exists")} == created
    assert not second.by_outcome("created")
    metadata = next(r for r in second.results if r.logical_id == "FeatureMetadata")
    assert "sent 0 UpdateFeatureMetadata" in metadata.detail


def test_a_provisioned_stream_keeps_the_templates_shard_count(
    endpoints: None, stack_name: str
) -> None:
    report = provision(
        _template(),
        stack_name=stack_name,
        parameters={"StreamMode": "PROVISIONED", "ShardCount": 3},
    )
    assert report.ok
    shards = boto3.client("kinesis").list_shards(StreamName=f"{stack_name}-order-events")
    assert len(shards["Shards"]) == 3


def test_tables_and_unknown_types(endpoints: None, stack_name: str, tmp_path: Path) -> None:
    document = {
        "Resources": {
            "Table": {
                "Type": "AWS::DynamoDB::Table",
                "Properties": {
                    "TableName": {"Fn::Sub": "${AWS::StackName}-idempotency"},
                    "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
                    "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
                },
            },
            "Machine": {"Type": "AWS::StepFunctions::StateMachine", "Properties": {}},
            "Other": {"Type": "Custom::Something", "Properties": {"ServiceToken": "x"}},
        }
    }
    path = tmp_path / "template.yaml"
    path.write_text(json.dumps(document))
    report = provision(Template.load(path), stack_name=stack_name)
    outcome = {r.logical_id: r for r in report.results}
    assert outcome["Table"].outcome == "created"
    boto3.client("dynamodb").describe_table(TableName=f"{stack_name}-idempotency")
    assert outcome["Machine"].outcome == "listed"
    assert outcome["Machine"].detail == "not supported by the local stack"
    assert outcome["Other"].outcome == "listed"
    assert "custom resource" in outcome["Other"].detail
    again = provision(Template.load(path), stack_name=stack_name)
    assert {r.logical_id: r.outcome for r in again.results}["Table"] == "exists"


def test_create_table_as_lands_in_the_analysis_database_under_the_enforced_results(
    endpoints: None, stack_name: str
) -> None:
    """The tutorial's CTAS through the provisioned workgroup: the table is registered in the
    template's analysis database, its files under the workgroup's results location."""
    from featurestream.offline.athena import run_query

    template = _template()
    assert provision(template, stack_name=stack_name).ok
    stack = local_stack(template, name=stack_name)
    database = stack.refs["AnalysisDatabase"]
    assert database == f"{stack_name}_analysis"
    workgroup = stack.refs["OfflineWorkGroup"]
    done = run_query(
        f"CREATE TABLE {database}.answers AS SELECT 42 AS answer",
        database=database,
        workgroup=workgroup,
    )
    assert (done.statement_type, done.update_count) == ("DDL", 1)
    table = boto3.client("glue").get_table(DatabaseName=database, Name="answers")["Table"]
    bucket = stack.refs["AthenaResultsBucket"]
    location = table["StorageDescriptor"]["Location"]
    assert location.startswith(f"s3://{bucket}/results/tables/{done.query_id}")
    read = run_query(
        f"SELECT answer FROM {database}.answers", database=database, workgroup=workgroup
    )
    assert read.rows == [(42,)]
