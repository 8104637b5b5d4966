"""Online store: the newest record per identifier, with soft/hard delete and TTL.

Implements the event-time gate (newer wins, ties per ``TiePolicy``), tombstones for soft
delete, the forgotten watermark after a hard delete, and expiry at ``EventTime + TTL``.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

from devstack.standins.featurestore.config import TiePolicy
from devstack.standins.featurestore.database import Database
from devstack.standins.featurestore.errors import ApiError


@dataclass(frozen=True)
class StoredRecord:
    """What GetRecord needs: the FeatureValue list as JSON text and the expiry string."""

    features_json: str
    expires_at: str | None


@dataclass(frozen=True)
class ExpiredRecord:
    fg: str
    record_id: str
    expires_ms: int
    features_json: str


def _now_ms() -> int:
    return int(time.time() * 1000)


class OnlineStore:
    def __init__(self, db: Database, tie_policy: TiePolicy) -> None:
        self.db = db
        self.tie_policy = tie_policy

    def _newer(self, incoming_ms: int, stored_ms: int) -> bool:
        if self.tie_policy is TiePolicy.APPLY:
            return incoming_ms >= stored_ms
        return incoming_ms > stored_ms

    def _watermark(self, fg: str, record_id: str, now_ms: int) -> int | None:
        """The stored event time that gates writes, or None if the id is free.

        Expired rows count as free: expiry is a hard delete, which forgets the watermark.
        """
        row = self.db.conn.execute(
            "SELECT event_ms, expires_ms FROM records WHERE fg=? AND record_id=?", (fg, record_id)
        ).fetchone()
        if row is None or (row[1] is not None and row[1] <= now_ms):
            return None
        return int(row[0])

    def put(
        self,
        fg: str,
        record_id: str,
        event_ms: int,
        *,
        features_json: str,
        expires_ms: int | None,
        expires_at: str | None,
    ) -> bool:
        """Replace the row if the event time is newer; False means "historic" (offline only)."""
        with self.db.transaction() as conn:
            stored = self._watermark(fg, record_id, _now_ms())
            if stored is not None and not self._newer(event_ms, stored):
                return False
            conn.execute(
                "INSERT OR REPLACE INTO records VALUES (?, ?, ?, 0, ?, ?, ?)",
                (fg, record_id, event_ms, expires_ms, expires_at, features_json),
            )
            return True

    def get(self, fg: str, record_id: str) -> StoredRecord | None:
        with self.db.lock:
            row = self.db.conn.execute(
                "SELECT features, deleted, expires_ms, expires_at FROM records "
                "WHERE fg=? AND record_id=?",
                (fg, record_id),
            ).fetchone()
        if row is None or row[1] or (row[2] is not None and row[2] <= _now_ms()):
            return None
        return StoredRecord(row[0], row[3])

    def soft_delete(self, fg: str, record_id: str, event_ms: int, tombstone_json: str) -> bool:
        """Keep only id + event time online; a non-newer delete is silently ignored."""
        with self.db.transaction() as conn:
            stored = self._watermark(fg, record_id, _now_ms())
            if stored is not None and event_ms <= stored:
                return False
            conn.execute(
                "INSERT OR REPLACE INTO records VALUES (?, ?, ?, 1, NULL, NULL, ?)",
                (fg, record_id, event_ms, tombstone_json),
            )
            return True

    def hard_delete(self, fg: str, record_id: str, event_ms: int) -> None:
        """Remove the row (and its watermark); a non-newer delete is a 400."""
        with self.db.transaction() as conn:
            stored = self._watermark(fg, record_id, _now_ms())
            if stored is not None and event_ms <= stored:
                raise ApiError(
                    "ValidationException",
                    "Invalid EventTime for HardDelete: the delete's EventTime must be later "
                    "than the stored record's EventTime",
                )
            conn.execute("DELETE FROM records WHERE fg=? AND record_id=?", (fg, record_id))

    def drop_group(self, fg: str) -> None:
        with self.db.transaction() as conn:
            conn.execute("DELETE FROM records WHERE fg=?", (fg,))

    def size_bytes(self, fg: str) -> int:
        with self.db.lock:
            row = self.db.conn.execute(
                "SELECT COALESCE(SUM(LENGTH(features) + LENGTH(record_id)), 0) FROM records "
                "WHERE fg=?",
                (fg,),
            ).fetchone()
        return int(row[0])

    def purge_expired(self, limit: int = 1000) -> list[ExpiredRecord]:
        """Physically remove expired live rows; the caller writes their offline markers in
        the same transaction (open one around this call, or a crash could lose them)."""
        now = _now_ms()
        with self.db.transaction() as conn:
            rows = conn.execute(
                "SELECT fg, record_id, expires_ms, features FROM records "
                "WHERE expires_ms IS NOT NULL AND expires_ms <= ? AND deleted=0 LIMIT ?",
                (now, limit),
            ).fetchall()
            if rows:
                conn.executemany(
                    "DELETE FROM records WHERE fg=? AND record_id=? AND expires_ms=?",
                    [(r[0], r[1], r[2]) for r in rows],
                )
        return [ExpiredRecord(r[0], r[1], int(r[2]), r[3]) for r in rows]


@dataclass(frozen=True)
class CurrentRecord:
    """A live (not deleted, not expired) row with what a partial update needs."""

    event_ms: int
    expires_ms: int | None
    expires_at: str | None
    features_json: str


def current_record(store: OnlineStore, fg: str, record_id: str) -> CurrentRecord | None:
    """The live row for ``record_id``, read in the caller's transaction (UpdateRecord
    reads, merges and writes under one lock)."""
    row = store.db.conn.execute(
        "SELECT event_ms, deleted, expires_ms, expires_at, features FROM records "
        "WHERE fg=? AND record_id=?",
        (fg, record_id),
    ).fetchone()
    if row is None or row[1] or (row[2] is not None and row[2] <= _now_ms()):
        return None
    return CurrentRecord(int(row[0]), row[2], row[3], row[4])


def replace_record(
    store: OnlineStore,
    fg: str,
    record_id: str,
    event_ms: int,
    *,
    features_json: str,
    expires_ms: int | None,
    expires_at: str | None,
) -> None:
    """Write the row unconditionally (the caller has applied its own event-time rule)."""
    store.db.conn.execute(
        "INSERT OR REPLACE INTO records VALUES (?, ?, ?, 0, ?, ?, ?)",
        (fg, record_id, event_ms, expires_ms, expires_at, features_json),
    )


def record_ids_after(
    store: OnlineStore, fg: str, after: str | None, limit: int, include_deleted: bool
) -> list[str]:
    """Up to ``limit`` record ids of the group in id order, strictly after ``after``:
    live rows, plus soft-deleted tombstones when asked. Expired rows are hard-deleted as far
    as the service is concerned, so they never appear."""
    query = "SELECT record_id FROM records WHERE fg=? AND (expires_ms IS NULL OR expires_ms>?)"
    params: list[object] = [fg, _now_ms()]
    if after is not None:
        query += " AND record_id>?"
        params.append(after)
    if not include_deleted:
        query += " AND deleted=0"
    query += " ORDER BY record_id LIMIT ?"
    params.append(limit)
    with store.db.lock:
        rows = store.db.conn.execute(query, params).fetchall()
    return [str(r[0]) for r in rows]


def encode_features(values: list[dict[str, object]]) -> str:
    return json.dumps(values, separators=(",", ":"), ensure_ascii=False)
