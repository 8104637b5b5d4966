"""Helpers for the backfill tests: catalog groups, online and offline state of a group."""

from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from featurestream.contract.catalog import FEATURE_GROUPS

REPO = Path(__file__).resolve().parents[3]
OFFLINE_ADDED = {"write_time", "api_invocation_time", "is_deleted"}


def create_catalog_groups(sm: Any, prefix: str) -> dict[str, str]:
    """Both catalog groups under ``prefix`` (online and offline store); kind -> name."""
    names = {}
    for spec in FEATURE_GROUPS:
        name = f"{prefix}-{spec.name}"[-64:].lstrip("-_")
        sm.create_feature_group(
            FeatureGroupName=name,
            RecordIdentifierFeatureName=spec.record_identifier,
            EventTimeFeatureName=spec.event_time_feature,
            FeatureDefinitions=spec.feature_definitions(),
            OnlineStoreConfig={"EnableOnlineStore": True},
            OfflineStoreConfig={"S3StorageConfig": {"S3Uri": "s3://offline-bucket/fs"}},
            RoleArn="arn:aws:iam::123456789012:role/featurestore",
        )
        names[spec.name] = name
    return names


def online_state(rt: Any, group: str, ids: set[str]) -> dict[str, dict[str, str]]:
    """Every id's online record (feature -> value); ids without one are left out."""
    state = {}
    for record_id in sorted(ids):
        got = rt.get_record(FeatureGroupName=group, RecordIdentifierValueAsString=record_id)
        if got.get("Record"):
            state[record_id] = {f["FeatureName"]: f["ValueAsString"] for f in got["Record"]}
    return state


def offline_rows(offline_dir: Path, group: str) -> list[dict[str, Any]]:
    """The group's offline rows (after a flush), without the columns the store adds."""
    files = sorted(p for p in offline_dir.rglob("*.parquet") if f"/{group}-" in str(p))
    return [
        {k: v for k, v in row.items() if k not in OFFLINE_ADDED}
        for path in files
        for row in pq.read_table(path).to_pylist()
    ]
