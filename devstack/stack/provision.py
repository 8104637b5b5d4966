"""Create the resources of ``template.yaml`` on the local stand-ins, so the template stays
the single source of truth locally too.

Every resource is resolved with :func:`devstack.stack.template.local_stack` (the names and ARNs AWS
would give it) and created through boto3's standard clients, which ``AWS_ENDPOINT_URL_*``
point at moto and the Feature Store emulator. Streams, queues, buckets, tables, Glue
databases and feature groups are created; the feature-metadata custom resource is applied
in-process with
:func:`featurestream.governance.metadata.apply_catalog_metadata`; everything else is
*listed* with the reason it is not provisioned (functions run by the trigger runner,
IAM/alarms/SNS not emulated). Running it again changes nothing: an existing resource is
reported as such.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from botocore.exceptions import ClientError

from devstack.stack.template import Stack, Template, local_stack

DEFAULT_LOCAL_SHARDS: Final = 2
"""Shards per on-demand stream locally: moto has no on-demand scaling, so a stream needs a
count. Two match the trigger runner's two concurrent invocations per function and the two
cores the demo is sized for; each further shard only adds a poller (GetRecords calls)."""

Outcome = Literal["created", "exists", "applied", "listed", "skipped", "failed"]

NOT_EMULATED: Final = {
    "AWS::IAM::Role": "not emulated (no IAM locally)",
    "AWS::IAM::Policy": "not emulated (no IAM locally)",
    "AWS::IAM::ManagedPolicy": "not emulated (no IAM locally)",
    "AWS::S3::BucketPolicy": "not emulated (no bucket policies locally)",
    "AWS::CloudWatch::Alarm": "not emulated (alarms are not evaluated locally)",
    "AWS::SNS::Topic": "not emulated (no notifications locally)",
    "AWS::Logs::LogGroup": "not emulated (handler logs go to .state/logs/handlers.log)",
    "AWS::Serverless::Api": "not emulated (use featurestream serve)",
    "AWS::Serverless::HttpApi": "served by featurestream serve (local HTTP API)",
}

# Provisioning order: what others depend on first, custom resources last.
ORDER: Final = (
    "AWS::S3::Bucket",
    "AWS::Athena::WorkGroup",
    "AWS::Glue::Database",
    "AWS::Kinesis::Stream",
    "AWS::SQS::Queue",
    "AWS::DynamoDB::Table",
    "AWS::SageMaker::FeatureGroup",
)


@dataclass(frozen=True)
class ResourceResult:
    """What provisioning did with one template resource."""

    logical_id: str
    resource_type: str
    outcome: Outcome
    name: str = ""
    detail: str = ""


@dataclass
class ProvisionReport:
    stack: Stack
    results: list[ResourceResult] = field(default_factory=list)

    def by_outcome(self, *outcomes: Outcome) -> list[ResourceResult]:
        return [r for r in self.results if r.outcome in outcomes]

    @property
    def ok(self) -> bool:
        return not self.by_outcome("failed")

    def lines(self) -> list[str]:
        """One line per resource, grouped: provisioned first, then what is listed."""
        order = {"created": 0, "exists": 0, "applied": 0, "failed": 1, "listed": 2, "skipped": 3}
        rows = sorted(self.results, key=lambda r: order[r.outcome])
        return [
            f"{r.outcome:<8} {r.resource_type:<30} {r.logical_id:<34} "
            f"{r.name}{'  - ' + r.detail if r.detail else ''}".rstrip()
            for r in rows
        ]


ClientFactory = Callable[[str], Any]


def _default_clients(region: str) -> ClientFactory:
    import boto3

    cache: dict[str, Any] = {}

    def client(service: str) -> Any:
        if service not in cache:
            cache[service] = boto3.client(service, region_name=region)  # type: ignore[call-overload]
        return cache[service]

    return client


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


class Provisioner:
    """Creates one template's resources; ``provision()`` is the entry point."""

    def __init__(
        self,
        template: Template,
        stack: Stack,
        clients: ClientFactory,
        *,
        local_shards: int = DEFAULT_LOCAL_SHARDS,
        apply_metadata: bool = True,
    ) -> None:
        self.template = template
        self.stack = stack
        self.client = clients
        self.local_shards = local_shards
        self.apply_metadata = apply_metadata
        self._creators: dict[str, Callable[[str, dict[str, Any]], ResourceResult]] = {
            "AWS::Kinesis::Stream": self._stream,
            "AWS::SQS::Queue": self._queue,
            "AWS::S3::Bucket": self._bucket,
            "AWS::DynamoDB::Table": self._table,
            "AWS::SageMaker::FeatureGroup": self._feature_group,
            "AWS::Athena::WorkGroup": self._workgroup,
            "AWS::Glue::Database": self._database,
        }

    def run(self) -> ProvisionReport:
        report = ProvisionReport(self.stack)
        resources = self.template.resources
        rank = {kind: i for i, kind in enumerate(ORDER)}
        ordered = sorted(
            resources.items(), key=lambda item: rank.get(str(item[1].get("Type")), len(ORDER))
        )
        for logical_id, resource in ordered:
            report.results.append(self._one(logical_id, resource))
        return report

    def _one(  # noqa: PLR0911 - one return per kind of outcome
        self, logical_id: str, resource: Mapping[str, Any]
    ) -> ResourceResult:
        kind = str(resource.get("Type"))
        condition = resource.get("Condition")
        if condition and not self.template.condition(str(condition), self.stack):
            return ResourceResult(
                logical_id, kind, "skipped", detail=f"condition {condition} false"
            )
        name = str(self.stack.refs.get(logical_id, ""))
        if kind in self._creators:
            properties = self.template.resolve(resource.get("Properties") or {}, self.stack)
            try:
                return self._creators[kind](logical_id, properties)
            except ClientError as error:
                message = error.response.get("Error", {}).get("Message", "")
                detail = f"{_code(error)}: {message}"
                return ResourceResult(logical_id, kind, "failed", name, detail)
        if kind == "AWS::Serverless::Function":
            return ResourceResult(logical_id, kind, "listed", name, self._function_note(logical_id))
        if kind == "Custom::FeatureMetadata":
            return self._feature_metadata(logical_id, resource)
        if kind.startswith("Custom::") or kind == "AWS::CloudFormation::CustomResource":
            detail = "custom resource: not run locally"
            return ResourceResult(logical_id, kind, "listed", name, detail)
        detail = NOT_EMULATED.get(kind, "not supported by the local stack")
        return ResourceResult(logical_id, kind, "listed", name, detail)

    def _function_note(self, logical_id: str) -> str:
        events = self.template.function(logical_id).events.values()
        types = {str(event.get("Type")) for event in events}
        if "Kinesis" in types:
            return "run by the trigger runner"
        if types & {"HttpApi", "Api"}:
            return "served by featurestream serve"
        return "not run locally (featurestream invoke runs it on demand)"

    # -- creators ----------------------------------------------------------------------------

    def _stream(self, logical_id: str, props: dict[str, Any]) -> ResourceResult:
        name = str(props.get("Name") or self.stack.refs[logical_id])
        mode = str((props.get("StreamModeDetails") or {}).get("StreamMode", "PROVISIONED"))
        shards = int(props.get("ShardCount") or self.local_shards)
        detail = f"{shards} shards" + (
            " (on-demand in the template; locally a fixed count)" if mode == "ON_DEMAND" else ""
        )
        kinesis = self.client("kinesis")
        try:
            kinesis.create_stream(
                StreamName=name,
                ShardCount=shards,
                StreamModeDetails={"StreamMode": "PROVISIONED"},
            )
        except ClientError as error:
            if _code(error) != "ResourceInUseException":
                raise
            count = len(kinesis.list_shards(StreamName=name)["Shards"])
            return ResourceResult(
                logical_id, "AWS::Kinesis::Stream", "exists", name, f"{count} shards"
            )
        hours = int(props.get("RetentionPeriodHours") or 24)
        if hours > 24:
            kinesis.increase_stream_retention_period(StreamName=name, RetentionPeriodHours=hours)
        return ResourceResult(logical_id, "AWS::Kinesis::Stream", "created", name, detail)

    def _queue(self, logical_id: str, props: dict[str, Any]) -> ResourceResult:
        name = str(props.get("QueueName") or self.stack.attributes[(logical_id, "QueueName")])
        sqs = self.client("sqs")
        try:
            sqs.get_queue_url(QueueName=name)
            return ResourceResult(logical_id, "AWS::SQS::Queue", "exists", name)
        except ClientError as error:
            if "NonExistentQueue" not in _code(error) and "NotFound" not in _code(error):
                raise
        keys = ("MessageRetentionPeriod", "VisibilityTimeout", "DelaySeconds", "FifoQueue")
        attributes = {
            k: str(props[k]).lower() if isinstance(props[k], bool) else str(props[k])
            for k in keys
            if k in props
        }
        sqs.create_queue(QueueName=name, Attributes=attributes)
        return ResourceResult(logical_id, "AWS::SQS::Queue", "created", name)

    def _bucket(self, logical_id: str, props: dict[str, Any]) -> ResourceResult:
        name = str(props.get("BucketName") or self.stack.refs[logical_id])
        s3 = self.client("s3")
        try:
            s3.head_bucket(Bucket=name)
            return ResourceResult(logical_id, "AWS::S3::Bucket", "exists", name)
        except ClientError as error:
            if _code(error) not in ("404", "NoSuchBucket", "NotFound"):
                raise
        s3.create_bucket(Bucket=name)
        status = (props.get("VersioningConfiguration") or {}).get("Status")
        if status:
            s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": status})
        return ResourceResult(logical_id, "AWS::S3::Bucket", "created", name)

    def _table(self, logical_id: str, props: dict[str, Any]) -> ResourceResult:
        name = str(props.get("TableName") or self.stack.refs[logical_id])
        if not create_table(self.client("dynamodb"), name, props):
            return ResourceResult(logical_id, "AWS::DynamoDB::Table", "exists", name)
        return ResourceResult(logical_id, "AWS::DynamoDB::Table", "created", name)

    def _feature_group(self, logical_id: str, props: dict[str, Any]) -> ResourceResult:
        name = str(props.get("FeatureGroupName") or self.stack.refs[logical_id])
        keys = (
            "RecordIdentifierFeatureName",
            "EventTimeFeatureName",
            "FeatureDefinitions",
            "OnlineStoreConfig",
            "OfflineStoreConfig",
            "ThroughputConfig",
            "RoleArn",
            "Description",
            "Tags",
        )
        request = {k: props[k] for k in keys if k in props}
        sagemaker = self.client("sagemaker")
        kind = "AWS::SageMaker::FeatureGroup"
        try:
            sagemaker.create_feature_group(FeatureGroupName=name, **request)
        except ClientError as error:
            if _code(error) != "ResourceInUse":
                raise
            return ResourceResult(logical_id, kind, "exists", name)
        status = self._wait_for_group(name)
        return ResourceResult(logical_id, kind, "created", name, status)

    def _workgroup(self, logical_id: str, props: dict[str, Any]) -> ResourceResult:
        """The workgroup on the Athena stand-in, with the template's configuration (its
        enforced results location is what every query of the offline store writes to)."""
        name = str(props.get("Name") or self.stack.refs[logical_id])
        kind = "AWS::Athena::WorkGroup"
        config = dict(props.get("WorkGroupConfiguration") or {})
        config.pop("EngineVersion", None)  # the stand-in has one engine
        athena = self.client("athena")
        try:
            athena.get_work_group(WorkGroup=name)
            return ResourceResult(logical_id, kind, "exists", name)
        except ClientError as error:
            if _code(error) != "InvalidRequestException":
                raise
        athena.create_work_group(
            Name=name, Configuration=config, Description=str(props.get("Description") or "")
        )
        return ResourceResult(logical_id, kind, "created", name)

    def _database(self, logical_id: str, props: dict[str, Any]) -> ResourceResult:
        """A Glue database in moto's Glue (the analysis database CREATE TABLE AS writes to)."""
        name = self.stack.refs[logical_id]
        kind = "AWS::Glue::Database"
        glue = self.client("glue")
        try:
            glue.get_database(Name=name)
            return ResourceResult(logical_id, kind, "exists", name)
        except ClientError as error:
            if _code(error) != "EntityNotFoundException":
                raise
        description = str((props.get("DatabaseInput") or {}).get("Description") or "")
        glue.create_database(DatabaseInput={"Name": name, "Description": description})
        return ResourceResult(logical_id, kind, "created", name)

    def _wait_for_group(self, name: str, timeout: float = 30.0) -> str:
        sagemaker = self.client("sagemaker")
        deadline = time.monotonic() + timeout
        while True:
            status = str(
                sagemaker.describe_feature_group(FeatureGroupName=name)["FeatureGroupStatus"]
            )
            if status != "Creating" or time.monotonic() > deadline:
                return status
            time.sleep(0.1)

    def _feature_metadata(self, logical_id: str, resource: Mapping[str, Any]) -> ResourceResult:
        kind = str(resource.get("Type"))
        props = self.template.resolve(resource.get("Properties") or {}, self.stack)
        groups = {str(k): str(v) for k, v in (props.get("FeatureGroups") or {}).items()}
        if not self.apply_metadata:
            return ResourceResult(logical_id, kind, "listed", detail="metadata not applied")
        try:
            report = apply_catalog_metadata(self.client("sagemaker"), groups)
        except ClientError as error:
            return ResourceResult(logical_id, kind, "failed", detail=f"{_code(error)}")
        except Exception as error:  # CatalogMismatch and the like: the message is for users
            return ResourceResult(logical_id, kind, "failed", detail=str(error))
        return ResourceResult(logical_id, kind, "applied", ", ".join(groups.values()), report)


