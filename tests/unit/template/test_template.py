"""template.yaml: feature groups equal the catalog, functions wired, IAM scoped, encrypted."""

from pathlib import Path

import pytest

from devstack.stack.template import NO_VALUE, Template, TemplateError, load_yaml, local_stack
from featurestream.contract.catalog import CUSTOMERS, ORDERS
from featurestream_cli.commands.template import render

ROOT = Path(__file__).resolve().parents[3]
TEMPLATE = Template.load(ROOT / "template.yaml")
FUNCTIONS = {
    "CustomerFeaturesFunction": ("CustomersFeatureGroup", "CustomerEventsStream", CUSTOMERS),
    "OrderFeaturesFunction": ("OrdersFeatureGroup", "OrderEventsStream", ORDERS),
}
WRITES_ALSO = {"OrderFeaturesFunction": ("CustomerOrderStatsFeatureGroup",)}
"""Groups a function writes besides its own: the order function keeps the aggregates."""


def statements(role_id):
    role = TEMPLATE.resource(role_id)["Properties"]
    return [s for policy in role["Policies"] for s in policy["PolicyDocument"]["Statement"]]


def as_list(value):
    return value if isinstance(value, list) else [value]


@pytest.mark.parametrize(
    ("group_id", "spec"), [("CustomersFeatureGroup", CUSTOMERS), ("OrdersFeatureGroup", ORDERS)]
)
def test_feature_groups_equal_the_catalog(group_id, spec):
    props = TEMPLATE.resource(group_id)["Properties"]
    assert props["FeatureDefinitions"] == spec.feature_definitions()
    assert props["RecordIdentifierFeatureName"] == spec.record_identifier
    assert props["EventTimeFeatureName"] == spec.event_time_feature
    assert props["Description"] == spec.description
    assert props["OnlineStoreConfig"]["EnableOnlineStore"] is True
    assert "S3StorageConfig" in props["OfflineStoreConfig"]
    assert props["RoleArn"] == {"Fn::GetAtt": ["OfflineStoreRole", "Arn"]}


def test_generated_blocks_are_up_to_date():
    text = (ROOT / "template.yaml").read_text()
    assert render(text) == text


