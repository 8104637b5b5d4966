"""SageMaker control-plane operations for feature groups and feature metadata (JSON 1.1)."""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from devstack.standins.featurestore.catalog import Catalog
from devstack.standins.featurestore.errors import ApiError, cp_validation, not_found
from devstack.standins.featurestore.model import FeatureGroup
from devstack.standins.featurestore.offline import OfflineLocationError, OfflineStore
from devstack.standins.featurestore.online import OnlineStore
from devstack.standins.featurestore.search import check_scope_options, page_start, search
from devstack.standins.featurestore.storage_types import check_storage_rules
from devstack.standins.featurestore.tags import TagOperations
from devstack.standins.featurestore.validation import (
    COLLECTION_TYPES,
    FEATURE_TYPES,
    KMS_RE,
    NAME_RE,
    PARAM_RE,
    RESERVED_FEATURE_NAMES,
    ROLE_ARN_RE,
    S3_URI_RE,
    STORAGE_TYPES,
    TABLE_FORMATS,
    THROUGHPUT_MODES,
    check_collection_config,
    check_enum,
    check_fg_name_or_arn,
    check_int,
    check_length,
    check_list,
    check_number,
    check_object,
    check_offline_strings,
    check_pattern,
    check_tags,
    ttl_seconds,
)

MAX_FEATURE_GROUPS = 100
FEATURE_GROUP_STATUSES = ("Creating", "Created", "CreateFailed", "Deleting", "DeleteFailed")
OFFLINE_STORE_STATUSES = ("Active", "Blocked", "Disabled")
SORTABLE_PROPERTIES = {
    "FeatureGroup": (
        "FeatureGroupName",
        "FeatureGroupArn",
        "RecordIdentifierFeatureName",
        "EventTimeFeatureName",
        "CreationTime",
        "LastModifiedTime",
        "FeatureGroupStatus",
        "OfflineStoreStatus.Status",
        "Description",
    ),
    "FeatureMetadata": (
        "FeatureGroupName",
        "FeatureGroupArn",
        "FeatureName",
        "FeatureType",
        "CreationTime",
        "LastModifiedTime",
        "Description",
    ),
}
"""Search's SortBy: the scalar properties of each resource's document. The model types
SortBy as any property name; sorting by one the documents do not have is refused rather
than returning an arbitrary order."""


@dataclass(frozen=True)
class RequestContext:
    region: str
    account_id: str


def _not_found(name: str) -> ApiError:
    return not_found(f"Resource Not Found: FeatureGroup {name} does not exist.", status=400)


