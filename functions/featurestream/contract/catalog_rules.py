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
    """A number within ``[low, high]``. ``scaled``: a min-max scaled feature whose range is
    the fit's, so a violation means stale parameters (counted as a scaled-value violation)."""

    low: float
    high: float
    scaled: bool = False

    def describe(self) -> str:
        kind = "scaled value" if self.scaled else "value"
        return f"{kind} within [{self.low:g}, {self.high:g}]"


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
