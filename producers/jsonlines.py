"""The one interchange format: an event's JSON per line. ``replay --dry-run`` writes it,
the failed-events file holds it, and ``featurestream publish`` reads it back."""

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import BinaryIO

from producers.publisher import DeliveryFailure


def append_failures(path: Path, failures: Iterable[DeliveryFailure]) -> int:
    """Append the failed events' JSON to ``path``; returns how many were written."""
    lines = [failure.event.data + b"\n" for failure in failures]
    if lines:
        with path.open("ab") as handle:
            handle.writelines(lines)
    return len(lines)


def read_lines(handle: BinaryIO) -> Iterator[tuple[int, bytes]]:
    """(line number, line) for every non-blank line."""
    for number, raw in enumerate(handle, start=1):
        line = raw.strip()
        if line:
            yield number, line
