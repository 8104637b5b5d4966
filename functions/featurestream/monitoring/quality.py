"""Per-feature violation counting against the catalog's rules (one checker per feature group).

Built once per container from the catalog; ``check`` runs for every written record, so the
rules are compiled into plain tuples and the common case (no violation) costs one comparison
per rule. Only feature *names* and counts leave this module, never values.
"""

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

from featurestream.contract.catalog import FeatureGroupSpec
from featurestream.contract.catalog_rules import Identifier, InRange, OneHot, OneOf

FeatureValue = int | float | str


@dataclass
class Violations:
    """Violation counts of one batch: per feature, and how many were scaled values."""

    per_feature: Counter[str] = field(default_factory=Counter)
    scaled: int = 0

    @property
    def total(self) -> int:
        return sum(self.per_feature.values())


class QualityChecker:
    """Checks records of one feature group against the rules declared in its catalog."""

    def __init__(self, group: FeatureGroupSpec) -> None:
        self.group = group
        ranges: list[tuple[str, float, float, bool]] = []
        choices: list[tuple[str, frozenset[int | str]]] = []
        one_hot: dict[str, list[str]] = {}
        identifiers: list[str] = []
        for feature in group.features:
            rule = feature.expect
            if isinstance(rule, InRange):
                ranges.append((feature.name, *rule.bounds, rule.scaled))
            elif isinstance(rule, OneOf):
                choices.append((feature.name, frozenset(rule.values)))
            elif isinstance(rule, OneHot):
                one_hot.setdefault(rule.group, []).append(feature.name)
            elif isinstance(rule, Identifier):
                identifiers.append(feature.name)
        self._ranges: Final = tuple(ranges)
        self._choices: Final = tuple(choices)
        self._one_hot: Final = tuple(tuple(names) for names in one_hot.values())
        self._identifiers: Final = tuple(identifiers)
        self._scaled: Final = frozenset(name for name, _, _, scaled in ranges if scaled)

    def violated(self, features: Mapping[str, FeatureValue]) -> tuple[str, ...]:
        """The features of one record that break their rule (a missing value does); ``()``
        for a clean record, so holding the answer per record allocates nothing.

        Runs for every record written: local names, exact type checks and the common case
        (every rule kept) first; the identifier rule takes the slow path only on a doubt."""
        get = features.get
        found: list[str] = []
        for name, low, high, _ in self._ranges:
            value = get(name)
            if value.__class__ not in _NUMBERS or not low <= value <= high:  # type: ignore[operator]
                found.append(name)
        for name, allowed in self._choices:
            if get(name) not in allowed:
                found.append(name)
        for names in self._one_hot:
            _check_one_hot(names, features, found)
        if self._identifiers:
            values = [get(name) for name in self._identifiers]
            if len(set(values)) != len(values) or not all(
                value.__class__ is str and value and value.strip() is value for value in values
            ):
                _check_identifiers(self._identifiers, values, found)
        return tuple(found) if found else ()

    def count(self, violated: tuple[str, ...], into: Violations) -> None:
        """Add one record's violated features to ``into``."""
        for name in violated:
            into.per_feature[name] += 1
            if name in self._scaled:
                into.scaled += 1

    def check(self, features: Mapping[str, FeatureValue], into: Violations) -> None:
        """Add ``features``' violations to ``into``."""
        self.count(self.violated(features), into)


_NUMBERS: Final = frozenset({int, float})


def _check_identifiers(
    names: tuple[str, ...], values: list[FeatureValue | None], found: list[str]
) -> None:
    """Which identifiers are empty, padded, not text, or repeat an earlier one."""
    seen: set[FeatureValue] = set()
    for name, value in zip(names, values, strict=True):
        if not isinstance(value, str) or not value or value != value.strip() or value in seen:
            found.append(name)
        seen.add(value if value is not None else "")


def _check_one_hot(
    names: tuple[str, ...], features: Mapping[str, FeatureValue], found: list[str]
) -> None:
    """A one-hot set holds 0s and exactly one 1; on a violation the bins that are set (or
    not 0/1) are blamed, or every bin when none is set."""
    values = [features.get(name) for name in names]
    if sum(1 for v in values if v == 1) == 1 and all(v in (0, 1) for v in values):
        return
    blamed = [name for name, value in zip(names, values, strict=True) if value != 0] or names
    found.extend(blamed)
