"""Converge deployed feature metadata to the catalog with ``UpdateFeatureMetadata``.

CloudFormation's FeatureGroup cannot carry per-feature descriptions and parameters, so the
custom resource (``handlers.feature_metadata``), the local-stack provisioning and
``featurestream catalog apply`` all call :func:`apply_catalog_metadata`. It reads what is
deployed, computes the difference with the catalog and sends only the calls needed:
nothing when the metadata already equals the catalog, otherwise one call per feature (more
only when more than 25 parameters are added or removed at once — the API's limit per call).
UpdateFeatureMetadata is a patch, so a description left out is kept (docs/features.md).

Lean on purpose: imported by a Lambda, so only the standard library and the catalog.
"""

import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Protocol

from featurestream.contract.catalog import FEATURE_GROUPS, Feature, FeatureGroupSpec

MAX_PARAMETER_CHANGES: Final = 25
"""ParameterAdditions and ParameterRemovals each take at most 25 entries per call."""


class SageMakerMetadataClient(Protocol):
    """The three sagemaker control-plane calls this module needs (boto3 client)."""

    def describe_feature_group(self, **kwargs: Any) -> Any: ...
    def describe_feature_metadata(self, **kwargs: Any) -> Any: ...
    def update_feature_metadata(self, **kwargs: Any) -> Any: ...


class CatalogMismatch(RuntimeError):
    """The deployed group's definitions differ from the catalog; metadata cannot converge.

    Raised before any update, so a half-applied catalog never results from it.
    """


@dataclass(frozen=True)
class DesiredMetadata:
    """What one feature's metadata should be."""

    description: str
    parameters: Mapping[str, str]

    @classmethod
    def of(cls, feature: Feature) -> "DesiredMetadata":
        return cls(feature.description, feature.metadata_parameters())


@dataclass(frozen=True)
class FeatureChange:
    """The difference for one feature and the UpdateFeatureMetadata requests that close it."""

    group_name: str
    feature_name: str
    description: str | None
    """The new description, or None when the deployed one is already right."""
    additions: Mapping[str, str]
    """Parameters to add or overwrite (new keys and changed values)."""
    removals: tuple[str, ...]

    @property
    def changed(self) -> bool:
        return self.description is not None or bool(self.additions) or bool(self.removals)

    def requests(self) -> list[dict[str, Any]]:
        """Keyword arguments of each call, removals first (so 25-parameter features fit)."""
        if not self.changed:
            return []
        added = [{"Key": k, "Value": v} for k, v in self.additions.items()]
        calls = max(_chunks_needed(len(added)), _chunks_needed(len(self.removals)), 1)
        requests: list[dict[str, Any]] = []
        for index in range(calls):
            start, stop = index * MAX_PARAMETER_CHANGES, (index + 1) * MAX_PARAMETER_CHANGES
            request: dict[str, Any] = {
                "FeatureGroupName": self.group_name,
                "FeatureName": self.feature_name,
            }
            if index == 0 and self.description is not None:
                request["Description"] = self.description
            if self.removals[start:stop]:
                request["ParameterRemovals"] = list(self.removals[start:stop])
            if added[start:stop]:
                request["ParameterAdditions"] = added[start:stop]
            requests.append(request)
        return requests