@pytest.mark.parametrize("function_id", sorted(FUNCTIONS))
def test_functions_env_and_event_source_mapping(function_id):
    group_id, stream_id, _spec = FUNCTIONS[function_id]
    function = TEMPLATE.function(function_id)
    assert function.runtime == "python3.13"
    assert function.code_uri == "functions/"
    stack = local_stack(TEMPLATE)
    env = TEMPLATE.resolve(function.environment, stack)
    group_name = TEMPLATE.resolve(
        TEMPLATE.resource(group_id)["Properties"]["FeatureGroupName"], stack
    )
    assert env["FEATURE_GROUP_NAME"] == group_name
    assert env["QUARANTINE_QUEUE_URL"].endswith("/featurestream-quarantine")
    for name in (
        "POWERTOOLS_SERVICE_NAME",
        "POWERTOOLS_METRICS_NAMESPACE",
        "POWERTOOLS_LOG_LEVEL",
        "PUT_CONCURRENCY",
        "STORE_MAX_ATTEMPTS",
    ):
        assert name in env
    module = function.handler.rsplit(".", 1)[0]
    assert (ROOT / "functions" / (module.replace(".", "/") + ".py")).exists()
    (event,) = function.events.values()
    assert event["Type"] == "Kinesis"
    props = event["Properties"]
    assert props["Stream"] == {"Fn::GetAtt": [stream_id, "Arn"]}
    assert props["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert props["BisectBatchOnFunctionError"] is True
    for key in (
        "BatchSize",
        "MaximumBatchingWindowInSeconds",
        "ParallelizationFactor",
        "MaximumRetryAttempts",
        "MaximumRecordAgeInSeconds",
    ):
        assert props[key] == {"Ref": key}
    params = TEMPLATE.parameter_defaults()
    assert 0 <= int(params["MaximumRetryAttempts"]) <= 100
    assert 60 <= int(params["MaximumRecordAgeInSeconds"]) <= 604800
    assert props["DestinationConfig"]["OnFailure"] == {
        "Type": "SQS",
        "Destination": {"Fn::GetAtt": ["FailureQueue", "Arn"]},
    }


@pytest.mark.parametrize("function_id", [*sorted(FUNCTIONS), "InferenceFunction"])
def test_cpu_bound_functions_get_a_full_vcpu(function_id):
    # Lambda gives CPU in proportion to memory, one vCPU at 1,769 MB: below it these
    # handlers, CPU-bound on one core, run at a fraction of the speed their benchmarks show
    assert TEMPLATE.function(function_id).memory_size >= 1769


def test_streams_are_encrypted_parameterised_and_keep_key_order():
    stack = local_stack(TEMPLATE)
    names = set()
    for stream_id in ("CustomerEventsStream", "OrderEventsStream"):
        props = TEMPLATE.resource(stream_id)["Properties"]
        assert props["StreamEncryption"]["EncryptionType"] == "KMS"
        assert props["RetentionPeriodHours"] == {"Ref": "StreamRetentionHours"}
        assert "RecordDistributionStrategy" not in str(props)
        resolved = TEMPLATE.resolve(props, stack)
        assert resolved["StreamModeDetails"] == {"StreamMode": "ON_DEMAND"}
        assert "ShardCount" not in resolved
        names.add(resolved["Name"])
        provisioned = TEMPLATE.resolve(
            props, TEMPLATE.stack(parameters={"StreamMode": "PROVISIONED", "ShardCount": 4})
        )
        assert provisioned["ShardCount"] == 4
    assert names == {"featurestream-customer-events", "featurestream-order-events"}


def test_queues_and_bucket_are_encrypted_and_private():
    for queue_id in TEMPLATE.resources_of_type("AWS::SQS::Queue"):
        props = TEMPLATE.resource(queue_id)["Properties"]
        assert props.get("SqsManagedSseEnabled") is True or props.get("KmsMasterKeyId")
    buckets = TEMPLATE.resources_of_type("AWS::S3::Bucket")
    assert set(buckets) == {"OfflineStoreBucket", "AthenaResultsBucket"}
    for bucket_id in buckets:
        bucket = TEMPLATE.resource(bucket_id)["Properties"]
        assert bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
        assert all(bucket["PublicAccessBlockConfiguration"].values())
    policies = TEMPLATE.resources_of_type("AWS::S3::BucketPolicy").values()
    assert {p["Properties"]["Bucket"]["Ref"] for p in policies} == set(buckets)
    for policy in policies:
        (deny,) = policy["Properties"]["PolicyDocument"]["Statement"]
        assert deny["Effect"] == "Deny"
        assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_athena_results_expire_and_the_workgroup_enforces_its_configuration():
    rules = TEMPLATE.resource("AthenaResultsBucket")["Properties"]["LifecycleConfiguration"]
    (rule,) = rules["Rules"]
    assert rule["Status"] == "Enabled"
    assert rule["ExpirationInDays"] == {"Ref": "AthenaResultsRetentionDays"}
    config = TEMPLATE.resource("OfflineWorkGroup")["Properties"]["WorkGroupConfiguration"]
    assert config["EnforceWorkGroupConfiguration"] is True
    assert config["ResultConfiguration"]["EncryptionConfiguration"]["EncryptionOption"]
    assert config["ResultConfiguration"]["OutputLocation"] == {
        "Fn::Sub": "s3://${AthenaResultsBucket}/results/"
    }


def test_the_offline_query_policy_is_least_privilege():
    """Athena on the one workgroup, Glue read on the two tables, S3 read of the offline
    prefix and write of the results prefix: no wildcard service actions, no ``*`` resource."""
    policy = TEMPLATE.resource("OfflineQueryPolicy")["Properties"]["PolicyDocument"]
    by_service: dict[str, set[str]] = {}
    for statement in policy["Statement"]:
        assert statement["Effect"] == "Allow"
        resources = as_list(statement["Resource"])
        assert "*" not in resources
        for action in as_list(statement["Action"]):
            service, _, verb = action.partition(":")
            assert "*" not in verb
            by_service.setdefault(service, set()).add(verb)
        if any(a.startswith("glue:") for a in as_list(statement["Action"])):
            tables = [r for r in resources if "table/" in str(r)]
            assert len(tables) == 3
    assert set(by_service) == {"athena", "glue", "s3"}
    assert all(v.startswith(("Get", "List")) for v in by_service["glue"])
    assert "PutObject" in by_service["s3"] and "DeleteObject" not in by_service["s3"]
    assert TEMPLATE.outputs["OfflineQueryPolicyArn"]["Value"] == {"Ref": "OfflineQueryPolicy"}
    stack = local_stack(TEMPLATE)
    glue = next(s for s in policy["Statement"] if s["Sid"] == "ReadTheOfflineTables")
    tables = {str(TEMPLATE.resolve(r, stack)).split(":table/")[-1] for r in glue["Resource"][2:]}
    assert tables == {
        "sagemaker_featurestore/featurestream_customers_*",
        "sagemaker_featurestore/featurestream_orders_*",
        "sagemaker_featurestore/featurestream_customer_order_stats_*",
    }


def test_create_table_as_is_allowed_only_in_the_analysis_database():
    """The analysis policy writes to the Glue catalog only in the stack's analysis database;
    the drift function, which attaches the query policy, gets no catalog writes."""
    policy = TEMPLATE.resource("OfflineAnalysisPolicy")["Properties"]["PolicyDocument"]
    stack = local_stack(TEMPLATE)
    database = stack.refs["AnalysisDatabase"]
    assert database == "featurestream_analysis"
    (statement,) = policy["Statement"]
    actions = set(as_list(statement["Action"]))
    assert {"glue:CreateTable", "glue:DeleteTable", "glue:BatchCreatePartition"} <= actions
    assert all(a.startswith("glue:") and "*" not in a for a in actions)
    resources = [str(TEMPLATE.resolve(r, stack)) for r in as_list(statement["Resource"])]
    assert [r.split(":glue:", 1)[1].split(":", 2)[2] for r in resources] == [
        "catalog",
        f"database/{database}",
        f"table/{database}/*",
    ]
    assert TEMPLATE.outputs["OfflineAnalysisPolicyArn"]["Value"] == {"Ref": "OfflineAnalysisPolicy"}
    drift = TEMPLATE.resource("DriftMonitorRole")["Properties"]
    assert {"Ref": "OfflineAnalysisPolicy"} not in drift.get("ManagedPolicyArns", [])
    writes = [
        a
        for s in statements("DriftMonitorRole")
        for a in as_list(s["Action"])
        if a.startswith("glue:") and not a.startswith("glue:Get")
    ]
    assert writes == []


@pytest.mark.parametrize(
    "role_id", ["CustomerFeaturesRole", "OrderFeaturesRole", "OfflineStoreRole", "DriftMonitorRole"]
)
def test_iam_is_scoped_to_resources(role_id):
    services = ("sagemaker", "sqs", "kinesis", "s3", "logs", "athena", "glue")
    for statement in statements(role_id):
        actions = as_list(statement["Action"])
        if any(a.split(":")[0] in services for a in actions):
            assert "*" not in as_list(statement["Resource"]), statement


def test_each_function_puts_only_to_its_own_group():
    stack = local_stack(TEMPLATE)
    for function_id, (group_id, _, _) in FUNCTIONS.items():
        role_id = TEMPLATE.function(function_id).properties["Role"]["Fn::GetAtt"][0]
        writes = [
            s
            for s in statements(role_id)
            if {"sagemaker:PutRecord", "sagemaker:BatchWriteRecord"} & set(as_list(s["Action"]))
        ]
        (put,) = writes
        assert as_list(put["Action"]) == ["sagemaker:BatchWriteRecord"]
        group_ids = [group_id, *WRITES_ALSO.get(function_id, ())]
        group_names = [
            TEMPLATE.resolve(TEMPLATE.resource(g)["Properties"]["FeatureGroupName"], stack)
            for g in group_ids
        ]
        resources = [TEMPLATE.resolve(r, stack) for r in as_list(put["Resource"])]
        assert sorted(r.rsplit(":feature-group/", 1)[1] for r in resources) == sorted(group_names)
        sqs = [s for s in statements(role_id) if "sqs:SendMessage" in as_list(s["Action"])]
        assert {r["Fn::GetAtt"][0] for s in sqs for r in as_list(s["Resource"])} == {
            "QuarantineQueue",
            "FailureQueue",
        }


def test_alarms_cover_iterator_age_errors_and_both_queues():
    alarms = TEMPLATE.resources_of_type("AWS::CloudWatch::Alarm").values()
    seen = {
        (a["Properties"]["MetricName"], str(a["Properties"]["Dimensions"][0]["Value"]))
        for a in alarms
        if "MetricName" in a["Properties"]  # not the metric-math (anomaly band) alarms
    }
    for function_id in FUNCTIONS:
        assert ("IteratorAge", str({"Ref": function_id})) in seen
        assert ("Errors", str({"Ref": function_id})) in seen
    for queue_id in ("FailureQueue", "QuarantineQueue"):
        assert (
            "ApproximateNumberOfMessagesVisible",
            str({"Fn::GetAtt": [queue_id, "QueueName"]}),
        ) in seen
    assert TEMPLATE.resource("AlarmTopic")["Condition"] == "HasAlarmEmail"


def test_outputs_name_everything_a_user_needs():
    outputs = set(TEMPLATE.outputs)
    for prefix in (
        "CustomerEventsStream",
        "OrderEventsStream",
        "CustomersFeatureGroup",
        "OrdersFeatureGroup",
        "CustomerFeaturesFunction",
        "OrderFeaturesFunction",
    ):
        assert {f"{prefix}Name", f"{prefix}Arn"} <= outputs
    assert {
        "QuarantineQueueUrl",
        "QuarantineQueueArn",
        "FailureQueueUrl",
        "FailureQueueArn",
        "OfflineStoreBucketName",
    } <= outputs


def test_reader_parses_short_tags_and_resolves_intrinsics():
    document = load_yaml(
        "A: !Ref P\nB: !Sub '${AWS::StackName}-${P}-${R.Arn}'\nC: !GetAtt R.Arn\n"
        "D: !If [IsQ, x, !Ref AWS::NoValue]\nE: [!Ref AWS::NoValue, 1]\n"
        "F: !Sub ['${x}!', {x: !Ref P}]\nG: !Join ['-', [a, !Ref P]]\n"
    )
    template = Template(
        {
            "Parameters": {"P": {"Default": "p"}},
            "Conditions": {"IsQ": {"Fn::Equals": [{"Ref": "P"}, "q"]}},
        }
    )
    stack = template.stack(name="s")
    stack.attributes[("R", "Arn")] = "arn:r"
    resolved = template.resolve(document, stack)
    assert resolved == {"A": "p", "B": "s-p-arn:r", "C": "arn:r", "E": [1], "F": "p!", "G": "a-p"}
    assert template.resolve({"Fn::If": ["IsQ", 1, 2]}, template.stack(parameters={"P": "q"})) == 1
    assert template.resolve({"Ref": "AWS::NoValue"}, stack) is NO_VALUE
    with pytest.raises(TemplateError):
        template.resolve({"Ref": "Unknown"}, stack)
    with pytest.raises(TemplateError):
        template.stack(parameters={"Nope": 1})


def test_reader_gives_plain_long_form_values():
    document = load_yaml(
        "A: !GetAtt [R, Arn]\nB: !Select [0, !Split [',', !Ref P]]\nC: !Condition IsQ\n"
        "D: !Foo {k: [1, !Ref X]}\n"
    )
    assert document == {
        "A": {"Fn::GetAtt": ["R", "Arn"]},
        "B": {"Fn::Select": [0, {"Fn::Split": [",", {"Ref": "P"}]}]},
        "C": {"Condition": "IsQ"},
        "D": {"Fn::Foo": {"k": [1, {"Ref": "X"}]}},
    }

    def kinds(value):
        if isinstance(value, dict):
            return {type(value)} | {t for item in value.values() for t in kinds(item)}
        if isinstance(value, list):
            return {type(value)} | {t for item in value for t in kinds(item)}
        return set()

    assert kinds(document) == {dict, list}
    with pytest.raises(TemplateError):
        load_yaml("- a list\n")


def test_unreadable_yaml_is_a_template_error_naming_file_and_line(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("Resources:\n  Secret: [s3cr3t-value\n")
    with pytest.raises(TemplateError) as caught:
        Template.load(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: line 3, column 1: ")
    assert "s3cr3t" not in message


def stream_groups() -> set[str]:
    """The groups the stream functions write, which monitoring covers: each stream's group,
    and the customer-order-stats aggregates the order function writes alongside orders."""
    from featurestream.contract.catalog import CUSTOMER_ORDER_STATS
    from featurestream.ingest.pipeline import CUSTOMER_STREAM, ORDER_STREAM

    return {
        CUSTOMER_STREAM.feature_group.name,
        ORDER_STREAM.feature_group.name,
        CUSTOMER_ORDER_STATS.name,
    }


def test_each_group_alarms_on_p99_pipeline_freshness_and_scaled_value_violations():

    alarms = TEMPLATE.resources_of_type("AWS::CloudWatch::Alarm").values()
    by_metric: dict[str, dict[str, dict]] = {}
    for alarm in alarms:
        props = alarm["Properties"]
        if props.get("Namespace") == "featurestream":
            dims = {d["Name"]: d["Value"] for d in props["Dimensions"]}
            by_metric.setdefault(props["MetricName"], {})[dims["FeatureGroup"]] = props
    groups = stream_groups()
    assert set(by_metric["PipelineFreshness"]) == groups
    assert set(by_metric["ScaledValueViolations"]) == groups
    for props in by_metric["PipelineFreshness"].values():
        assert props["ExtendedStatistic"] == "p99"
        assert props["Threshold"] == {"Ref": "FreshnessAlarmSeconds"}
    assert TEMPLATE.parameters["FreshnessAlarmSeconds"]["Default"] == 60


def test_the_drift_check_runs_on_a_schedule_and_alarms_per_group_and_on_the_mean():

    function = TEMPLATE.resource("DriftMonitorFunction")["Properties"]
    assert function["Handler"] == "handlers.drift_monitor.lambda_handler"
    schedule = function["Events"]["DriftSchedule"]
    assert schedule["Type"] == "Schedule"
    assert schedule["Properties"]["Schedule"] == {"Ref": "DriftSchedule"}
    assert TEMPLATE.parameters["DriftSchedule"]["Default"] == "rate(1 day)"
    groups = stream_groups()
    env = function["Environment"]["Variables"]
    assert {pair.split("=")[0] for pair in env["FEATURE_GROUPS"]["Fn::Sub"].split(",")} == groups
    alarms = TEMPLATE.resources_of_type("AWS::CloudWatch::Alarm").values()
    psi = {
        a["Properties"]["Dimensions"][0]["Value"]: a["Properties"]
        for a in alarms
        if a["Properties"].get("MetricName") == "MaxFeaturePSI"
    }
    assert set(psi) == groups
    assert all(p["Threshold"] == {"Ref": "DriftPsiThreshold"} for p in psi.values())
    assert TEMPLATE.parameters["DriftPsiThreshold"]["Default"] == 0.25
    band = TEMPLATE.resource("PurchaseAmountMeanAnomalyAlarm")["Properties"]
    assert band["ThresholdMetricId"] == "band"
    expressions = {m["Id"]: m for m in band["Metrics"]}
    assert expressions["band"]["Expression"] == "ANOMALY_DETECTION_BAND(mean, 2)"  # two sigma
    metric = expressions["mean"]["MetricStat"]["Metric"]
    assert metric["MetricName"] == "FeatureMean"
    assert {d["Name"]: d["Value"] for d in metric["Dimensions"]} == {
        "FeatureGroup": "orders",
        "Feature": "purchase_amount",
    }
