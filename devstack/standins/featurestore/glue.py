"""The Glue table of each group's offline store, registered in moto's Glue as the service does.

With ``DisableGlueTableCreation`` false (the default), Feature Store creates a table in the
Glue Data Catalog for the offline store, named by ``OfflineStoreConfig.DataCatalogConfig``
(database ``sagemaker_featurestore``; the table name is the group name in lower case with
``-`` turned into ``_``, then ``_`` and the group's creation time in epoch seconds, the
same ``<name>-<creation time>`` pair the S3 folder uses; docs/offline.md cites the pages).
The table holds the feature columns, ``write_time``, ``api_invocation_time`` and
``is_deleted``, is partitioned by ``year``/``month``/``day``/``hour`` and points at the
group's ``ResolvedOutputS3Uri``. As on AWS, deleting the group leaves the table.

Registration runs when a group is created and again for every group when the emulator
starts (idempotent), so a Glue that was down at creation catches up at the next start.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from devstack.standins.featurestore.model import FeatureGroup

log = logging.getLogger("devstack.standins.featurestore.glue")

GLUE_TYPES = {"Integral": "bigint", "Fractional": "double", "String": "string"}
"""Feature type -> Hive/Glue column type (a collection is ``array<...>`` of it)."""
PARTITION_KEYS = ("year", "month", "day", "hour")
SCHEMA_EVOLVED = "featurestream_schema_evolved"
"""Table parameter: "false" while every file has the same columns (readers may then skip
reconciling schemas file by file, which keeps partition pruning)."""
PARQUET_SERDE = "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
PARQUET_INPUT = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat"
PARQUET_OUTPUT = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat"


def catalog_config(group: FeatureGroup) -> dict[str, str] | None:
    """The group's ``DataCatalogConfig`` if the service would create its table, else None."""
    offline = group.doc.get("OfflineStoreConfig")
    if not offline or offline.get("DisableGlueTableCreation"):
        return None
    config = offline.get("DataCatalogConfig")
    return dict(config) if config else None


def table_input(group: FeatureGroup) -> dict[str, Any]:
    """Glue ``TableInput`` for the group's offline table (columns, partitions, location)."""
    config = catalog_config(group)
    if config is None:
        raise ValueError("the group has no Glue table to register")
    columns = []
    for d in group.doc["FeatureDefinitions"]:
        glue_type = GLUE_TYPES[d["FeatureType"]]
        if d.get("CollectionType"):
            glue_type = f"array<{glue_type}>"
        columns.append({"Name": d["FeatureName"], "Type": glue_type})
    columns += [
        {"Name": "write_time", "Type": "timestamp"},
        {"Name": "api_invocation_time", "Type": "timestamp"},
        {"Name": "is_deleted", "Type": "boolean"},
    ]
    return {
        "Name": config["TableName"],
        "Description": f"Offline store of feature group {group.name}",
        "TableType": "EXTERNAL_TABLE",
        "Parameters": {
            "classification": "parquet",
            "feature_group_arn": group.arn,
            # files written before an UpdateFeatureGroup may lack later columns
            SCHEMA_EVOLVED: "true" if "LastUpdateStatus" in group.doc else "false",
        },
        "PartitionKeys": [{"Name": key, "Type": "string"} for key in PARTITION_KEYS],
        "StorageDescriptor": {
            "Columns": columns,
            "Location": group.resolved_output_uri or "",
            "InputFormat": PARQUET_INPUT,
            "OutputFormat": PARQUET_OUTPUT,
            "SerdeInfo": {"SerializationLibrary": PARQUET_SERDE, "Parameters": {}},
        },
    }


class GlueRegistrar:
    """Creates (or updates) each group's table in the Glue catalog at ``client_factory()``."""

    def __init__(self, client_factory: Callable[[], Any]) -> None:
        self._factory = client_factory
        self._client: Any = None
        self._lock = threading.Lock()

    def register(self, group: FeatureGroup) -> bool:
        """Register the group's table; False (logged, not raised) when Glue refuses or is
        down: the group exists either way, as its offline files do, and the next start
        registers it again."""
        config = catalog_config(group)
        if config is None:
            return False
        try:
            with self._lock:
                self._ensure(config["Database"], table_input(group))
        except Exception as error:  # Glue down or refusing: a warning, the group still exists
            reason = type(error).__name__
            log.warning("Glue table of feature group %s not registered: %s", group.name, reason)
            return False
        return True

    def register_all(self, groups: list[FeatureGroup]) -> int:
        return sum(self.register(group) for group in groups)

    def _ensure(self, database: str, table: dict[str, Any]) -> None:
        from botocore.exceptions import ClientError

        if self._client is None:
            self._client = self._factory()
        glue = self._client
        try:
            glue.create_database(DatabaseInput={"Name": database})
        except ClientError as error:
            if error.response["Error"]["Code"] != "AlreadyExistsException":
                raise
        try:
            glue.create_table(DatabaseName=database, TableInput=table)
        except ClientError as error:
            if error.response["Error"]["Code"] != "AlreadyExistsException":
                raise
            glue.update_table(DatabaseName=database, TableInput=table)
