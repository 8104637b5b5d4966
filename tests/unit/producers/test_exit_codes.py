"""The exit codes ``featurestream replay`` and ``publish`` end with, from their summaries."""

import pytest

from producers.encoding import encode_event
from producers.replay import ReplaySummary
from producers.republish import LinesSummary
from tests.unit.producers.support import order_event


@pytest.mark.parametrize("summary_type", [ReplaySummary, LinesSummary])
@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({}, 0),
        ({"failed": 2}, 1),
        ({"error": "stream not found"}, 1),
        ({"stopped_at": "line 3", "failed": 2}, 3),
        ({"interrupted": True, "stopped_at": "line 3", "failed": 2}, 130),
    ],
)
def test_an_interruption_outranks_bad_input_which_outranks_failures(summary_type, fields, code):
    summary = summary_type()
    for name, value in fields.items():
        setattr(summary, name, value)
    assert summary.exit_code == code


def test_publish_ends_failed_when_events_were_read_but_never_sent():
    summary = LinesSummary(unsent=[encode_event(order_event(1))])
    assert summary.exit_code == 1


def test_replay_ends_ok_when_bad_rows_were_only_skipped():
    assert ReplaySummary(bad_rows=4).exit_code == 0
