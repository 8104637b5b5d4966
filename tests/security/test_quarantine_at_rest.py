"""Where raw payloads rest (docs/security.md): the quarantine queue keeps them to repair and
republish, so it is encrypted with a KMS key and keeps messages a bounded time; the streams
keep them encrypted for their retention."""

from pathlib import Path

from devstack.stack.template import Template, local_stack

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = Template.load(ROOT / "template.yaml")
FOUR_DAYS = 4 * 24 * 3600
FOURTEEN_DAYS = 14 * 24 * 3600  # SQS's longest MessageRetentionPeriod


def test_the_quarantine_queue_is_kms_encrypted():
    props = TEMPLATE.resource("QuarantineQueue")["Properties"]
    assert props["KmsMasterKeyId"] == "alias/aws/sqs"
    assert "SqsManagedSseEnabled" not in props  # SQS takes one kind of encryption


def test_the_quarantine_retention_is_a_bounded_parameter():
    props = TEMPLATE.resource("QuarantineQueue")["Properties"]
    assert props["MessageRetentionPeriod"] == {"Ref": "QuarantineRetentionSeconds"}
    parameter = TEMPLATE.parameters["QuarantineRetentionSeconds"]
    assert (parameter["Default"], parameter["MinValue"], parameter["MaxValue"]) == (
        FOUR_DAYS,
        60,
        FOURTEEN_DAYS,
    )
    resolved = TEMPLATE.resolve(props, local_stack(TEMPLATE))
    assert resolved["MessageRetentionPeriod"] == FOUR_DAYS


def test_the_streams_keep_payloads_encrypted_for_their_retention_only():
    for stream_id in ("CustomerEventsStream", "OrderEventsStream"):
        props = TEMPLATE.resource(stream_id)["Properties"]
        assert props["StreamEncryption"] == {"EncryptionType": "KMS", "KeyId": "alias/aws/kinesis"}
        assert props["RetentionPeriodHours"] == {"Ref": "StreamRetentionHours"}


def test_the_local_stack_provisions_the_quarantine_retention(
    moto_server, featurestore_emulator, athena_standin, unique_name, monkeypatch
):
    import boto3

    from devstack.stack.provision import provision

    for service in ("KINESIS", "SQS", "S3", "DYNAMODB", "GLUE"):
        monkeypatch.setenv(f"AWS_ENDPOINT_URL_{service}", moto_server)
    monkeypatch.setenv("AWS_ENDPOINT_URL_SAGEMAKER", featurestore_emulator)
    monkeypatch.setenv("AWS_ENDPOINT_URL_SAGEMAKER_FEATURESTORE_RUNTIME", featurestore_emulator)
    monkeypatch.setenv("AWS_ENDPOINT_URL_ATHENA", athena_standin)
    name = ("q" + unique_name[-8:]).lower()

    report = provision(TEMPLATE, stack_name=name, parameters={"QuarantineRetentionSeconds": 3600})

    assert report.ok, report.lines()
    sqs = boto3.client("sqs")
    url = sqs.get_queue_url(QueueName=f"{name}-quarantine")["QueueUrl"]
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["MessageRetentionPeriod"])
    assert attributes["Attributes"]["MessageRetentionPeriod"] == "3600"
