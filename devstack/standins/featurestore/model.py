"""The feature-group definition held in memory, with lookups the hot path needs."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any


@dataclass
class FeatureGroup:
    """One feature group: its Describe document plus precomputed indexes.

    ``doc`` is the stored DescribeFeatureGroup body (timestamps as epoch seconds); the
    derived fields let PutRecord validate a record without rescanning the definitions.
    """

    doc: dict[str, Any]
    metadata: dict[str, dict[str, Any]] = field(default_factory=dict)
    position: dict[str, int] = field(init=False)
    types: dict[str, str] = field(init=False)
    collections: dict[str, str | None] = field(init=False)
    plain_scalars: dict[str, str] = field(init=False)

    def __post_init__(self) -> None:
        self.reindex()

    def reindex(self) -> None:
        defs = self.doc["FeatureDefinitions"]
        self.position = {d["FeatureName"]: i for i, d in enumerate(defs)}
        self.types = {d["FeatureName"]: d["FeatureType"] for d in defs}
        self.collections = {d["FeatureName"]: d.get("CollectionType") for d in defs}
        # Scalar features whose value can be checked on PutRecord's fast path; the event
        # time is left out (it is parsed separately) by mapping it to "String".
        event_time = self.doc["EventTimeFeatureName"]
        self.plain_scalars = {
            name: ("String" if name == event_time else ftype)
            for name, ftype in self.types.items()
            if not self.collections[name]
        }

    @property
    def name(self) -> str:
        return str(self.doc["FeatureGroupName"])

    @property
    def arn(self) -> str:
        return str(self.doc["FeatureGroupArn"])

    @property
    def record_id_name(self) -> str:
        return str(self.doc["RecordIdentifierFeatureName"])

    @property
    def event_time_name(self) -> str:
        return str(self.doc["EventTimeFeatureName"])

    @property
    def event_time_type(self) -> str:
        return self.types[self.event_time_name]

    @property
    def online_enabled(self) -> bool:
        return bool(self.doc.get("OnlineStoreConfig", {}).get("EnableOnlineStore", False))

    @property
    def offline_enabled(self) -> bool:
        return "OfflineStoreConfig" in self.doc and (
            self.doc.get("OnlineStoreConfig", {}).get("StorageType") != "InMemory"
        )

    @property
    def default_ttl(self) -> dict[str, Any] | None:
        ttl = self.doc.get("OnlineStoreConfig", {}).get("TtlDuration")
        return ttl if ttl else None

    @property
    def creation_epoch(self) -> int:
        return int(self.doc["CreationTime"])

    @property
    def resolved_output_uri(self) -> str | None:
        s3 = self.doc.get("OfflineStoreConfig", {}).get("S3StorageConfig", {})
        uri = s3.get("ResolvedOutputS3Uri")
        return str(uri) if uri else None

    def touch(self) -> None:
        self.doc["LastModifiedTime"] = time.time()
