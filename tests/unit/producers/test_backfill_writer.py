"""The backfill writer's calls: request shape (per-entry TargetStores, 25 at most), entries
re-sent when unprocessed or throttled, rejections kept, refusals of the whole call stop."""

import boto3
import pytest
from botocore.stub import Stubber

from producers.backfill.failures import load_failures, save_failures
from producers.backfill.writer import BatchWriter, EntryFailure, WriteStopped
from producers.sources import SourceFileError


def entry(customer: str, when: str = "2021-01-01T00:00:00.000Z", offline_only=False) -> dict:
    body = {
        "FeatureGroupName": "g",
        "Record": [
            {"FeatureName": "customer_id", "ValueAsString": customer},
            {"FeatureName": "event_time", "ValueAsString": when},
        ],
    }
    if offline_only:
        body["TargetStores"] = ["OfflineStore"]
    return body


def client():
    return boto3.client(
        "sagemaker-featurestore-runtime",
        region_name="us-east-1",
        aws_access_key_id="x",
        aws_secret_access_key="x",  # nosec B106  # stub, never sent
    )


def test_entries_of_one_record_share_a_call_and_outcomes_map_back_by_the_whole_entry():
    runtime = client()
    older = entry("C1", "2021-01-01T00:00:00.000Z", offline_only=True)
    newer = entry("C1", "2021-02-01T00:00:00.000Z")
    other = entry("C2")
    with Stubber(runtime) as stub:
        # the first round: the older C1 entry unprocessed, C2 throttled
        stub.add_response(
            "batch_write_record",
            {
                "Errors": [
                    {"Entry": other, "ErrorCode": "ThrottlingException", "ErrorMessage": "slow"}
                ],
                "UnprocessedEntries": [older],
            },
            {"Entries": [older, newer, other]},
        )
        # only those two go again, in their order
        stub.add_response(
            "batch_write_record",
            {"Errors": [], "UnprocessedEntries": []},
            {"Entries": [older, other]},
        )
        writer = BatchWriter(runtime, sleep=lambda s: None)
        assert writer.write([older, newer, other]) == []
        stub.assert_no_pending_responses()
    assert (writer.stats.calls, writer.stats.written, writer.stats.retried) == (2, 3, 2)


def test_a_rejected_entry_is_kept_with_its_code_and_the_budget_ends_retries():
    runtime = client()
    bad, slow = entry("C1"), entry("C2")
    throttled = {"Entry": slow, "ErrorCode": "ThrottlingException", "ErrorMessage": "x"}
    with Stubber(runtime) as stub:
        stub.add_response(
            "batch_write_record",
            {
                "Errors": [
                    {"Entry": bad, "ErrorCode": "ValidationError", "ErrorMessage": "bad feature"},
                    throttled,
                ],
                "UnprocessedEntries": [],
            },
            {"Entries": [bad, slow]},
        )
        for _ in range(2):
            stub.add_response(
                "batch_write_record",
                {"Errors": [throttled], "UnprocessedEntries": []},
                {"Entries": [slow]},
            )
        pauses: list[float] = []
        writer = BatchWriter(runtime, attempts=3, sleep=pauses.append)
        failures = writer.write([bad, slow])
        stub.assert_no_pending_responses()
    assert [(f.entry, f.code) for f in failures] == [
        (bad, "ValidationError"),
        (slow, "ThrottlingException"),
    ]
    assert len(pauses) == 2 and pauses[1] > pauses[0] * 0.5  # backoff grows (with jitter)
    assert writer.stats.failed == 2 and writer.stats.written == 0


def test_a_whole_call_refused_stops_the_run():
    runtime = client()
    with Stubber(runtime) as stub:
        stub.add_client_error(
            "batch_write_record", "AccessDeniedException", "no", http_status_code=403
        )
        with pytest.raises(WriteStopped, match="AccessDeniedException"):
            BatchWriter(runtime, sleep=lambda s: None).write([entry("C1")])


def test_a_whole_call_throttled_is_retried():
    runtime = client()
    with Stubber(runtime) as stub:
        stub.add_client_error(
            "batch_write_record", "ThrottlingException", "slow", http_status_code=400
        )
        stub.add_response("batch_write_record", {"Errors": [], "UnprocessedEntries": []})
        writer = BatchWriter(runtime, sleep=lambda s: None)
        assert writer.write([entry("C1")]) == []
    assert writer.stats.retried == 1


def test_calls_carry_one_to_twenty_five_entries():
    writer = BatchWriter(client())
    with pytest.raises(ValueError, match="1-25"):
        writer.write([entry(f"C{n}") for n in range(26)])


def test_the_failures_file_round_trips_and_an_empty_one_is_removed(tmp_path):
    path = tmp_path / "failed.jsonl"
    failures = [EntryFailure(entry("C1", offline_only=True), "ThrottlingException")]
    save_failures(path, failures)
    assert load_failures(path) == failures
    save_failures(path, [])
    assert not path.exists()
    assert load_failures(path) == []


@pytest.mark.parametrize(
    ("line", "where"),
    [
        ("{not json", "2: not JSON"),
        ('{"entry": {"Record": []}}', "2: entry.FeatureGroupName"),
        (
            '{"entry": {"FeatureGroupName": "g", "Record": [{"FeatureName": 1}]}}',
            "2: entry.Record[0]",
        ),
        (
            '{"entry": {"FeatureGroupName": "g", "Record": [{"FeatureName": "a", '
            '"ValueAsString": "SECRET"}], "TargetStores": ["Elsewhere"]}}',
            "2: entry.TargetStores",
        ),
    ],
)
def test_a_bad_failures_file_names_file_line_and_field_never_values(tmp_path, line, where):
    path = tmp_path / "failed.jsonl"
    save_failures(path, [EntryFailure(entry("C1"), "X")])
    with path.open("a") as handle:
        handle.write(line + "\n")
    with pytest.raises(SourceFileError) as raised:
        load_failures(path)
    assert str(raised.value).startswith(f"{path}:{where}")
    assert "SECRET" not in str(raised.value)
