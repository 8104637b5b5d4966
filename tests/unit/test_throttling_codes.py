"""Every client in the repo treats the same throttling codes as "retry later": the stream
Lambdas' store writes, the inference API's dependency errors and the Kinesis publisher."""

import random

import pytest
from botocore.exceptions import ClientError

from featurestream.aws.store_errors import StoreRejected, TransientStoreError, classify
from featurestream.serving.errors import dependency_error
from producers.publisher import EventPublisher, PublishError
from producers.streams import StreamNames
from tests.unit.producers.support import order_event

THROTTLING = [
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "TooManyRequestsException",
    "RequestThrottled",
    "RequestLimitExceeded",
    "ProvisionedThroughputExceededException",
    "LimitExceededException",
    "KMSThrottlingException",
]


def client_error(code: str, operation: str) -> ClientError:
    return ClientError(
        {"Error": {"Code": code, "Message": "m"}, "ResponseMetadata": {"HTTPStatusCode": 400}},
        operation,
    )


@pytest.mark.parametrize("code", THROTTLING)
def test_a_store_write_throttled_is_transient(code: str) -> None:
    assert isinstance(classify(client_error(code, "PutRecord")), TransientStoreError)


@pytest.mark.parametrize("code", THROTTLING)
def test_a_throttled_dependency_is_a_503(code: str) -> None:
    answer = dependency_error("FeatureStore", client_error(code, "BatchGetRecord"))
    assert (answer.status, answer.code) == (503, "FeatureStoreThrottled")


@pytest.mark.parametrize("code", THROTTLING)
def test_a_throttled_put_records_call_is_resent(code: str) -> None:
    calls: list[int] = []

    class ThrottledOnce:
        def put_records(self, **kwargs):
            calls.append(len(kwargs["Records"]))
            if len(calls) == 1:
                raise client_error(code, "PutRecords")
            return {"FailedRecordCount": 0, "Records": [{"SequenceNumber": "1"}]}

    publisher = EventPublisher(
        StreamNames("c", "o"),
        client=ThrottledOnce(),
        flush_at_exit=False,
        sleep=lambda _: None,
        rng=random.Random(1),
    )
    assert publisher.publish([order_event(1)]) == []
    assert calls == [1, 1]


def test_a_code_that_is_not_throttling_is_not_retried_by_any_of_them() -> None:
    refused = client_error("AccessDeniedException", "PutRecords")
    assert isinstance(classify(refused), StoreRejected)
    assert dependency_error("FeatureStore", refused).status == 502

    class Denied:
        def put_records(self, **kwargs):
            raise refused

    publisher = EventPublisher(StreamNames("c", "o"), client=Denied(), flush_at_exit=False)
    publisher.put(order_event(1))
    with pytest.raises(PublishError):
        publisher.flush()
