"""Feature-group definitions and feature metadata: kept in memory, persisted in SQLite.

The runtime reads groups on every call, so lookups are dict hits; writes are committed to
the database before they are answered, so the catalog survives restarts and crashes.
"""

from __future__ import annotations

import json
import threading

from devstack.standins.featurestore.database import Database
from devstack.standins.featurestore.model import FeatureGroup
from devstack.standins.featurestore.validation import fg_name_from


class Catalog:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._lock = threading.RLock()
        self._groups: dict[str, FeatureGroup] = {}
        with db.lock:
            rows = db.conn.execute("SELECT doc, metadata FROM feature_groups").fetchall()
        for doc, metadata in rows:
            group = FeatureGroup(json.loads(doc), json.loads(metadata))
            self._groups[group.name] = group

    def get(self, name_or_arn: str) -> FeatureGroup | None:
        group = self._groups.get(fg_name_from(name_or_arn))
        if group is not None and name_or_arn.startswith("arn:") and group.arn != name_or_arn:
            return None
        return group

    def all(self) -> list[FeatureGroup]:
        return list(self._groups.values())

    def save(self, group: FeatureGroup) -> None:
        with self._lock, self.db.transaction() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO feature_groups VALUES (?, ?, ?)",
                (group.name, json.dumps(group.doc), json.dumps(group.metadata)),
            )
            self._groups[group.name] = group

    def add(self, group: FeatureGroup) -> bool:
        """Insert a new group; False if the name is taken (checked atomically)."""
        with self._lock:
            if group.name in self._groups:
                return False
            self.save(group)
            return True

    def remove(self, name: str) -> None:
        with self._lock, self.db.transaction() as conn:
            conn.execute("DELETE FROM feature_groups WHERE name=?", (name,))
            self._groups.pop(name, None)
