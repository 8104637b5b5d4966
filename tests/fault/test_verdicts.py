"""The suite's judgements on their own: quarantine matching and the invariants of a row."""

import base64

from devstack.rigs.chaos.figures import Figures, table
from devstack.rigs.chaos.verify import check_quarantine
from devstack.rigs.chaos.workload import poison_pills


def _message(pill, reason: str | None = None, key: str | None = None) -> dict:
    return {
        "reason": reason or f"… {pill.reason} …",
        "partition_key": key or pill.partition_key,
        "payload_base64": base64.b64encode(pill.data).decode(),
        "payload_sha256": pill.sha256,
    }


def test_quarantine_check_matches_by_payload_and_flags_every_kind_of_miss() -> None:
    pills = poison_pills(["C1", "C2"])
    messages = [_message(p) for p in pills[2:]]
    messages.append(_message(pills[2]))  # the same pill again after a redelivery
    messages.append(_message(pills[0], reason="some other reason"))
    stranger = {"reason": "x", "partition_key": "C9", "payload_sha256": "0" * 64}
    verdict = check_quarantine([*messages, stranger], pills)
    assert verdict.matched == len(pills) - 2
    assert verdict.missing == [f"{pills[1].stream}/{pills[1].kind}"]
    assert verdict.wrong_reason and verdict.wrong_reason[0].startswith("customer/not-json")
    assert verdict.unexpected == 1 and verdict.repeats == 1


def test_a_row_fails_on_loss_double_application_misses_and_unexplained_on_failure() -> None:
    clean = Figures("ok", events=10, pills=2, quarantined=2)
    assert clean.problems() == []
    assert "FAILED" not in table([clean])
    broken = Figures(
        "bad", events=10, pills=2, quarantined=1, lost=1, double_applied=2, aggregates_wrong=4
    )
    broken.on_failure = 3
    broken.missed.append("the killed worker was running no invocation")
    problems = broken.problems()
    assert "lost=1" in problems and "double_applied=2" in problems
    assert "aggregates_wrong=4" in problems
    assert "quarantined 1 of 2 pills" in problems
    assert "on_failure=3 without a store outage" in problems
    assert any("fault not injected" in p for p in problems)
    assert "bad: FAILED:" in table([broken])
    outage = Figures("restart", on_failure=3, on_failure_allowed=True, redriven=3)
    assert outage.problems() == []
    outage.on_failure_left = 1
    assert outage.problems() == ["on_failure_left=1"]
