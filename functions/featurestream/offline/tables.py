"""The offline tables of the feature groups, as ``DescribeFeatureGroup`` names them, and the
``{customers}``/``{orders}`` short names that expand to them in a query."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

SHORT_NAME_RE = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


class OfflineTableError(ValueError):
    """A group without a Glue table, or a short name nobody defined."""


@dataclass(frozen=True)
class OfflineTable:
    """One group's offline table: where Athena finds it and what its rows mean."""

    group: str
    catalog: str
    database: str
    table: str
    location: str
    record_id: str
    event_time: str
    features: tuple[str, ...]

    @property
    def qualified(self) -> str:
        """``"database"."table"``, as a query names it."""
        return f'"{self.database}"."{self.table}"'


def describe_table(sagemaker: Any, group: str) -> OfflineTable:
    """The group's table, from ``DescribeFeatureGroup``'s ``DataCatalogConfig``."""
    described = sagemaker.describe_feature_group(FeatureGroupName=group)
    offline = described.get("OfflineStoreConfig") or {}
    catalog = offline.get("DataCatalogConfig")
    if not catalog:
        raise OfflineTableError(f"feature group {group} has no offline store table")
    return OfflineTable(
        group=group,
        catalog=str(catalog.get("Catalog", "AwsDataCatalog")),
        database=str(catalog["Database"]),
        table=str(catalog["TableName"]),
        location=str(offline.get("S3StorageConfig", {}).get("ResolvedOutputS3Uri", "")),
        record_id=str(described["RecordIdentifierFeatureName"]),
        event_time=str(described["EventTimeFeatureName"]),
        features=tuple(d["FeatureName"] for d in described["FeatureDefinitions"]),
    )


def expand(sql: str, tables: dict[str, OfflineTable]) -> str:
    """Replace each ``{short}`` with its table's qualified name; an unknown short name is an
    error naming the known ones (a query never runs against a table it did not mean)."""

    def replace(match: re.Match[str]) -> str:
        table = tables.get(match.group(1))
        if table is None:
            known = ", ".join("{" + k + "}" for k in sorted(tables))
            raise OfflineTableError(
                f"unknown table short name {{{match.group(1)}}}; known: {known}"
            )
        return table.qualified

    return SHORT_NAME_RE.sub(replace, sql)
