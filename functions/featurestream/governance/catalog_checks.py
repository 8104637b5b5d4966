"""Governance checks of the catalog: rules the Feature Store enforces only at deploy time.

Catching them in ``make test`` (and ``featurestream catalog check``) turns a failed stack
update or a half-applied catalog into a clear message that says what to do instead. Pure
functions over plain data: callers read the template or describe deployed groups.
"""

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Final, Literal

from featurestream.contract.catalog import (
    FEATURE_GROUP_NAME_PATTERN,
    FEATURE_GROUPS,
    FEATURE_NAME_PATTERN,
    RESERVED_FEATURE_NAMES,
    Feature,
    FeatureGroupSpec,
)

MAX_DESCRIPTION: Final = 255
MAX_GROUP_DESCRIPTION: Final = 128
MAX_PARAMETERS: Final = 25
MAX_PARAMETER_TEXT: Final = 255
_PARAMETER_PUNCTUATION: Final = frozenset("_.:/=+-")
RECORD_ID_TYPES: Final = ("String", "Integral")
EVENT_TIME_TYPES: Final = ("String", "Fractional")

Source = Literal["template", "deployed", "released"]
Definitions = Mapping[str, Mapping[str, str]]
"""Group name → feature name → FeatureType."""


@dataclass(frozen=True)
class Problem:
    """One rule a catalog change breaks; ``where`` is ``group`` or ``group/feature``."""

    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


def _parameter_text_ok(text: str) -> bool:
    """Feature Store's ``[\\p{L}\\p{Z}\\p{N}_.:/=+\\-]*``, 1-255 characters."""
    return 0 < len(text) <= MAX_PARAMETER_TEXT and all(
        c.isalnum() or c.isspace() or c in _PARAMETER_PUNCTUATION for c in text
    )


def check_catalog(groups: Sequence[FeatureGroupSpec] = FEATURE_GROUPS) -> list[Problem]:
    """Names, reserved names, keys, descriptions, owners and parameter limits."""
    problems: list[Problem] = []
    names = [spec.name for spec in groups]
    for spec in groups:
        if names.count(spec.name) > 1:
            problems.append(Problem(spec.name, "feature group declared twice"))
        problems += _check_group(spec)
        feature_names = [f.name for f in spec.features]
        for feature in spec.features:
            where = f"{spec.name}/{feature.name}"
            if feature_names.count(feature.name) > 1:
                problems.append(Problem(where, "feature declared twice in the group"))
            problems += [Problem(where, message) for message in _feature_messages(feature)]
    return problems


def _check_group(spec: FeatureGroupSpec) -> list[Problem]:
    problems = []
    if not re.fullmatch(FEATURE_GROUP_NAME_PATTERN, spec.name):
        problems.append(
            Problem(spec.name, f"invalid group name (pattern {FEATURE_GROUP_NAME_PATTERN})")
        )
    if not spec.description.strip() or len(spec.description) > MAX_GROUP_DESCRIPTION:
        problems.append(
            Problem(spec.name, f"group description must be 1-{MAX_GROUP_DESCRIPTION} chars")
        )
    types = {f.name: f.type for f in spec.features}
    for key, allowed, label in (
        (spec.record_identifier, RECORD_ID_TYPES, "record identifier"),
        (spec.event_time_feature, EVENT_TIME_TYPES, "event-time feature"),
    ):
        if key not in types:
            problems.append(Problem(spec.name, f"{label} {key!r} is not a feature"))
        elif types[key] not in allowed:
            problems.append(
                Problem(f"{spec.name}/{key}", f"{label} must be {' or '.join(allowed)}")
            )
    return problems


def _feature_messages(feature: Feature) -> Iterator[str]:
    if feature.name in RESERVED_FEATURE_NAMES:
        yield "reserved name (the offline store adds this column); choose another"
    if not re.fullmatch(FEATURE_NAME_PATTERN, feature.name):
        yield (
            "invalid feature name: 1-64 letters/digits, '-' or '_' only between them "
            f"(pattern {FEATURE_NAME_PATTERN})"
        )
    if not feature.description.strip():
        yield "missing description"
    elif len(feature.description) > MAX_DESCRIPTION:
        yield f"description longer than {MAX_DESCRIPTION} characters"
    if not feature.owner.strip():
        yield "missing owner"
    parameters = feature.metadata_parameters()
    if len(parameters) > MAX_PARAMETERS:
        yield f"{len(parameters)} parameters (owner included), at most {MAX_PARAMETERS}"
    for key, value in parameters.items():
        if not _parameter_text_ok(key) or not _parameter_text_ok(value):
            yield (
                f"parameter {key!r}={value!r}: key and value must be 1-255 letters, digits, "
                "spaces or _.:/=+-"
            )


_MISSING_HINT: Final[Mapping[Source, str]] = {
    "template": "run `featurestream template --write`",
    "deployed": "deploy the stack (or provision the local stack) to add it",
    "released": "",
}


def check_definitions(
    definitions: Definitions,
    source: Source,
    groups: Sequence[FeatureGroupSpec] = FEATURE_GROUPS,
) -> list[Problem]:
    """Compare the catalog with feature definitions from the template or a deployment.

    A feature the catalog lacks and a type change are errors everywhere: Feature Store can
    neither remove a feature from a group nor change its type. A feature only the catalog
    has is new: fine against ``released`` definitions, an error against the others.
    """
    problems: list[Problem] = []
    for spec in groups:
        deployed = definitions.get(spec.name)
        if deployed is None:
            if source != "released":
                problems.append(Problem(spec.name, f"feature group not in the {source} stack"))
            continue
        catalog = {f.name: f.type for f in spec.features}
        for name, feature_type in catalog.items():
            where = f"{spec.name}/{name}"
            if name not in deployed:
                if source != "released":
                    problems.append(
                        Problem(
                            where,
                            f"in the catalog but not in the {source} definitions; "
                            f"{_MISSING_HINT[source]}",
                        )
                    )
            elif deployed[name] != feature_type:
                problems.append(
                    Problem(
                        where,
                        f"type changed from {deployed[name]} ({source}) to {feature_type} "
                        "(catalog). Feature Store cannot change a feature's type: keep "
                        f"{name!r} as {deployed[name]} and add a feature with a new name "
                        f"(e.g. {name}_v2) of type {feature_type}, or create a new feature group",
                    )
                )
        for name in deployed:
            if name not in catalog:
                problems.append(
                    Problem(
                        f"{spec.name}/{name}",
                        f"in the {source} definitions but not in the catalog. Features cannot be "
                        "removed from a feature group: keep it in the catalog (say it is "
                        "deprecated in its description), or create a new feature group",
                    )
                )
    return problems


def definitions_of(
    groups: Iterable[FeatureGroupSpec] = FEATURE_GROUPS,
) -> dict[str, dict[str, str]]:
    """The catalog's own definitions, in the shape :func:`check_definitions` compares."""
    return {spec.name: {f.name: f.type for f in spec.features} for spec in groups}
