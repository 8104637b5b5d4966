"""Feature Store runtime operations: PutRecord, GetRecord, BatchGetRecord, DeleteRecord,
BatchWriteRecord, as the Feature Store runtime API reference describes them (docs/emulator.md)."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from devstack.standins.featurestore.catalog import Catalog
from devstack.standins.featurestore.database import Database
from devstack.standins.featurestore.errors import (
    ApiError,
    fg_not_found_message,
    not_found,
    validation,
)
from devstack.standins.featurestore.model import FeatureGroup
from devstack.standins.featurestore.offline import OfflineStore
from devstack.standins.featurestore.online import OnlineStore, encode_features
from devstack.standins.featurestore.validation import (
    EVENT_TIME_MAX_MS,
    FRACTIONAL_RE,
    INTEGRAL_RE,
    MAX_IDENTIFIER_BYTES,
    MAX_RECORD_BYTES,
    MAX_VALUE_CHARS,
    NAME_RE,
    TARGET_STORES,
    check_enum,
    check_fg_name_or_arn,
    check_length,
    check_list,
    check_object,
    check_pattern,
    check_scalar,
    parse_event_time,
    ttl_seconds,
)

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MAX_BATCH_GET_RECORDS = 100  # service quota per call; the rest comes back unprocessed


@dataclass(frozen=True)
class ParsedRecord:
    values: dict[str, Any]  # feature name -> ValueAsString or ValueAsStringList
    record_id: str
    event_time: str
    event_ms: int
    online_json: str  # FeatureValue list in definition order, ready to return


def format_instant(ms: int) -> str:
    """ExpiresAt as ISO-8601 UTC with milliseconds (the exact service format is unconfirmed)."""
    t = _EPOCH + timedelta(milliseconds=ms)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


def feature_error(group: FeatureGroup, name: Any) -> ApiError:
    check_pattern("record.member.featureName", name, NAME_RE, 1, 64)
    return validation(
        f"Feature {name} is not defined in feature group {group.name}; unknown features "
        "cannot be written"
    )


def _obviously_valid(ftype: str, value: str) -> bool:
    """Cheap accept for the common case; anything else gets the exact check."""
    if ftype == "Integral":
        return len(value) < 19 and INTEGRAL_RE.fullmatch(value) is not None
    return (
        len(value) < 300
        and "e" not in value
        and "E" not in value
        and FRACTIONAL_RE.fullmatch(value) is not None
    )


def parse_value(group: FeatureGroup, name: str, fv: dict[str, Any]) -> str | list[str]:
    """One FeatureValue: scalar via ValueAsString, collection via ValueAsStringList."""
    ftype = group.types[name]
    collection = group.collections[name]
    scalar = fv.get("ValueAsString")
    many = fv.get("ValueAsStringList")
    if collection:
        if scalar is not None or not isinstance(many, list):
            raise validation(f"Feature {name} is a {collection} collection: use ValueAsStringList")
        check_list(f"record.{name}.valueAsStringList", many, 0, MAX_VALUE_CHARS)
        for item in many:
            if not isinstance(item, str):
                raise validation(f"Collection feature {name} cannot contain null elements")
            check_length(f"record.{name}.valueAsStringList.member", item, 0, MAX_VALUE_CHARS)
            check_scalar(name, ftype, item)
        return list(dict.fromkeys(many)) if collection == "Set" else many
    if many is not None or not isinstance(scalar, str):
        raise validation(f"Feature {name} is a scalar: set ValueAsString (and only that)")
    if len(scalar) > MAX_VALUE_CHARS:
        raise validation(
            f"Value of feature {name} is longer than the {MAX_VALUE_CHARS}-character limit"
        )
    if ftype != "String" and name != group.event_time_name:  # event time: parsed later
        check_scalar(name, ftype, scalar)
    return scalar


def _check_required_and_size(
    group: FeatureGroup, values: dict[str, Any], size: int, record: list[Any]
) -> None:
    for required in (group.record_id_name, group.event_time_name):
        if required not in values:
            raise validation(
                f"The Record is missing the required feature {required} "
                "(the record identifier and event time features must be present)"
            )
    if len(values[group.record_id_name].encode()) > MAX_IDENTIFIER_BYTES:
        raise validation(f"Record identifier exceeds {MAX_IDENTIFIER_BYTES} bytes")
    if size > MAX_RECORD_BYTES and len(json.dumps(record).encode()) > MAX_RECORD_BYTES:
        raise validation(f"Record size exceeds the {MAX_RECORD_BYTES // 1024} KB limit")


def parse_record(group: FeatureGroup, record: Any) -> ParsedRecord:
    """Validate a Record against the group: known features, typed values, id + event time."""
    if not isinstance(record, list) or not record:
        raise validation("Record must contain at least one FeatureValue")
    values: dict[str, Any] = {}
    size = 0
    types = group.types
    plain = group.plain_scalars
    all_fast = True
    for fv in record:
        # Fast path: a known scalar feature sent as {FeatureName, ValueAsString}.
        if type(fv) is dict and len(fv) == 2:
            fname = fv.get("FeatureName")
            fvalue = fv.get("ValueAsString")
            if (
                type(fname) is str
                and type(fvalue) is str
                and fname not in values
                and len(fvalue) <= MAX_VALUE_CHARS
            ):
                ftype = plain.get(fname)
                if ftype is not None:
                    if ftype != "String" and not _obviously_valid(ftype, fvalue):
                        check_scalar(fname, ftype, fvalue)  # exact check and message
                    values[fname] = fvalue
                    size += len(fname) + len(fvalue)
                    continue
        all_fast = False
        raw = fv.get("FeatureName") if isinstance(fv, dict) else None
        if not isinstance(raw, str) or raw not in types:
            raise feature_error(group, raw)
        name: str = raw
        if name in values:
            raise validation(f"Feature {name} appears more than once in the Record")
        value = parse_value(group, name, fv)
        values[name] = value
        size += len(name) + (len(value) if isinstance(value, str) else sum(map(len, value)))
    _check_required_and_size(group, values, size, record)
    record_id = values[group.record_id_name]
    et_name = group.event_time_name
    event_time = values[et_name]
    event_ms = parse_event_time(event_time, group.event_time_type, et_name)
    position = group.position
    ordered = sorted(values, key=position.__getitem__)
    if all_fast and ordered == list(values):
        # Already plain FeatureValues in definition order: store them as sent.
        return ParsedRecord(values, record_id, event_time, event_ms, encode_features(record))
    online = [
        {"FeatureName": n, "ValueAsStringList": values[n]}
        if isinstance(values[n], list)
        else {"FeatureName": n, "ValueAsString": values[n]}
        for n in ordered
    ]
    return ParsedRecord(values, record_id, event_time, event_ms, encode_features(online))


def target_stores(group: FeatureGroup, stores: Any) -> tuple[bool, bool]:
    """(online, offline) to write; default is every store the group has."""
    if stores is None:
        return group.online_enabled, group.offline_enabled
    check_list("targetStores", stores, 1, 2)
    for store in stores:
        check_enum("targetStores.member", store, TARGET_STORES)
    online = "OnlineStore" in stores
    offline = "OfflineStore" in stores
    if online and not group.online_enabled:
        raise validation(f"Feature group {group.name} does not have an OnlineStore")
    if offline and not group.offline_enabled:
        raise validation(f"Feature group {group.name} does not have an OfflineStore")
    return online, offline


def _check_entry_shape(entry: dict[str, Any]) -> None:
    """BatchWriteRecord entry members against the model: name, record, stores, TTL."""
    member = "entries.member"
    check_fg_name_or_arn(f"{member}.featureGroupName", entry.get("FeatureGroupName"))
    record = check_list(f"{member}.record", entry.get("Record"), 1, 2**31, items=dict)
    if not record:
        raise validation("Record must contain at least one FeatureValue")
    for fv in record:
        check_pattern(f"{member}.record.member.featureName", fv.get("FeatureName"), NAME_RE, 1, 64)
        check_length(
            f"{member}.record.member.valueAsString", fv.get("ValueAsString"), 0, MAX_VALUE_CHARS
        )
        many = fv.get("ValueAsStringList")
        for item in check_list(
            f"{member}.record.member.valueAsStringList", many, 0, MAX_VALUE_CHARS
        ):
            check_length(
                f"{member}.record.member.valueAsStringList.member", item, 0, MAX_VALUE_CHARS
            )
    stores = entry.get("TargetStores")
    if stores is not None:
        for store in check_list(f"{member}.targetStores", stores, 1, 2):
            check_enum(f"{member}.targetStores.member", store, TARGET_STORES)
    ttl_seconds(
        f"{member}.ttlDuration", check_object(f"{member}.ttlDuration", entry.get("TtlDuration"))
    )


class Runtime:
    def __init__(
        self, db: Database, catalog: Catalog, online: OnlineStore, offline: OfflineStore
    ) -> None:
        self.db = db
        self.catalog = catalog
        self.online = online
        self.offline = offline

    def _group_for_write(self, name: Any) -> FeatureGroup:
        # Known names are valid by construction; only unknown ones need the pattern check.
        group = self.catalog.get(name) if isinstance(name, str) else None
        if group is None:
            check_fg_name_or_arn("featureGroupName", name)
            raise validation(fg_not_found_message(name))
        return group

    def _group_for_read(self, name: Any) -> FeatureGroup:
        group = self.catalog.get(name) if isinstance(name, str) else None
        if group is None:
            check_fg_name_or_arn("featureGroupName", name)
            raise not_found(fg_not_found_message(name))
        if not group.online_enabled:
            raise validation(f"Feature group {group.name} does not have an OnlineStore")
        return group

    def _write(self, group: FeatureGroup, record: Any, stores: Any, ttl: Any, api_ms: int) -> None:
        parsed = parse_record(group, record)
        to_online, to_offline = target_stores(group, stores)
        ttl_s = ttl_seconds("ttlDuration", ttl)
        expires_ms: int | None = None
        if to_online:
            if ttl_s is None and group.default_ttl is not None:
                ttl_s = ttl_seconds("ttlDuration", group.default_ttl)
            expires_ms = parsed.event_ms + ttl_s * 1000 if ttl_s is not None else None
            if expires_ms is not None and expires_ms > EVENT_TIME_MAX_MS:
                raise validation(
                    "TtlDuration: EventTime + TtlDuration is after 9999-12-31T23:59:59.999Z, "
                    "the last instant an expiry can be"
                )
        # One transaction: the online row and the offline row commit together, before the
        # caller is answered.
        with self.db.transaction():
            if to_online:
                self.online.put(
                    group.name,
                    parsed.record_id,
                    parsed.event_ms,
                    features_json=parsed.online_json,
                    expires_ms=expires_ms,
                    expires_at=format_instant(expires_ms) if expires_ms is not None else None,
                )
            if to_offline:
                # Every accepted put adds an offline row, historic ones included.
                self.offline.append(
                    group,
                    parsed.values,
                    parsed.event_ms,
                    api_ms,
                    features_json=parsed.online_json,
                )

    def put_record(self, name: str, body: dict[str, Any]) -> None:
        api_ms = int(time.time() * 1000)
        group = self._group_for_write(name)
        check_object("ttlDuration", body.get("TtlDuration"))
        self._write(
            group, body.get("Record"), body.get("TargetStores"), body.get("TtlDuration"), api_ms
        )

    def get_record(
        self,
        name: str,
        record_id: str | None,
        feature_names: list[str] | None,
        expiration: str | None,
    ) -> str:
        """Returns the JSON body; built by hand so the common case never re-parses."""
        group = self._group_for_read(name)
        if record_id is None:
            raise validation("RecordIdentifierValueAsString is required")
        check_length("recordIdentifierValueAsString", record_id, 0, MAX_IDENTIFIER_BYTES)
        wanted = self._check_feature_names(group, feature_names)
        if expiration is not None:
            check_enum("expirationTimeResponse", expiration, ("Enabled", "Disabled"))
        stored = self.online.get(group.name, record_id)
        if stored is None:
            return "{}"
        record_json = stored.features_json
        if wanted is not None:
            record_json = encode_features(
                [fv for fv in json.loads(record_json) if fv["FeatureName"] in wanted]
            )
        if expiration == "Enabled" and stored.expires_at is not None:
            return f'{{"Record":{record_json},"ExpiresAt":"{stored.expires_at}"}}'
        return f'{{"Record":{record_json}}}'

    @staticmethod
    def _check_feature_names(group: FeatureGroup, names: list[str] | None) -> set[str] | None:
        if names is None:
            return None
        check_list("featureNames", names, 1, 2500, items=str)
        for n in names:
            if n not in group.types:
                check_pattern("featureNames.member", n, NAME_RE, 1, 64)
                raise validation(f"Feature {n} is not defined in feature group {group.name}")
        return set(names)

    def batch_get_record(self, body: dict[str, Any]) -> dict[str, Any]:
        identifiers = check_list(
            "identifiers", body.get("Identifiers"), 1, 100, items=dict, required=True
        )
        expiration = body.get("ExpirationTimeResponse")
        if expiration is not None:
            check_enum("expirationTimeResponse", expiration, ("Enabled", "Disabled"))
        for ident in identifiers:  # the whole request is checked before anything is read
            check_fg_name_or_arn(
                "identifiers.member.featureGroupName", ident.get("FeatureGroupName")
            )
            ids = check_list(
                "identifiers.member.recordIdentifiersValueAsString",
                ident.get("RecordIdentifiersValueAsString"),
                1,
                100,
                items=str,
                required=True,
            )
            for rid in ids:
                check_length(
                    "identifiers.member.recordIdentifiersValueAsString.member",
                    rid,
                    0,
                    MAX_IDENTIFIER_BYTES,
                )
            check_list("identifiers.member.featureNames", ident.get("FeatureNames"), 1, 2500)
        records: list[dict[str, Any]] = []
        errors: list[dict[str, Any]] = []
        unprocessed: list[dict[str, Any]] = []
        budget = MAX_BATCH_GET_RECORDS
        for ident in identifiers:
            name = ident["FeatureGroupName"]
            ids = ident["RecordIdentifiersValueAsString"]
            names = ident.get("FeatureNames")
            group = self.catalog.get(name)
            if group is None or not group.online_enabled:
                code, message = (
                    ("ResourceNotFound", fg_not_found_message(name))
                    if group is None
                    else ("ValidationError", f"Feature group {name} has no OnlineStore")
                )
                errors.extend(
                    {
                        "FeatureGroupName": name,
                        "RecordIdentifierValueAsString": rid,
                        "ErrorCode": code,
                        "ErrorMessage": message,
                    }
                    for rid in ids
                )
                continue
            wanted = self._check_feature_names(group, names)
            now_ids, later_ids = ids[:budget], ids[budget:]
            budget -= len(now_ids)
            if later_ids:
                entry: dict[str, Any] = {
                    "FeatureGroupName": name,
                    "RecordIdentifiersValueAsString": later_ids,
                }
                if names is not None:
                    entry["FeatureNames"] = names
                unprocessed.append(entry)
            for rid in now_ids:
                stored = self.online.get(group.name, rid)
                if stored is None:
                    continue  # missing, expired and soft-deleted ids are simply absent
                fvs = json.loads(stored.features_json)
                if wanted is not None:
                    fvs = [fv for fv in fvs if fv["FeatureName"] in wanted]
                result: dict[str, Any] = {
                    "FeatureGroupName": name,
                    "RecordIdentifierValueAsString": rid,
                    "Record": fvs,
                }
                if expiration == "Enabled" and stored.expires_at is not None:
                    result["ExpiresAt"] = stored.expires_at
                records.append(result)
        return {"Records": records, "Errors": errors, "UnprocessedIdentifiers": unprocessed}

    def delete_record(
        self,
        name: str,
        record_id: str | None,
        event_time: str | None,
        stores: list[str] | None,
        mode: str | None,
    ) -> None:
        api_ms = int(time.time() * 1000)
        group = self._group_for_write(name)
        if record_id is None or event_time is None:
            raise validation("RecordIdentifierValueAsString and EventTime are required")
        deletion = check_enum("deletionMode", mode or "SoftDelete", ("SoftDelete", "HardDelete"))
        event_ms = parse_event_time(event_time, group.event_time_type, "EventTime")
        to_online, to_offline = target_stores(group, stores)
        marker = {group.record_id_name: record_id, group.event_time_name: event_time}
        with self.db.transaction():
            if to_online:
                if deletion == "HardDelete":
                    self.online.hard_delete(group.name, record_id, event_ms)  # 400 if not newer
                else:
                    ordered = sorted(marker, key=group.position.__getitem__)
                    tombstone = encode_features(
                        [{"FeatureName": n, "ValueAsString": marker[n]} for n in ordered]
                    )
                    self.online.soft_delete(group.name, record_id, event_ms, tombstone)
            if to_offline:
                self.offline.append(group, marker, event_ms, api_ms, is_deleted=True)

    def batch_write_record(self, body: dict[str, Any]) -> dict[str, Any]:
        entries = check_list("entries", body.get("Entries"), 1, 25, items=dict, required=True)
        default_ttl = check_object("ttlDuration", body.get("TtlDuration"))
        ttl_seconds("ttlDuration", default_ttl)
        for entry in entries:  # the model's constraints fail the whole request ...
            _check_entry_shape(entry)
        # ... what only the group can decide (unknown group or feature, bad value) fails
        # its entry.
        errors: list[dict[str, Any]] = []
        api_ms = int(time.time() * 1000)
        for entry in entries:
            try:
                group = self._group_for_write(entry.get("FeatureGroupName"))
                ttl = entry.get("TtlDuration") or default_ttl
                self._write(group, entry.get("Record"), entry.get("TargetStores"), ttl, api_ms)
            except ApiError as exc:
                errors.append({"Entry": entry, "ErrorCode": exc.code, "ErrorMessage": exc.message})
        return {"Errors": errors, "UnprocessedEntries": []}
