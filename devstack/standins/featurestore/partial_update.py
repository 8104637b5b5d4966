"""UpdateRecord: a partial update of an existing online record (Standard_V2 and InMemory).

The rules follow the runtime API reference's UpdateRecord page (docs/emulator.md): features
left out keep their values; the record must exist and be live (else ``ResourceNotFound``);
an older event time is ``ConflictException`` (409), an equal or newer one applies; without
an event time the stored one stays; ``TtlDuration`` needs an event time in the request.
"""

from __future__ import annotations

import json
import time
from typing import Any

from devstack.standins.featurestore.errors import (
    ApiError,
    fg_not_found_message,
    not_found,
    validation,
)
from devstack.standins.featurestore.model import FeatureGroup
from devstack.standins.featurestore.online import (
    current_record,
    encode_features,
    replace_record,
)
from devstack.standins.featurestore.runtime import (
    Runtime,
    feature_error,
    format_instant,
    parse_value,
    target_stores,
)
from devstack.standins.featurestore.validation import (
    EVENT_TIME_MAX_MS,
    MAX_IDENTIFIER_BYTES,
    MAX_RECORD_BYTES,
    check_fg_name_or_arn,
    check_length,
    check_list,
    check_object,
    parse_event_time,
    ttl_seconds,
)

UPDATABLE_STORAGE_TYPES = ("Standard_V2", "InMemory")
MAX_FEATURES_PER_UPDATE = 100  # the UpdateRecord page's "up to 100 features per call"


def storage_type(group: FeatureGroup) -> str:
    return str(group.doc.get("OnlineStoreConfig", {}).get("StorageType", "Standard"))


def _group(runtime: Runtime, name: Any) -> FeatureGroup:
    group = runtime.catalog.get(name) if isinstance(name, str) else None
    if group is None:
        check_fg_name_or_arn("featureGroupName", name)
        raise not_found(fg_not_found_message(name))
    return group


def _updates(group: FeatureGroup, features: Any) -> dict[str, Any]:
    checked = check_list(
        "features", features, 1, MAX_FEATURES_PER_UPDATE, items=dict, required=True
    )
    values: dict[str, Any] = {}
    for fv in checked:
        name = fv.get("FeatureName")
        if not isinstance(name, str) or name not in group.types:
            raise feature_error(group, name)
        if name in values:
            raise validation(f"Feature {name} appears more than once in Features")
        values[name] = parse_value(group, name, fv)
    return values


def update_record(runtime: Runtime, name: str, body: dict[str, Any]) -> None:
    api_ms = int(time.time() * 1000)
    group = _group(runtime, name)
    record_id = str(
        check_length(
            "recordIdentifierValueAsString",
            body.get("RecordIdentifierValueAsString"),
            0,
            MAX_IDENTIFIER_BYTES,
            required=True,
        )
    )
    if not group.online_enabled or storage_type(group) not in UPDATABLE_STORAGE_TYPES:
        raise validation(
            f"UpdateRecord is available only for feature groups whose online store uses "
            f"{' or '.join(UPDATABLE_STORAGE_TYPES)}; {group.name} uses "
            f"{storage_type(group) if group.online_enabled else 'no online store'}"
        )
    updates = _updates(group, body.get("Features"))
    to_online, to_offline = target_stores(group, body.get("TargetStores"))
    ttl_s = ttl_seconds("ttlDuration", check_object("ttlDuration", body.get("TtlDuration")))
    if group.record_id_name in updates and updates[group.record_id_name] != record_id:
        raise validation(
            f"Features sets {group.record_id_name}, the record identifier, to a value other "
            "than RecordIdentifierValueAsString"
        )
    et_name = group.event_time_name
    new_event_ms = (
        parse_event_time(updates[et_name], group.event_time_type, et_name)
        if et_name in updates
        else None
    )
    if ttl_s is not None and new_event_ms is None:
        raise validation(f"TtlDuration requires the event time feature {et_name} in Features")
    with runtime.db.transaction():
        current = current_record(runtime.online, group.name, record_id)
        if current is None:
            raise not_found(
                f"Record not found in feature group {group.name}: UpdateRecord changes an "
                "existing record; use PutRecord to create one"
            )
        if new_event_ms is not None and new_event_ms < current.event_ms:
            raise ApiError(
                "ConflictException",
                f"The {et_name} in the request is older than the record's current event time",
                409,
            )
        merged = {fv["FeatureName"]: fv for fv in json.loads(current.features_json)}
        for feature, value in updates.items():
            key = "ValueAsStringList" if isinstance(value, list) else "ValueAsString"
            merged[feature] = {"FeatureName": feature, key: value}
        ordered = [merged[n] for n in sorted(merged, key=group.position.__getitem__)]
        features_json = encode_features(ordered)
        if len(features_json.encode()) > MAX_RECORD_BYTES:
            raise validation(f"Record size exceeds the {MAX_RECORD_BYTES // 1024} KB limit")
        event_ms = current.event_ms if new_event_ms is None else new_event_ms
        expires_ms, expires_at = current.expires_ms, current.expires_at
        if ttl_s is not None:
            expires_ms = event_ms + ttl_s * 1000
            if expires_ms > EVENT_TIME_MAX_MS:
                raise validation(
                    "TtlDuration: EventTime + TtlDuration is after 9999-12-31T23:59:59.999Z, "
                    "the last instant an expiry can be"
                )
            expires_at = format_instant(expires_ms)
        if to_online:
            replace_record(
                runtime.online,
                group.name,
                record_id,
                event_ms,
                features_json=features_json,
                expires_ms=expires_ms,
                expires_at=expires_at,
            )
        if to_offline:
            values = {
                fv["FeatureName"]: fv.get("ValueAsString", fv.get("ValueAsStringList"))
                for fv in ordered
            }
            runtime.offline.append(group, values, event_ms, api_ms, features_json=features_json)
