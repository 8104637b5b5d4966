"""Population stability index from bin counts, in plain Python (the drift Lambda has no
numpy); ``monitoring.drift`` uses the same function for the local reports."""

from collections.abc import Sequence
from math import log
from typing import Final

EMPTY_BIN_FLOOR: Final = 1e-4
"""Share given to a bin with no rows, so PSI stays finite (a common choice)."""


def shares(counts: Sequence[float]) -> list[float]:
    """Each bin's share of the total (all zeros for no rows)."""
    total = float(sum(counts))
    return [c / total if total else 0.0 for c in counts]


def psi(baseline_shares: Sequence[float], current_shares: Sequence[float]) -> float:
    """sum((current - baseline) * ln(current / baseline)) over the same bins."""
    if len(baseline_shares) != len(current_shares):
        raise ValueError("both windows must use the same bins")
    total = 0.0
    for base, cur in zip(baseline_shares, current_shares, strict=True):
        b, c = max(base, EMPTY_BIN_FLOOR), max(cur, EMPTY_BIN_FLOOR)
        total += (c - b) * log(c / b)
    return total
