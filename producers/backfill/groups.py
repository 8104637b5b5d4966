"""Checks before a backfill writes: each target group exists and its feature definitions are
the catalog's, so a wrong name or a stale deployment is one clear error, not 25 per call."""

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from featurestream.contract.catalog import FeatureGroupSpec
from featurestream.governance.catalog_checks import check_definitions


class GroupError(RuntimeError):
    """A target feature group is missing or does not match the catalog."""


def check_group(client: Any, name: str, spec: FeatureGroupSpec) -> None:
    """Raise :class:`GroupError` unless ``name`` exists with ``spec``'s definitions, record
    identifier and event-time feature (``client`` is a SageMaker control-plane client)."""
    try:
        described = client.describe_feature_group(FeatureGroupName=name)
    except ClientError as error:
        code = str(error.response.get("Error", {}).get("Code", "Unknown"))
        if code in ("ResourceNotFound", "ResourceNotFoundException"):
            raise GroupError(
                f"feature group {name} does not exist: deploy the stack (or provision the "
                f"local one), or name the {spec.name} group with --{spec.name}-group"
            ) from error
        raise GroupError(f"feature group {name}: cannot describe it ({code})") from error
    except BotoCoreError as error:
        raise GroupError(f"feature group {name}: cannot describe it ({error})") from error
    deployed = {
        d["FeatureName"]: d["FeatureType"] for d in described.get("FeatureDefinitions") or []
    }
    problems = [str(p) for p in check_definitions({spec.name: deployed}, "deployed", [spec])]
    for field, want in (
        ("RecordIdentifierFeatureName", spec.record_identifier),
        ("EventTimeFeatureName", spec.event_time_feature),
    ):
        if described.get(field) != want:
            problems.append(f"{spec.name}: {field} is not {want!r}")
    if problems:
        raise GroupError(
            f"feature group {name} does not match the catalog's {spec.name} group: "
            + "; ".join(problems)
        )
