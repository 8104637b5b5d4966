"""run_replay's pacing and chunking with a fake clock and client; progress output."""

import io
import json
from pathlib import Path

import pytest

from producers.progress import PlainProgress, ProgressDisplay, progress_for
from producers.publisher import EventPublisher
from producers.replay import ReplayOptions, run_replay
from producers.streams import StreamNames
from tests.unit.producers.support import RecordingClient, write_exports


class Clock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def replay(tmp_path: Path, client: RecordingClient, clock: Clock, **options) -> None:
    customers, orders = write_exports(tmp_path, customers=3, orders_per_customer=2)
    opts = ReplayOptions(
        customers=customers,
        orders=orders,
        streams=StreamNames("c", "o"),
        failed_file=tmp_path / "failed.jsonl",
        **options,
    )
    publisher = EventPublisher(
        opts.streams, client=client, flush_at_exit=False, buffer_records=10_000
    )
    summary = run_replay(opts, publisher=publisher, sleep=clock.sleep, clock=clock)
    assert summary.exit_code == 0 and summary.sent == 9


def test_speedup_waits_the_timeline_gaps_divided_by_n_and_sends_before_waiting(
    tmp_path: Path,
) -> None:
    client, clock = RecordingClient(), Clock()
    replay(tmp_path, client, clock, speedup=86_400)  # one day per second
    # registrations on Jan 1, 2, 3 2020, then orders from Jan 1 2021: waits are day gaps
    assert clock.sleeps[:2] == [1.0, 1.0]
    # 2020-01-01 10:00 (first registration) .. 2021-02-03 12:00 (last order), one s per day
    assert sum(clock.sleeps) == pytest.approx(366 + 31 + 2 + 2 / 24)
    # every wait of >= 0.1 s is preceded by a flush, so no event sits in the buffer
    assert len(client.calls) == 9


def test_rate_caps_events_per_second(tmp_path: Path) -> None:
    client, clock = RecordingClient(), Clock()
    replay(tmp_path, client, clock, rate=2)
    assert clock.now == 4.0  # 9 events at 2/s: the last one at t = 4 s


def test_unpaced_replay_sends_in_chunks(tmp_path: Path) -> None:
    client, clock = RecordingClient(), Clock()
    replay(tmp_path, client, clock, chunk_records=4)
    assert clock.sleeps == []
    sent = [json.loads(data)["event_id"] for _, data in client.accepted]
    assert sent[:3] == [
        "customer.registered:C1",
        "customer.registered:C2",
        "customer.registered:C3",
    ]


def test_plain_progress_prints_rate_and_eta_periodically() -> None:
    now = [0.0]
    out = io.StringIO()
    progress = PlainProgress("replay", 100, out, interval=5, clock=lambda: now[0])
    now[0] = 2.0
    progress.update(10)
    assert out.getvalue() == ""
    now[0] = 5.0
    progress.update(50)
    assert out.getvalue() == "replay: 50/100 events (50.0%), 10 events/s, ETA 5s\n"
    progress.close()
    assert out.getvalue().count("\n") == 2


def test_progress_is_plain_when_not_a_terminal() -> None:
    assert isinstance(progress_for("replay", 10, io.StringIO()), PlainProgress)


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_on_a_terminal_tasks_share_one_display_until_it_stops() -> None:
    out = Terminal()
    display = ProgressDisplay(out, eta=False)
    consume, replay = display.task("consume", 10), display.task("replay", 10)
    replay.update(10)
    consume.update(4)
    replay.close()
    consume.close()
    assert display._bars.live.is_started  # closing tasks leaves the display running
    display.stop()
    shown = out.getvalue()
    assert "replay" in shown and "10/10" in shown
    assert "consume" in shown and "4/10" in shown
    assert "events/s" in shown and "ETA" not in shown


def test_a_single_progress_on_a_terminal_stops_its_display_when_closed() -> None:
    out = Terminal()
    progress = progress_for("replay", 8, out)
    progress.update(8)
    progress.close()
    assert not progress._bars.live.is_started
    assert "replay" in out.getvalue() and "8/8" in out.getvalue()
    assert "ETA" in out.getvalue()


def test_failures_that_cannot_be_saved_are_named_and_the_checkpoint_stays(tmp_path: Path) -> None:
    """The failed-events file turns out unwritable mid-run (here: a folder, as a full disk
    would): the summary names the events not saved, and the checkpoint does not move past
    them, so a rerun sends them again."""
    customers, orders = write_exports(tmp_path, customers=3, orders_per_customer=2)
    unwritable = tmp_path / "failed"
    unwritable.mkdir()
    options = ReplayOptions(
        customers=customers,
        orders=orders,
        streams=StreamNames("c", "o"),
        failed_file=unwritable,
        checkpoint=tmp_path / "ckpt",
    )
    c2_fails = RecordingClient(
        lambda key, data, attempt: "InternalFailure" if key == "C2" else None
    )
    publisher = EventPublisher(
        options.streams, client=c2_fails, flush_at_exit=False, sleep=lambda seconds: None
    )
    summary = run_replay(options, publisher=publisher)
    assert summary.exit_code == 1
    assert summary.error is not None
    assert summary.error.startswith(f"{unwritable}: cannot write (Is a directory)")
    assert "failed and not saved: customer.registered:C2, order.placed:O" in summary.error
    assert not (tmp_path / "ckpt").exists()
    assert "written to" not in "\n".join(summary.lines())
