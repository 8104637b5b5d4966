"""The one interchange format: an event's JSON per line. ``replay --dry-run`` writes it,
the failed-events file holds it, and ``featurestream publish`` reads it back.

Lines are read at most ``max_bytes`` at a time, so one enormous line (a corrupt or hostile
file) is reported as too long instead of being held in memory whole.
"""

from collections.abc import Collection, Iterable, Iterator
from pathlib import Path
from typing import BinaryIO, Final, NamedTuple

from featurestream.contract.events import MAX_EVENT_BYTES
from producers.encoding import EncodedEvent
from producers.files import OutputError, describe_os_error

MAX_LINE_BYTES: Final = MAX_EVENT_BYTES + 1024
"""Longer lines cannot hold a valid event (events are capped at ``MAX_EVENT_BYTES``; the
margin covers whitespace around the JSON)."""
_COPY_CHUNK: Final = 1 << 16


class Line(NamedTuple):
    """One non-blank line: its number, its bytes (stripped), and whether it was cut short."""

    number: int
    data: bytes
    too_long: bool


def append_events(path: Path, events: Iterable[EncodedEvent]) -> int:
    """Append the events' JSON to ``path``, one per line; returns how many were written.

    Raises :class:`~producers.files.OutputError` (naming the path) if it cannot be written.
    """
    lines = [event.data + b"\n" for event in events]
    if lines:
        try:
            with path.open("ab") as handle:
                handle.writelines(lines)
        except OSError as error:
            raise OutputError(describe_os_error(path, error)) from error
    return len(lines)


def read_lines(handle: BinaryIO, max_bytes: int = MAX_LINE_BYTES) -> Iterator[Line]:
    """Every non-blank line; a line over ``max_bytes`` comes as its first ``max_bytes``
    with ``too_long`` set (the rest is skipped, never held in memory)."""
    number = 0
    while raw := handle.readline(max_bytes):
        number += 1
        too_long = len(raw) == max_bytes and not raw.endswith(b"\n")
        if too_long:
            _skip_rest_of_line(handle, max_bytes)
        line = raw.strip()
        if line:
            yield Line(number, line, too_long)


def _skip_rest_of_line(handle: BinaryIO, chunk: int) -> None:
    while (rest := handle.readline(chunk)) and not rest.endswith(b"\n"):
        pass


def copy_lines_except(source: BinaryIO, target: BinaryIO, drop: Collection[int]) -> int:
    """Copy ``source`` to ``target`` byte for byte, leaving out the lines numbered in
    ``drop`` (numbered as :func:`read_lines` numbers them); returns the lines kept that
    hold more than whitespace. Works in chunks, so a long line costs no memory."""
    number = 0
    kept = 0
    at_line_start = True
    blank = True
    while chunk := source.readline(_COPY_CHUNK):
        if at_line_start:
            number += 1
            blank = True
        at_line_start = chunk.endswith(b"\n")
        if number in drop:
            continue
        target.write(chunk)
        if blank and chunk.strip():
            blank = False
            kept += 1
    return kept