class ControlPlane:
    def __init__(
        self,
        catalog: Catalog,
        online: OnlineStore,
        offline: OfflineStore,
        max_feature_groups: int = MAX_FEATURE_GROUPS,
        on_defined: Callable[[FeatureGroup], object] = lambda group: None,
    ) -> None:
        self.max_feature_groups = max_feature_groups
        self.on_defined = on_defined
        """Called with a group once created or updated (the Glue table follows it)."""
        self.catalog = catalog
        self.online = online
        self.offline = offline
        self.operations: dict[str, Callable[[dict[str, Any], RequestContext], dict[str, Any]]] = {
            "CreateFeatureGroup": self.create_feature_group,
            "DescribeFeatureGroup": self.describe_feature_group,
            "ListFeatureGroups": self.list_feature_groups,
            "DeleteFeatureGroup": self.delete_feature_group,
            "UpdateFeatureGroup": self.update_feature_group,
            "UpdateFeatureMetadata": self.update_feature_metadata,
            "DescribeFeatureMetadata": self.describe_feature_metadata,
            "Search": self.search,
        }
        self.operations.update(TagOperations(catalog).operations)

    def _group(self, body: dict[str, Any]) -> FeatureGroup:
        name = check_fg_name_or_arn("featureGroupName", body.get("FeatureGroupName"), 256)
        group = self.catalog.get(name)
        if group is None:
            raise _not_found(name)
        return group

    # -- feature groups -------------------------------------------------------------------

    def _check_definitions(self, defs: Any, member: str, max_items: int) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for d in check_list(member, defs, 1, max_items, items=dict, required=True):
            name = check_pattern(f"{member}.featureName", d.get("FeatureName"), NAME_RE, 1, 64)
            if name in RESERVED_FEATURE_NAMES:
                raise cp_validation(
                    f"Feature name {name} is reserved "
                    f"({', '.join(RESERVED_FEATURE_NAMES)} are added to the offline store)"
                )
            check_enum(f"{member}.featureType", d.get("FeatureType"), FEATURE_TYPES)
            check_collection_config(f"{member}.collectionConfig", d.get("CollectionConfig"))
            if d.get("CollectionType") is not None:
                check_enum(f"{member}.collectionType", d["CollectionType"], COLLECTION_TYPES)
                if d["CollectionType"] == "Vector" and d["FeatureType"] != "Fractional":
                    raise cp_validation(f"Vector feature {name} must be Fractional")
            if any(o["FeatureName"] == name for o in out):
                raise cp_validation(f"Duplicate feature name {name} in {member}")
            out.append({k: v for k, v in d.items() if v is not None})
        return out

    def create_feature_group(self, body: dict[str, Any], ctx: RequestContext) -> dict[str, Any]:
        name = check_pattern("featureGroupName", body.get("FeatureGroupName"), NAME_RE, 1, 64)
        rid = check_pattern(
            "recordIdentifierFeatureName", body.get("RecordIdentifierFeatureName"), NAME_RE, 1, 64
        )
        etn = check_pattern(
            "eventTimeFeatureName", body.get("EventTimeFeatureName"), NAME_RE, 1, 64
        )
        defs = self._check_definitions(body.get("FeatureDefinitions"), "featureDefinitions", 2500)
        types = {d["FeatureName"]: d["FeatureType"] for d in defs}
        for label, feature in (("RecordIdentifierFeatureName", rid), ("EventTimeFeatureName", etn)):
            if feature not in types:
                raise cp_validation(
                    f"{label} {feature} is not among the FeatureDefinitions of {name}"
                )
        if types[etn] not in ("String", "Fractional"):
            raise cp_validation(
                f"EventTimeFeatureName {etn} must be of type String or Fractional, not {types[etn]}"
            )
        online = check_object("onlineStoreConfig", body.get("OnlineStoreConfig"))
        offline = check_object("offlineStoreConfig", body.get("OfflineStoreConfig"))
        if online is None and offline is None:
            raise cp_validation(
                "At least one of OnlineStoreConfig and OfflineStoreConfig must be provided"
            )
        now = time.time()
        epoch = int(now)
        arn = f"arn:aws:sagemaker:{ctx.region}:{ctx.account_id}:feature-group/{name}"
        throughput = check_object("throughputConfig", body.get("ThroughputConfig")) or {
            "ThroughputMode": "OnDemand"
        }
        _check_throughput(throughput)
        _check_role_description_tags(body)
        check_storage_rules(body)
        check_offline_strings(body.get("OfflineStoreConfig"))
        doc: dict[str, Any] = {}
        doc.update(
            FeatureGroupArn=arn,
            FeatureGroupName=name,
            RecordIdentifierFeatureName=rid,
            EventTimeFeatureName=etn,
            FeatureDefinitions=defs,
            CreationTime=now,
            LastModifiedTime=now,
            ThroughputConfig=throughput,
            FeatureGroupStatus="Created",
            Tags=body.get("Tags") or [],
        )
        if online is not None:
            doc["OnlineStoreConfig"] = _online_config(online)
        if offline is not None:
            doc["OfflineStoreConfig"] = _offline_config(offline, ctx, name, epoch)
            resolved = doc["OfflineStoreConfig"]["S3StorageConfig"]["ResolvedOutputS3Uri"]
            try:
                self.offline.check_location(resolved)
            except OfflineLocationError as error:
                raise cp_validation(f"offlineStoreConfig.s3StorageConfig.s3Uri: {error}") from None
            doc["OfflineStoreStatus"] = {"Status": "Active"}
        for key in ("RoleArn", "Description"):
            if body.get(key) is not None:
                doc[key] = body[key]
        if len(self.catalog.all()) >= self.max_feature_groups and self.catalog.get(name) is None:
            raise ApiError(
                "ResourceLimitExceeded",
                f"The account-level service limit of {self.max_feature_groups} feature groups "
                "has been reached",
            )
        if not self.catalog.add(FeatureGroup(doc)):
            raise ApiError(
                "ResourceInUse",
                f"Resource Already Exists: FeatureGroup with name {name} already exists. "
                "Choose a different name.",
            )
        self.on_defined(self.catalog.get(name) or FeatureGroup(doc))
        return {"FeatureGroupArn": arn}

    def _describe_doc(self, group: FeatureGroup) -> dict[str, Any]:
        doc = {k: v for k, v in group.doc.items() if k != "Tags"}
        reason = self.offline.blocked.get(group.arn)
        if reason and "OfflineStoreStatus" in doc:
            doc["OfflineStoreStatus"] = {"Status": "Blocked", "BlockedReason": reason}
        if group.online_enabled:
            doc["OnlineStoreTotalSizeBytes"] = self.online.size_bytes(group.name)
        return doc

    def describe_feature_group(self, body: dict[str, Any], ctx: RequestContext) -> dict[str, Any]:
        check_length("nextToken", body.get("NextToken"), 0, 8192)  # no pages to turn
        return self._describe_doc(self._group(body))

    def list_feature_groups(self, body: dict[str, Any], ctx: RequestContext) -> dict[str, Any]:
        groups = self.catalog.all()
        contains = check_length("nameContains", body.get("NameContains"), 1, 64)
        if contains:
            groups = [g for g in groups if contains.lower() in g.name.lower()]
        status = body.get("FeatureGroupStatusEquals")
        if status is not None:
            check_enum("featureGroupStatusEquals", status, FEATURE_GROUP_STATUSES)
            groups = [g for g in groups if g.doc["FeatureGroupStatus"] == status]
        offline_status = body.get("OfflineStoreStatusEquals")
        if offline_status is not None:
            check_enum("offlineStoreStatusEquals", offline_status, OFFLINE_STORE_STATUSES)
            groups = [
                g
                for g in groups
                if self._describe_doc(g).get("OfflineStoreStatus", {}).get("Status")
                == offline_status
            ]
        if body.get("CreationTimeAfter") is not None:
            after = check_number("creationTimeAfter", body["CreationTimeAfter"])
            groups = [g for g in groups if g.doc["CreationTime"] > after]
        if body.get("CreationTimeBefore") is not None:
            before = check_number("creationTimeBefore", body["CreationTimeBefore"])
            groups = [g for g in groups if g.doc["CreationTime"] < before]
        summaries = [
            {
                k: v
                for k, v in self._describe_doc(g).items()
                if k
                in (
                    "FeatureGroupName",
                    "FeatureGroupArn",
                    "CreationTime",
                    "FeatureGroupStatus",
                    "OfflineStoreStatus",
                )
            }
            for g in groups
        ]
        sort_by = check_enum(
            "sortBy",
            body.get("SortBy", "CreationTime"),
            ("Name", "FeatureGroupStatus", "OfflineStoreStatus", "CreationTime"),
        )
        field = {"Name": "FeatureGroupName"}.get(sort_by, sort_by)
        order = check_enum(
            "sortOrder", body.get("SortOrder", "Descending"), ("Ascending", "Descending")
        )
        summaries.sort(
            key=lambda s: str(s.get(field, "")) if field != "CreationTime" else s[field],
            reverse=order == "Descending",
        )
        limit = check_int("maxResults", body.get("MaxResults", 10), 1, 100)
        start = page_start(body.get("NextToken"))
        out: dict[str, Any] = {"FeatureGroupSummaries": summaries[start : start + limit]}
        if start + limit < len(summaries):
            out["NextToken"] = str(start + limit)
        return out

    def delete_feature_group(self, body: dict[str, Any], ctx: RequestContext) -> dict[str, Any]:
        group = self._group(body)
        # Online data becomes unreachable at once; offline files (and journaled rows, whose
        # table keeps its own definition) stay, as on AWS.
        with self.catalog.db.transaction():
            self.catalog.remove(group.name)
            self.online.drop_group(group.name)
        return {}

    def update_feature_group(self, body: dict[str, Any], ctx: RequestContext) -> dict[str, Any]:
        group = self._group(body)
        doc = copy.deepcopy(group.doc)
        additions = body.get("FeatureAdditions")
        if additions is not None:
            new = self._check_definitions(additions, "featureAdditions", 100)
            existing = {d["FeatureName"] for d in doc["FeatureDefinitions"]}
            for d in new:
                if d["FeatureName"] in existing:
                    raise cp_validation(
                        f"Feature {d['FeatureName']} already exists in {group.name}"
                    )
                existing.add(d["FeatureName"])
            if len(existing) > 2500:
                raise cp_validation("A feature group can have at most 2500 features")
            doc["FeatureDefinitions"].extend(new)
        online_update = check_object("onlineStoreConfig", body.get("OnlineStoreConfig"))
        if online_update is not None:
            if "OnlineStoreConfig" not in doc:
                raise cp_validation(f"Feature group {group.name} has no online store")
            ttl = check_object("onlineStoreConfig.ttlDuration", online_update.get("TtlDuration"))
            if ttl is not None:
                if ttl.get("Unit") is None and ttl.get("Value") is None:
                    doc["OnlineStoreConfig"].pop("TtlDuration", None)
                else:
                    ttl_seconds("onlineStoreConfig.ttlDuration", ttl)
                    doc["OnlineStoreConfig"]["TtlDuration"] = ttl
            storage = online_update.get("StorageType")
            if storage is not None:
                check_enum("onlineStoreConfig.storageType", storage, STORAGE_TYPES)
                current = doc["OnlineStoreConfig"].get("StorageType", "Standard")
                if storage != current and not (current == "Standard" and storage == "Standard_V2"):
                    raise cp_validation(
                        f"StorageType can only change from Standard to Standard_V2, not from "
                        f"{current} to {storage}"
                    )
                doc["OnlineStoreConfig"]["StorageType"] = storage
        throughput = check_object("throughputConfig", body.get("ThroughputConfig"))
        if throughput is not None:
            mode = throughput.get("ThroughputMode", doc["ThroughputConfig"]["ThroughputMode"])
            check_enum("throughputConfig.throughputMode", mode, THROUGHPUT_MODES)
            _check_capacity_units(throughput)
            doc["ThroughputConfig"] = {
                **doc["ThroughputConfig"],
                **throughput,
                "ThroughputMode": mode,
            }
        check_storage_rules(doc)  # the updated group must still be one the service offers
        doc["LastModifiedTime"] = time.time()
        doc["LastUpdateStatus"] = {"Status": "Successful"}
        # A new object, so in-flight requests keep a consistent view of the old definition.
        updated = FeatureGroup(doc, copy.deepcopy(group.metadata))
        self.catalog.save(updated)
        self.on_defined(updated)
        return {"FeatureGroupArn": group.arn}

    # -- feature metadata -------------------------------------------------------------------

    def _feature(self, body: dict[str, Any]) -> tuple[FeatureGroup, str]:
        group = self._group(body)
        feature = check_pattern("featureName", body.get("FeatureName"), NAME_RE, 1, 64)
        if feature not in group.types:
            raise not_found(
                f"Resource Not Found: Feature {feature} does not exist in FeatureGroup "
                f"{group.name}.",
                status=400,
            )
        return group, feature

    def _metadata_doc(self, group: FeatureGroup, feature: str) -> dict[str, Any]:
        meta = group.metadata.get(feature, {})
        doc: dict[str, Any] = {
            "FeatureGroupArn": group.arn,
            "FeatureGroupName": group.name,
            "FeatureName": feature,
            "FeatureType": group.types[feature],
            "CreationTime": group.doc["CreationTime"],
            "LastModifiedTime": meta.get("LastModifiedTime", group.doc["CreationTime"]),
        }
        if "Description" in meta:
            doc["Description"] = meta["Description"]
        params = meta.get("Parameters") or {}
        if params:
            doc["Parameters"] = [{"Key": k, "Value": v} for k, v in params.items()]
        return doc

    def update_feature_metadata(self, body: dict[str, Any], ctx: RequestContext) -> dict[str, Any]:
        group, feature = self._feature(body)
        meta = copy.deepcopy(group.metadata.get(feature, {}))
        if body.get("Description") is not None:
            meta["Description"] = check_length("description", body["Description"], 0, 255)
        params: dict[str, str] = dict(meta.get("Parameters") or {})
        additions = check_list(
            "parameterAdditions", body.get("ParameterAdditions"), 0, 25, items=dict
        )
        removals = check_list("parameterRemovals", body.get("ParameterRemovals"), 0, 25, items=str)
        for key in removals:
            check_pattern("parameterRemovals.member", key, PARAM_RE, 1, 255)
            params.pop(key, None)
        for param in additions:
            key = check_pattern("parameterAdditions.member.key", param.get("Key"), PARAM_RE, 1, 255)
            value = check_pattern(
                "parameterAdditions.member.value", param.get("Value"), PARAM_RE, 1, 255
            )
            params[key] = value
        if len(params) > 25:
            raise cp_validation("A feature can have at most 25 parameters")
        meta["Parameters"] = params
        meta["LastModifiedTime"] = time.time()
        group.metadata[feature] = meta
        self.catalog.save(group)
        return {}

    def describe_feature_metadata(
        self, body: dict[str, Any], ctx: RequestContext
    ) -> dict[str, Any]:
        group, feature = self._feature(body)
        return self._metadata_doc(group, feature)

    # -- search -----------------------------------------------------------------------------

    def search(self, body: dict[str, Any], ctx: RequestContext) -> dict[str, Any]:
        resource = body.get("Resource")
        if resource not in SORTABLE_PROPERTIES:
            raise cp_validation(
                "Resource: the local Feature Store emulator searches only FeatureGroup and "
                "FeatureMetadata"
            )
        if body.get("SortBy") is not None:
            check_enum("sortBy", body["SortBy"], SORTABLE_PROPERTIES[resource])
        check_scope_options(body)
        groups = sorted(self.catalog.all(), key=lambda g: g.name)
        if resource == "FeatureGroup":
            docs = [self._search_group_doc(g) for g in groups]
        else:
            docs = [self._metadata_doc(g, f) for g in groups for f in g.position]
        page, token, total = search(
            docs,
            expression=body.get("SearchExpression"),
            sort_by=body.get("SortBy"),
            sort_order=body.get("SortOrder"),
            next_token=body.get("NextToken"),
            max_results=body.get("MaxResults"),
        )
        out: dict[str, Any] = {
            "Results": [{resource: doc} for doc in page],
            "TotalHits": {"Value": total, "Relation": "EqualTo"},
        }
        if token:
            out["NextToken"] = token
        return out

    def _search_group_doc(self, group: FeatureGroup) -> dict[str, Any]:
        doc = self._describe_doc(group)
        doc.pop("OnlineStoreTotalSizeBytes", None)
        doc.pop("ThroughputConfig", None)
        doc["Tags"] = group.doc.get("Tags", [])
        return doc


