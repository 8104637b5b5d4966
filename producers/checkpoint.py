"""Resumable replays: the position in the (deterministic) timeline known to be delivered.

The position only moves after a flush returned, i.e. every earlier event was accepted by
Kinesis or written to the failed-events file, so a rerun after an interruption resends at
most the last unflushed chunk (at-least-once; event ids make duplicates harmless). The
file also records a fingerprint of the inputs, so a checkpoint is never applied to
different files or filters.
"""

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from producers.files import write_replacing

_VERSION = 1


class CheckpointError(ValueError):
    """The checkpoint file is unreadable or belongs to other inputs."""


def fingerprint(files: Sequence[Path], params: Mapping[str, str | None]) -> str:
    """SHA-256 over the input files' contents and the options that shape the timeline."""
    digest = hashlib.sha256()
    for path in files:
        digest.update(str(path.name).encode() + b"\0")
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        digest.update(b"\0")
    digest.update(json.dumps(dict(params), sort_keys=True).encode())
    return digest.hexdigest()


@dataclass
class Checkpoint:
    path: Path
    fingerprint: str
    position: int = 0

    @classmethod
    def open(cls, path: Path, expected_fingerprint: str) -> "Checkpoint":
        """The saved position for these inputs, or a fresh checkpoint if the file is absent."""
        if not path.exists():
            return cls(path, expected_fingerprint)
        try:
            saved = json.loads(path.read_text())
            position = int(saved["position"])
            saved_fingerprint = str(saved["fingerprint"])
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise CheckpointError(f"{path}: not a readable checkpoint ({error})") from error
        if saved_fingerprint != expected_fingerprint:
            raise CheckpointError(
                f"{path} was written for other input files or --only/--since/--until; "
                "delete it or pass another --checkpoint"
            )
        return cls(path, expected_fingerprint, position)

    def save(self, position: int) -> None:
        """Atomically record ``position`` (written to a temp file, then renamed); raises
        :class:`~producers.files.OutputError` if it cannot be written."""
        body = {"version": _VERSION, "fingerprint": self.fingerprint, "position": position}
        write_replacing(self.path, json.dumps(body) + "\n")
        self.position = position
