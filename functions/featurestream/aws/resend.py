"""Re-sending what a batch call left unfinished, with a pause before each re-send.

AWS batch calls (BatchWriteRecord, BatchGetRecord, PutRecords) can succeed as a whole and
still leave some entries unprocessed or failed; the caller re-sends only those, backing off
between rounds (docs/operations.md, "Re-sending unfinished entries"). botocore retries whole
failed calls by itself, never these. Each caller keeps what a round sends, what counts as
unfinished and its own pause; this module is the loop they share.
"""

from collections.abc import Callable, Sized
from typing import TypeVar

Unfinished = TypeVar("Unfinished", bound=Sized)


def resend_unfinished(
    send: Callable[[Unfinished], Unfinished],
    unfinished: Unfinished,
    *,
    rounds: int | None,
    pause: Callable[[int], float],
    sleep: Callable[[float], None],
) -> Unfinished:
    """Call ``send`` with what is unfinished until nothing is, or ``rounds`` calls were made
    (``None``: until nothing is; then ``send`` itself must give entries up). Before the
    n-th re-send (n = 1, 2, ...) sleeps ``pause(n)`` seconds. Returns what is still
    unfinished."""
    sent = 0
    while unfinished and (rounds is None or sent < rounds):
        if sent:
            sleep(pause(sent))
        unfinished = send(unfinished)
        sent += 1
    return unfinished