def _online_config(online: dict[str, Any]) -> dict[str, Any]:
    online = dict(online)
    if not isinstance(online.get("EnableOnlineStore", False), bool):
        raise cp_validation("onlineStoreConfig.enableOnlineStore must be true or false")
    check_enum(
        "onlineStoreConfig.storageType", online.get("StorageType", "Standard"), STORAGE_TYPES
    )
    ttl_seconds("onlineStoreConfig.ttlDuration", online.get("TtlDuration"))
    security = check_object("onlineStoreConfig.securityConfig", online.get("SecurityConfig"))
    kms = (security or {}).get("KmsKeyId")
    if kms is not None:
        check_pattern("onlineStoreConfig.securityConfig.kmsKeyId", kms, KMS_RE, 0, 2048)
    online.setdefault("EnableOnlineStore", False)
    return online


def _offline_config(
    offline: dict[str, Any], ctx: RequestContext, name: str, epoch: int
) -> dict[str, Any]:
    """Validate and complete the offline config: resolved S3 URI and Glue catalog names."""
    offline = copy.deepcopy(offline)
    s3 = check_object(
        "offlineStoreConfig.s3StorageConfig", offline.get("S3StorageConfig"), required=True
    )
    if s3 is None or "S3Uri" not in s3:
        raise cp_validation("OfflineStoreConfig.S3StorageConfig.S3Uri is required")
    member = "offlineStoreConfig.s3StorageConfig"
    uri = check_pattern(f"{member}.s3Uri", s3["S3Uri"], S3_URI_RE, 0, 1024)
    if ".." in uri.split("://", 1)[1].split("/"):
        raise cp_validation(f"{member}.s3Uri must not contain '..' path segments")
    if s3.get("KmsKeyId") is not None:
        check_pattern(f"{member}.kmsKeyId", s3["KmsKeyId"], KMS_RE, 0, 2048)
    fmt = check_enum(
        "offlineStoreConfig.tableFormat", offline.get("TableFormat", "Glue"), TABLE_FORMATS
    )
    offline["TableFormat"] = "Glue" if fmt == "Default" else fmt
    base = uri if uri.startswith("s3://") else "s3://" + uri.split("://", 1)[1]
    s3["ResolvedOutputS3Uri"] = (
        f"{base.rstrip('/')}/{ctx.account_id}/sagemaker/{ctx.region}/offline-store/"
        f"{name}-{epoch}/data"
    )
    offline.setdefault("DisableGlueTableCreation", False)
    catalog_cfg = check_object(
        "offlineStoreConfig.dataCatalogConfig", offline.get("DataCatalogConfig")
    )
    if catalog_cfg:
        for key in ("TableName", "Catalog", "Database"):
            check_length(
                f"offlineStoreConfig.dataCatalogConfig.{key}", catalog_cfg.get(key), 1, 255
            )
    else:
        offline["DataCatalogConfig"] = {
            "TableName": f"{name.replace('-', '_').lower()}_{epoch}",
            "Catalog": "AwsDataCatalog",
            "Database": "sagemaker_featurestore",
        }
    return offline


def _check_throughput(throughput: dict[str, Any]) -> None:
    check_enum(
        "throughputConfig.throughputMode", throughput.get("ThroughputMode"), THROUGHPUT_MODES
    )
    _check_capacity_units(throughput)


def _check_capacity_units(throughput: dict[str, Any]) -> None:
    for key in ("ProvisionedReadCapacityUnits", "ProvisionedWriteCapacityUnits"):
        units = throughput.get(key)
        if units is not None:
            check_int(f"throughputConfig.{key[0].lower()}{key[1:]}", units, 0, 10_000_000)


def _check_role_description_tags(body: dict[str, Any]) -> None:
    if body.get("RoleArn") is not None:
        check_pattern("roleArn", body["RoleArn"], ROLE_ARN_RE, 20, 2048)
    elif body.get("OfflineStoreConfig") is not None:
        # The service writes offline rows as RoleArn; without one it has no way to persist
        # them (docs/emulator.md, "CreateFeatureGroup and RoleArn").
        raise cp_validation(
            "RoleArn is required when OfflineStoreConfig is provided: the offline store is "
            "written with that IAM role"
        )
    check_length("description", body.get("Description"), 0, 128)
    check_tags(body.get("Tags"))
