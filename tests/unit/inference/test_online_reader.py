"""BatchGetRecord request shapes: one call for both groups, within the limits; unprocessed
identifiers re-sent exactly; per-item errors kept."""

import pytest

from featurestream.api_errors import ApiError
from featurestream.serving import OnlineReader

ARN = "arn:aws:sagemaker:us-east-1:123456789012:feature-group/"


class ScriptedStore:
    def __init__(self, *responses):
        self.responses = list(responses)
        self.calls = []

    def batch_get_record(self, **kwargs):
        self.calls.append(kwargs["Identifiers"])
        return self.responses.pop(0)


def record(group, rid):
    return {
        "FeatureGroupName": group,
        "RecordIdentifierValueAsString": rid,
        "Record": [{"FeatureName": "customer_id", "ValueAsString": rid}],
    }


def test_each_call_asks_both_groups_for_at_most_100_records():
    ids = [f"C{n}" for n in range(1, 101)]
    empty = {"Records": [], "Errors": [], "UnprocessedIdentifiers": []}
    store = ScriptedStore(empty, empty)
    OnlineReader(store, {"customers": "c", "orders": "o"}).fetch(ids)
    assert len(store.calls) == 2
    for call in store.calls:
        assert [i["FeatureGroupName"] for i in call] == ["c", "o"]
        assert sum(len(i["RecordIdentifiersValueAsString"]) for i in call) == 100
    assert store.calls[0][0]["RecordIdentifiersValueAsString"] == ids[:50]


def test_unprocessed_identifiers_are_resent_as_returned_with_backoff():
    unprocessed = [{"FeatureGroupName": "o", "RecordIdentifiersValueAsString": ["C2"]}]
    store = ScriptedStore(
        {
            "Records": [record("c", "C1"), record("c", "C2"), record("o", "C1")],
            "Errors": [],
            "UnprocessedIdentifiers": unprocessed,
        },
        {"Records": [record(ARN + "o", "C2")], "Errors": [], "UnprocessedIdentifiers": []},
    )
    sleeps = []
    reader = OnlineReader(store, {"customers": "c", "orders": "o"}, sleep=sleeps.append)
    fetched = reader.fetch(["C1", "C2"])
    assert store.calls[1] == unprocessed
    assert sleeps == [0.02]
    assert sorted(fetched.records["orders"]) == ["C1", "C2"]  # the ARN echo maps back too
    assert fetched.calls == 2


def test_still_unprocessed_after_the_last_attempt_is_a_503():
    stuck = {
        "Records": [],
        "Errors": [],
        "UnprocessedIdentifiers": [
            {"FeatureGroupName": "c", "RecordIdentifiersValueAsString": ["C1"]}
        ],
    }
    store = ScriptedStore(stuck, stuck, stuck)
    reader = OnlineReader(
        store, {"customers": "c", "orders": "o"}, max_attempts=3, sleep=lambda s: None
    )
    with pytest.raises(ApiError) as caught:
        reader.fetch(["C1"])
    assert (caught.value.status, caught.value.code) == (503, "FeatureStoreUnprocessed")
    assert len(store.calls) == 3


def test_per_item_errors_are_kept_per_customer_and_group():
    store = ScriptedStore(
        {
            "Records": [record("c", "C1")],
            "Errors": [
                {
                    "FeatureGroupName": "o",
                    "RecordIdentifierValueAsString": "C1",
                    "ErrorCode": "InternalFailure",
                    "ErrorMessage": "boom",
                }
            ],
            "UnprocessedIdentifiers": [],
        }
    )
    fetched = OnlineReader(store, {"customers": "c", "orders": "o"}).fetch(["C1"])
    [error] = fetched.errors_for("C1")
    assert (error.group, error.code, error.message) == ("orders", "InternalFailure", "boom")


def test_records_of_groups_not_asked_for_are_ignored_by_name_or_arn():
    answer = {
        "Records": [record(g, "C1") for g in ("c", ARN + "c", "x", ARN + "x", ARN + "o")] * 2,
        "Errors": [],
        "UnprocessedIdentifiers": [],
    }
    fetched = OnlineReader(ScriptedStore(answer), {"customers": "c", "orders": "o"}).fetch(["C1"])
    assert fetched.records == {
        "customers": {"C1": {"customer_id": "C1"}},
        "orders": {"C1": {"customer_id": "C1"}},
    }