def _chunks_needed(count: int) -> int:
    return -(-count // MAX_PARAMETER_CHANGES)


def diff_feature(
    group_name: str, feature_name: str, desired: DesiredMetadata, deployed: Mapping[str, Any]
) -> FeatureChange:
    """Compare a DescribeFeatureMetadata response with the catalog's metadata."""
    current_params = {p["Key"]: p["Value"] for p in deployed.get("Parameters") or []}
    description = (
        desired.description if deployed.get("Description", "") != desired.description else None
    )
    additions = {k: v for k, v in desired.parameters.items() if current_params.get(k) != v}
    removals = tuple(k for k in current_params if k not in desired.parameters)
    return FeatureChange(group_name, feature_name, description, additions, removals)


@dataclass
class GroupReport:
    """What :func:`apply_catalog_metadata` did to one feature group."""

    logical_name: str
    group_name: str
    changes: list[FeatureChange] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    uncatalogued: list[str] = field(default_factory=list)
    """Deployed features the catalog does not declare (features cannot be removed)."""
    calls: int = 0


@dataclass
class ApplyReport:
    """Per-group outcome of one apply; ``dry_run`` reports planned calls without sending."""

    groups: list[GroupReport] = field(default_factory=list)
    dry_run: bool = False

    @property
    def calls(self) -> int:
        return sum(g.calls for g in self.groups)

    @property
    def changed_features(self) -> int:
        return sum(len(g.changes) for g in self.groups)

    @property
    def unchanged_features(self) -> int:
        return sum(len(g.unchanged) for g in self.groups)

    def summary(self) -> str:
        verb = "would send" if self.dry_run else "sent"
        return (
            f"{self.changed_features} feature(s) changed, {self.unchanged_features} already "
            f"matched the catalog; {verb} {self.calls} UpdateFeatureMetadata call(s)"
        )

    def lines(self) -> Iterator[str]:
        """Human-readable detail, one line per changed feature."""
        for group in self.groups:
            for change in group.changes:
                parts = []
                if change.description is not None:
                    parts.append("description")
                if change.additions:
                    parts.append("+" + ",".join(sorted(change.additions)))
                if change.removals:
                    parts.append("-" + ",".join(sorted(change.removals)))
                yield f"{group.group_name}/{change.feature_name}: {' '.join(parts)}"
            for name in group.uncatalogued:
                yield f"{group.group_name}/{name}: deployed but not in the catalog (left as is)"


def deployed_definitions(client: SageMakerMetadataClient, group_name: str) -> dict[str, str]:
    """Feature name → type of a deployed group (DescribeFeatureGroup pages via NextToken)."""
    types: dict[str, str] = {}
    kwargs: dict[str, Any] = {"FeatureGroupName": group_name}
    while True:
        response = client.describe_feature_group(**kwargs)
        for definition in response.get("FeatureDefinitions") or []:
            types[definition["FeatureName"]] = definition["FeatureType"]
        token = response.get("NextToken")
        if not token:
            return types
        kwargs["NextToken"] = token


def definition_problems(spec: FeatureGroupSpec, deployed: Mapping[str, str]) -> list[str]:
    """Why a deployed group cannot take the catalog's metadata (empty when it can)."""
    problems = []
    for feature in spec.features:
        deployed_type = deployed.get(feature.name)
        if deployed_type is None:
            problems.append(
                f"{spec.name}: feature {feature.name!r} is in the catalog but not deployed; "
                "deploy the template (it adds the feature) before applying metadata"
            )
        elif deployed_type != feature.type:
            problems.append(
                f"{spec.name}: feature {feature.name!r} is deployed as {deployed_type} but the "
                f"catalog says {feature.type}; Feature Store cannot change a type — keep the "
                "old feature and add one with a new name, or create a new feature group"
            )
    return problems


def apply_catalog_metadata(
    sagemaker_client: SageMakerMetadataClient,
    group_names: Mapping[str, str],
    *,
    groups: Sequence[FeatureGroupSpec] = FEATURE_GROUPS,
    dry_run: bool = False,
) -> ApplyReport:
    """Make every catalogued feature's deployed description and parameters equal the catalog.

    ``group_names`` maps a catalog group name (``customers``) to its deployed name
    (``featurestream-customers``); groups not in it are skipped, unknown names raise
    KeyError. Idempotent: a second run sends no call. Every group's definitions are checked
    first; :class:`CatalogMismatch` is raised before any update when a catalogued feature is
    missing or has another type. Service errors (botocore ``ClientError``) propagate.
    """
    specs = {spec.name: spec for spec in groups}
    unknown = sorted(set(group_names) - set(specs))
    if unknown:
        raise KeyError(f"not catalogued feature group(s): {', '.join(unknown)}")
    selected = [(specs[name], group_names[name]) for name in specs if name in group_names]
    report = ApplyReport(dry_run=dry_run)
    problems: list[str] = []
    for spec, deployed_name in selected:
        deployed = deployed_definitions(sagemaker_client, deployed_name)
        problems.extend(definition_problems(spec, deployed))
        report.groups.append(
            GroupReport(
                spec.name,
                deployed_name,
                uncatalogued=[name for name in deployed if name not in spec.feature_names],
            )
        )
    if problems:
        raise CatalogMismatch("; ".join(problems))
    for (spec, deployed_name), group_report in zip(selected, report.groups, strict=True):
        for feature in spec.features:
            current = sagemaker_client.describe_feature_metadata(
                FeatureGroupName=deployed_name, FeatureName=feature.name
            )
            change = diff_feature(deployed_name, feature.name, DesiredMetadata.of(feature), current)
            if not change.changed:
                group_report.unchanged.append(feature.name)
                continue
            group_report.changes.append(change)
            for request in change.requests():
                if not dry_run:
                    sagemaker_client.update_feature_metadata(**request)
                group_report.calls += 1
    return report


def catalog_document(groups: Iterable[FeatureGroupSpec] = FEATURE_GROUPS) -> dict[str, Any]:
    """Everything the deployed metadata depends on, as plain JSON-able data."""
    return {
        spec.name: {
            "description": spec.description,
            "features": [
                {
                    "name": f.name,
                    "type": f.type,
                    "description": f.description,
                    "parameters": f.metadata_parameters(),
                }
                for f in spec.features
            ],
        }
        for spec in groups
    }


def catalog_hash(groups: Iterable[FeatureGroupSpec] = FEATURE_GROUPS) -> str:
    """A short, stable digest of the catalog; the custom resource re-runs when it changes."""
    canonical = json.dumps(catalog_document(groups), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]
