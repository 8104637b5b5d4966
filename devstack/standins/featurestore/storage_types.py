"""What each online ``StorageType`` allows, where the developer guide and API reference say
so (docs/emulator.md, "Online storage types"):

- ``Standard`` (the default): every runtime call but UpdateRecord; Provisioned throughput.
- ``Standard_V2``: adds UpdateRecord; On-demand throughput only.
- ``InMemory``: adds UpdateRecord and collection types; no offline store (it does not
  replicate to one); On-demand throughput only.
"""

from __future__ import annotations

from typing import Any

from devstack.standins.featurestore.errors import cp_validation
from devstack.standins.featurestore.validation import STORAGE_TYPES

DEFAULT_STORAGE_TYPE = "Standard"
PROVISIONED_STORAGE_TYPES = ("Standard",)
OFFLINE_STORAGE_TYPES = ("Standard", "Standard_V2")
COLLECTION_STORAGE_TYPES = ("InMemory",)


def check_storage_rules(body: dict[str, Any]) -> None:
    """Refuse the store combinations the storage type cannot have: ``body`` is a
    CreateFeatureGroup request or a group's document after UpdateFeatureGroup."""
    online = body.get("OnlineStoreConfig")
    storage = online.get("StorageType", DEFAULT_STORAGE_TYPE) if isinstance(online, dict) else None
    definitions = body.get("FeatureDefinitions") or []
    if storage not in COLLECTION_STORAGE_TYPES and any(
        isinstance(d, dict) and d.get("CollectionType") for d in definitions
    ):
        raise cp_validation("Collection types are supported only with InMemory storage")
    if storage is None:
        return  # offline-only: every throughput mode, no storage type
    if storage not in STORAGE_TYPES:
        return  # the enum check names the member
    if body.get("OfflineStoreConfig") is not None and storage not in OFFLINE_STORAGE_TYPES:
        raise cp_validation(
            f"A feature group with the {storage} online store cannot have an "
            "OfflineStoreConfig: it does not replicate to an offline store"
        )
    throughput = body.get("ThroughputConfig")
    mode = throughput.get("ThroughputMode") if isinstance(throughput, dict) else None
    if mode == "Provisioned" and storage not in PROVISIONED_STORAGE_TYPES:
        raise cp_validation(
            "Provisioned throughput is supported only for offline-only feature groups and "
            f"the Standard online store, not {storage}"
        )
