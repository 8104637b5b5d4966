"""ListRecords: the record identifiers in a group's online store, a page at a time.

Ids come in identifier order; the page token names the last id returned (and the group),
so records written or deleted between pages never shift a page (docs/emulator.md).
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from devstack.standins.featurestore.errors import fg_not_found_message, not_found, validation
from devstack.standins.featurestore.online import record_ids_after
from devstack.standins.featurestore.runtime import Runtime
from devstack.standins.featurestore.validation import check_fg_name_or_arn, check_int, check_length

DEFAULT_MAX_RESULTS = 100  # not documented; the model's maximum


def _token(group: str, last_id: str) -> str:
    """base64url of ``<group>\\n<last id>`` in UTF-8: group names have no newline, and an
    identifier is at most 2 KiB, so a token stays far below the model's 8192 characters."""
    return base64.urlsafe_b64encode(f"{group}\n{last_id}".encode()).decode()


def _after(group: str, token: Any) -> str | None:
    if token is None:
        return None
    check_length("nextToken", token, 1, 8192)
    try:
        decoded = base64.urlsafe_b64decode(token.encode("ascii")).decode()
    except (ValueError, binascii.Error):  # UnicodeError is a ValueError
        decoded = ""
    token_group, newline, after = decoded.partition("\n")
    if not newline or token_group != group:
        raise validation("NextToken is not a token ListRecords returned for this feature group")
    return after


def list_records(runtime: Runtime, name: str, body: dict[str, Any]) -> dict[str, Any]:
    group = runtime.catalog.get(name) if isinstance(name, str) else None
    if group is None:
        check_fg_name_or_arn("featureGroupName", name)
        raise not_found(fg_not_found_message(name))
    if not group.online_enabled:
        raise validation(f"Feature group {group.name} does not have an OnlineStore")
    limit = check_int("maxResults", body.get("MaxResults", DEFAULT_MAX_RESULTS), 1, 100)
    include_deleted = body.get("IncludeSoftDeletedRecords", False)
    if not isinstance(include_deleted, bool):
        raise validation("includeSoftDeletedRecords must be true or false")
    after = _after(group.name, body.get("NextToken"))
    ids = record_ids_after(runtime.online, group.name, after, limit + 1, include_deleted)
    out: dict[str, Any] = {"RecordIdentifiers": ids[:limit]}
    if len(ids) > limit:
        out["NextToken"] = _token(group.name, ids[limit - 1])
    return out
