"""The one SQLite file behind the emulator (WAL), shared by the catalog, online and offline stores.

A single connection guarded by one lock: every request does a read-compare-write that must
be atomic (the event-time gate), and SQLite serializes writers anyway, so a lock is both
the simplest correct choice and faster than a connection per thread.

Durability: every change runs in :meth:`Database.transaction`, which commits before the
request is answered, so whatever the emulator acknowledged is in the write-ahead log and
survives the process being killed (``kill -9``). ``synchronous=NORMAL`` skips the fsync per
commit: an operating-system crash or power loss can still lose the last commits, which a
laptop stand-in accepts.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
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
CREATE TABLE IF NOT EXISTS offline_tables (
    tbl TEXT PRIMARY KEY,
    doc TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS offline_rows (
    id INTEGER PRIMARY KEY,
    tbl TEXT NOT NULL,
    partition TEXT NOT NULL,
    event_ms INTEGER NOT NULL,
    api_ms INTEGER NOT NULL,
    deleted INTEGER NOT NULL,
    features TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS offline_files (
    file TEXT PRIMARY KEY,
    tbl TEXT NOT NULL,
    partition TEXT NOT NULL,
    row_ids TEXT NOT NULL
);
"""
"""``offline_tables``: each offline table's feature-group definition (rows outlive a deleted
group); ``offline_rows``: offline rows acknowledged but not yet in a Parquet file;
``offline_files``: Parquet files being written and the rows (a JSON list of ids) each holds
(see ``devstack.standins.featurestore.offline``)."""


class Database:
    """Owns the connection and the lock; changes go through :meth:`transaction`."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.lock = threading.RLock()
        self._depth = 0
        self._after_commit: list[Callable[[], None]] = []
        # Autocommit mode: transactions are opened and committed explicitly.
        self.conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=NORMAL")
        self.conn.executescript(_SCHEMA)

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """Hold the lock and run the block as one transaction, committed when it ends.

        Nested blocks on the same thread join the outer transaction. An exception rolls
        the whole transaction back and drops its :meth:`after_commit` callbacks.
        """
        with self.lock:
            if self._depth:
                self._depth += 1
                try:
                    yield self.conn
                finally:
                    self._depth -= 1
                return
            self.conn.execute("BEGIN")
            self._depth = 1
            try:
                yield self.conn
            except BaseException:
                self._depth = 0
                self._after_commit.clear()
                self.conn.execute("ROLLBACK")
                raise
            self._depth = 0
            self.conn.execute("COMMIT")
            callbacks, self._after_commit = self._after_commit, []
            for callback in callbacks:
                callback()

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` (under the lock) once the current transaction has committed:
        in-memory state that mirrors the database changes only with the database."""
        if not self._depth:
            raise RuntimeError("after_commit needs an open transaction")
        self._after_commit.append(callback)

    def close(self) -> None:
        with self.lock:
            self.conn.close()