_TABLE_KEYS = (
    "KeySchema",
    "AttributeDefinitions",
    "BillingMode",
    "ProvisionedThroughput",
    "GlobalSecondaryIndexes",
    "LocalSecondaryIndexes",
)


def create_table(dynamodb: Any, name: str, props: Mapping[str, Any]) -> bool:
    """Create a table as the template declares it (keys, billing, encryption, then its TTL
    attribute and point-in-time recovery); False if it exists already."""
    request = {k: props[k] for k in _TABLE_KEYS if k in props}
    request.setdefault("BillingMode", "PAY_PER_REQUEST")
    sse = props.get("SSESpecification")
    if sse:  # CloudFormation says SSEEnabled where the API says Enabled
        request["SSESpecification"] = {
            "Enabled": sse.get("SSEEnabled", False),
            **({"SSEType": sse["SSEType"]} if "SSEType" in sse else {}),
        }
    try:
        dynamodb.create_table(TableName=name, **request)
    except ClientError as error:
        if _code(error) != "ResourceInUseException":
            raise
        return False
    ttl = props.get("TimeToLiveSpecification")
    if ttl:
        dynamodb.update_time_to_live(TableName=name, TimeToLiveSpecification=ttl)
    recovery = props.get("PointInTimeRecoverySpecification")
    if recovery:
        dynamodb.update_continuous_backups(
            TableName=name, PointInTimeRecoverySpecification=recovery
        )
    return True


def apply_catalog_metadata(sagemaker: Any, groups: Mapping[str, str]) -> str:
    """The provisioning hook for the ``Custom::FeatureMetadata`` resource: what the deployed
    custom resource does, in-process. Returns a one-line summary."""
    from featurestream.governance.metadata import apply_catalog_metadata as apply

    return str(apply(sagemaker, dict(groups)).summary())


def provision(
    template: Template,
    *,
    stack_name: str = "featurestream",
    parameters: Mapping[str, Any] | None = None,
    region: str = "us-east-1",
    local_shards: int = DEFAULT_LOCAL_SHARDS,
    clients: ClientFactory | None = None,
    apply_metadata: bool = True,
) -> ProvisionReport:
    """Create the template's resources locally (idempotent); the report lists every one."""
    stack = local_stack(template, name=stack_name, region=region, parameters=dict(parameters or {}))
    provisioner = Provisioner(
        template,
        stack,
        clients or _default_clients(region),
        local_shards=local_shards,
        apply_metadata=apply_metadata,
    )
    return provisioner.run()
