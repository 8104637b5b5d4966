"""Exit codes of the producer commands (``featurestream replay`` and ``publish``), in one place."""

from typing import Final

EXIT_OK: Final = 0
"""Every selected event was sent (or, with --dry-run, written); skipped bad rows are
reported but do not change the code."""
EXIT_FAILED: Final = 1
"""Some events could not be sent (see the failed-events file), or a stream, endpoint,
credentials or checkpoint problem stopped the run."""
EXIT_USAGE: Final = 2
"""Bad options or an unreadable input file/column (click's usage-error code)."""
EXIT_BAD_INPUT: Final = 3
"""A bad row with ``--on-error fail``; nothing was sent."""
EXIT_INTERRUPTED: Final = 130
"""Ctrl-C: buffered events were flushed, the checkpoint saved, the summary printed."""


def exit_code_for(*, interrupted: bool, bad_input: bool, failed: bool) -> int:
    """The code a run ends with; an interruption outranks bad input, which outranks failures."""
    if interrupted:
        return EXIT_INTERRUPTED
    if bad_input:
        return EXIT_BAD_INPUT
    if failed:
        return EXIT_FAILED
    return EXIT_OK


class RunOutcome:
    """The ``exit_code`` of a run summary (``replay``, ``publish``), from its fields:
    ``interrupted``, ``stopped_at`` (the bad input that stopped it, or ``None``), ``error``
    and ``failed``. A summary whose run can also end with events unsent overrides
    :meth:`undelivered`."""

    interrupted: bool
    stopped_at: object
    error: str | None
    failed: int

    def undelivered(self) -> bool:
        """Whether some events did not reach the stream."""
        return self.failed > 0

    @property
    def exit_code(self) -> int:
        return exit_code_for(
            interrupted=self.interrupted,
            bad_input=self.stopped_at is not None,
            failed=self.error is not None or self.undelivered(),
        )
