"""The one SQLite file behind the emulator (WAL), shared by the catalog and online store.

A single connection guarded by one lock: every request does a read-compare-write that must
be atomic (the event-time gate), and SQLite serializes writers anyway, so a lock is both
the simplest correct choice and faster than a connection per thread.

Writes use group commit: they join an open transaction that a background thread commits
every ``commit_interval`` seconds (and ``close()`` commits), because a commit per write
costs several times the write itself. A clean stop loses nothing; a hard kill loses at
most the last interval. ``commit_interval=0`` commits every write.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

_SCHEMA = """
CREATE TABLE IF NOT EXISTS feature_groups (
    name TEXT PRIMARY KEY,
    doc TEXT NOT NULL,
    metadata TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS records (
    fg TEXT NOT NULL,
    record_id TEXT NOT NULL,
    event_ms INTEGER NOT NULL,
    deleted INTEGER NOT NULL,
    expires_ms INTEGER,
    expires_at TEXT,
    features TEXT NOT NULL,
    PRIMARY KEY (fg, record_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS records_expiry ON records (expires_ms) WHERE expires_ms IS NOT NULL;
"""


class Database:
    """Owns the connection and the lock; callers run statements inside ``with db.lock``."""

    def __init__(self, path: Path, commit_interval: float = 0.05) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.lock = threading.Lock()
        self.commit_interval = commit_interval
        self._closed = threading.Event()
        # Autocommit: each statement is its own transaction; multi-statement changes use
        # explicit BEGIN/COMMIT under the lock.
        self.conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self.conn.execute("PRAGMA journal_mode=WAL")
        # NORMAL in WAL mode survives process crashes (not power loss) without an fsync
        # per write, which is what a laptop stand-in needs.
        self.conn.execute("PRAGMA synchronous=NORMAL")
        self.conn.executescript(_SCHEMA)
        self._committer: threading.Thread | None = None
        if commit_interval > 0:
            self._committer = threading.Thread(
                target=self._commit_loop, name="sqlite-group-commit", daemon=True
            )
            self._committer.start()

    def write(self, sql: str, params: tuple[object, ...]) -> None:
        """Run one data-changing statement (caller holds ``lock``), group-committed."""
        if self.commit_interval > 0 and not self.conn.in_transaction:
            self.conn.execute("BEGIN")
        self.conn.execute(sql, params)

    def commit(self) -> None:
        with self.lock:
            if self.conn.in_transaction:
                self.conn.execute("COMMIT")

    def _commit_loop(self) -> None:
        while not self._closed.wait(self.commit_interval):
            self.commit()

    def close(self) -> None:
        self._closed.set()
        if self._committer is not None:
            self._committer.join(timeout=5)
        with self.lock:
            if self.conn.in_transaction:
                self.conn.execute("COMMIT")
            self.conn.close()
