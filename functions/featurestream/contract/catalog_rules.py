"""Expected values of a feature: the data-quality rules the catalog declares per feature.

A rule describes what a *valid* record's value looks like when the fitted parameters are
current. A value breaking it is a violation, not an invalid event: the record is still
written, and the stream functions count the violation (:mod:`featurestream.monitoring.quality`).
A scaled value far outside [0, 1] means the parameters were fitted on data that no longer
covers today's values (docs/monitoring.md, the runbook).
"""

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class InRange:
    """A number within ``[low, high]``, widened on both sides by ``tolerance`` times the
    width. ``scaled``: a min-max scaled feature whose range is the fit's, so a violation
    means stale parameters (also counted as a scaled-value violation).

    Why a tolerance: day counts grow with time, so the oldest customer's tenure passes 1.0
    the day after the fit; 5 % of the fitted range (73 days of tenure) is the slack before
    that counts as stale, while the issue's 1.77 is far outside."""

    low: float
    high: float
    scaled: bool = False
    tolerance: float = 0.0

    @property
    def bounds(self) -> tuple[float, float]:
        """The accepted interval, tolerance included (``high`` may be ``math.inf``: open)."""
        slack = (self.high - self.low) * self.tolerance if self.tolerance else 0.0
        return self.low - slack, self.high + slack

    def describe(self) -> str:
        kind = "scaled value" if self.scaled else "value"
        slack = f" (± {self.tolerance:.0%} of the range)" if self.tolerance else ""
        return f"{kind} within [{self.low:g}, {self.high:g}]{slack}"


@dataclass(frozen=True, slots=True)
class OneOf:
    """A value from a fixed set (binary flags, label encodings)."""

    values: tuple[int | str, ...]

    def describe(self) -> str:
        return "one of " + ", ".join(str(v) for v in self.values)


@dataclass(frozen=True, slots=True)
class OneHot:
    """A member of a one-hot set: 0 or 1, and the set's members sum to exactly 1."""

    group: str

    def describe(self) -> str:
        return f"0 or 1; the {self.group} one-hot bins sum to 1"


@dataclass(frozen=True, slots=True)
class Identifier:
    """A non-empty identifier without surrounding whitespace, unique within the record
    (no other identifier feature of the record carries the same value)."""

    def describe(self) -> str:
        return "non-empty identifier, unique within the record"


Rule = InRange | OneOf | OneHot | Identifier
