"""The loop that re-sends what a batch call left unfinished (store writes, online reads,
PutRecords)."""

from featurestream.aws.resend import resend_unfinished


def test_it_resends_only_the_unfinished_until_none_is_left_pausing_before_each_resend():
    sent: list[list[str]] = []
    sleeps: list[float] = []
    answers = iter([["b", "c"], ["c"], []])

    def send(unfinished: list[str]) -> list[str]:
        sent.append(unfinished)
        return next(answers)

    left = resend_unfinished(
        send, ["a", "b", "c"], rounds=5, pause=lambda n: n / 10, sleep=sleeps.append
    )
    assert left == []
    assert sent == [["a", "b", "c"], ["b", "c"], ["c"]]
    assert sleeps == [0.1, 0.2]


def test_it_stops_after_the_rounds_and_returns_what_is_still_unfinished():
    sleeps: list[float] = []
    left = resend_unfinished(
        lambda unfinished: unfinished[1:] or unfinished,
        ["a", "b", "c", "d"],
        rounds=2,
        pause=lambda n: 1.0,
        sleep=sleeps.append,
    )
    assert left == ["c", "d"]
    assert sleeps == [1.0]


def test_without_a_round_limit_it_goes_on_until_send_finishes_everything():
    left = resend_unfinished(
        lambda unfinished: unfinished[1:],
        list(range(20)),
        rounds=None,
        pause=float,
        sleep=lambda _: None,
    )
    assert left == []


def test_nothing_unfinished_means_no_call():
    calls: list[object] = []
    assert resend_unfinished(calls.append, [], rounds=3, pause=float, sleep=lambda _: None) == []
    assert calls == []
