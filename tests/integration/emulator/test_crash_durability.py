"""What the emulator acknowledged survives ``kill -9``: a real emulator process is killed
with SIGKILL while writers are busy, restarted on the same port and state folder, and every
acknowledged record is checked online and in the Parquet files."""

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.request
from collections import Counter
from pathlib import Path

import boto3
import pyarrow.parquet as pq
import pytest
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from devstack.stack.process import free_port
from tests.integration.emulator.support import definitions, record

GROUP = "crash"
_CLIENT = Config(
    retries={"mode": "standard", "total_max_attempts": 1},
    connect_timeout=2,
    read_timeout=5,
    max_pool_connections=8,
)


class Emulator:
    """``python -m devstack.standins.featurestore`` as a child process (the way the local stack runs it)."""

    def __init__(self, state_dir: Path, port: int) -> None:
        self.state_dir, self.port = state_dir, port
        self.url = f"http://127.0.0.1:{port}"
        self.log = state_dir.parent / "featurestore.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "devstack.standins.featurestore",
                    "--state-dir",
                    str(self.state_dir),
                    "--port",
                    str(self.port),
                    "--flush-interval",
                    "3600",  # nothing reaches Parquet by time: only the journal holds rows
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.log.read_text()
            try:
                with urllib.request.urlopen(self.url + "/_emulator/health", timeout=1):
                    return
            except OSError:
                time.sleep(0.1)
        raise TimeoutError(self.log.read_text())

    def kill(self) -> None:
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGKILL)
        assert self.process.wait(timeout=10) == -signal.SIGKILL

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=60)

    def clients(self):
        kwargs = {"endpoint_url": self.url, "config": _CLIENT}
        return (
            boto3.client("sagemaker", **kwargs),
            boto3.client("sagemaker-featurestore-runtime", **kwargs),
        )


@pytest.fixture
def emulator(tmp_path):
    server = Emulator(tmp_path / "state", free_port())
    server.start()
    yield server
    server.stop()


def _create_group(sm) -> None:
    sm.create_feature_group(
        FeatureGroupName=GROUP,
        RecordIdentifierFeatureName="customer_id",
        EventTimeFeatureName="event_time",
        FeatureDefinitions=definitions(customer_id="String", event_time="String", n="Integral"),
        OnlineStoreConfig={"EnableOnlineStore": True},
        OfflineStoreConfig={"S3StorageConfig": {"S3Uri": "s3://crash-bucket/offline"}},
        RoleArn="arn:aws:iam::123456789012:role/featurestore",
    )


def _event_time(n: int) -> str:
    return f"2024-05-01T{n // 3600:02d}:{n // 60 % 60:02d}:{n % 60:02d}Z"


def _parquet_rows(state_dir: Path) -> list[dict]:
    return [
        row
        for path in sorted((state_dir / "offline-store").rglob("*.parquet"))
        for row in pq.read_table(path, columns=["customer_id", "event_time", "n"]).to_pylist()
    ]


def _write_until_killed(rt, writer: int, acknowledged: list, attempted: list, stop) -> None:
    """Puts for customers w<writer>-<k>, each a newer event than the last; records what the
    emulator answered 200 to, and what was sent at all."""
    n = 0
    while not stop.is_set():
        n += 1
        put = (f"w{writer}-{n % 25}", _event_time(n), str(n))
        attempted.append(put)
        try:
            rt.put_record(
                FeatureGroupName=GROUP,
                Record=record(customer_id=put[0], event_time=put[1], n=put[2]),
            )
        except (ClientError, BotoCoreError):
            return  # the emulator is gone: this put was not acknowledged
        acknowledged.append(put)


def test_acknowledged_writes_survive_sigkill_online_and_offline(emulator):
    sm, rt = emulator.clients()
    _create_group(sm)
    acknowledged: list[tuple[str, str, str]] = []
    attempted: list[tuple[str, str, str]] = []
    stop = threading.Event()
    writers = [
        threading.Thread(target=_write_until_killed, args=(rt, w, acknowledged, attempted, stop))
        for w in range(4)
    ]
    for thread in writers:
        thread.start()
    while len(acknowledged) < 400:
        time.sleep(0.01)
    assert _parquet_rows(emulator.state_dir) == []  # every row is still only journaled
    emulator.kill()  # mid-traffic: the writers still have requests in flight
    stop.set()
    for thread in writers:
        thread.join(timeout=30)

    emulator.start()  # same port, same state folder
    sm, rt = emulator.clients()

    # Offline: every acknowledged put has exactly one row, already moved at start-up.
    rows = Counter(
        (r["customer_id"], r["event_time"], str(r["n"])) for r in _parquet_rows(emulator.state_dir)
    )
    missing = [put for put in acknowledged if rows[put] == 0]
    assert missing == [], f"{len(missing)} of {len(acknowledged)} acknowledged rows lost"
    assert max(rows.values()) == 1  # no row written twice
    assert set(rows) <= set(attempted)  # in-flight puts may or may not have landed

    # Online: each customer holds its newest acknowledged event (or a newer one in flight).
    newest: dict[str, tuple[str, str, str]] = {}
    for put in acknowledged:
        if put[0] not in newest or put[1] > newest[put[0]][1]:
            newest[put[0]] = put
    for customer, put in newest.items():
        got = rt.get_record(FeatureGroupName=GROUP, RecordIdentifierValueAsString=customer)
        values = {f["FeatureName"]: f["ValueAsString"] for f in got["Record"]}
        assert values["event_time"] >= put[1], customer
        assert (customer, values["event_time"], values["n"]) in set(attempted)
    assert "Traceback" not in emulator.log.read_text()


def _journal_five_puts_and_kill(emulator):
    """Five acknowledged puts in one hour partition, then SIGKILL: (puts, the partition's
    data folder as ``bucket/key``, an open connection to the journal)."""
    sm, rt = emulator.clients()
    _create_group(sm)
    puts = [(f"c{n}", _event_time(n), str(n)) for n in range(1, 6)]
    for customer, event_time, n in puts:
        rt.put_record(
            FeatureGroupName=GROUP, Record=record(customer_id=customer, event_time=event_time, n=n)
        )
    described = sm.describe_feature_group(FeatureGroupName=GROUP)["OfflineStoreConfig"]
    data = described["S3StorageConfig"]["ResolvedOutputS3Uri"].removeprefix("s3://")
    emulator.kill()
    db = sqlite3.connect(emulator.state_dir / "featurestore.sqlite3")
    (table, partition), *others = db.execute("SELECT DISTINCT tbl, partition FROM offline_rows")
    assert others == []  # all five events are in one hour
    return puts, f"{data}/{partition}", table, db


def _claim(db, name: str, table: str, row_ids: list[int]) -> None:
    """What the mover records before writing a file (the state a crash leaves behind)."""
    partition = name.rsplit("/", 2)[0].split("/data/", 1)[1]
    with db:
        db.execute(
            "INSERT INTO offline_files VALUES (?, ?, ?, ?)",
            (name, table, partition, json.dumps(row_ids)),
        )


def test_a_file_claimed_before_the_crash_is_written_once_under_its_name(emulator):
    """Killed after claiming a file (maybe after writing it too) but before deleting its
    rows: the next start writes that same file again, replacing it, and no other."""
    puts, folder, table, db = _journal_five_puts_and_kill(emulator)
    ids = [row_id for (row_id,) in db.execute("SELECT id FROM offline_rows ORDER BY id")]
    name = f"{folder}/20240501T000005Z_0123456789abcdef.parquet"
    _claim(db, name, table, ids)
    db.close()
    claimed = emulator.state_dir / "offline-store" / name
    claimed.parent.mkdir(parents=True)
    claimed.write_bytes(b"whatever the crash left at that name")

    emulator.start()

    assert sorted(emulator.state_dir.rglob("*.parquet")) == [claimed]
    stored = pq.read_table(claimed, columns=["customer_id", "event_time", "n"]).to_pylist()
    assert sorted((r["customer_id"], r["event_time"], str(r["n"])) for r in stored) == puts
    _assert_journal_empty(emulator)


def test_a_file_whose_rows_were_partly_deleted_is_not_written_again(emulator):
    """Killed while deleting the rows of a written file: the rows still there are in that
    file already, so they are deleted, not written a second time."""
    _, folder, table, db = _journal_five_puts_and_kill(emulator)
    ids = [row_id for (row_id,) in db.execute("SELECT id FROM offline_rows ORDER BY id")]
    name = f"{folder}/20240501T000005Z_0123456789abcdef.parquet"
    _claim(db, name, table, ids)
    with db:
        db.execute("DELETE FROM offline_rows WHERE id IN (?, ?)", ids[:2])
    db.close()
    written = emulator.state_dir / "offline-store" / name
    written.parent.mkdir(parents=True)
    written.write_bytes(b"the file, complete before the crash")

    emulator.start()

    assert sorted(emulator.state_dir.rglob("*.parquet")) == [written]
    assert written.read_bytes() == b"the file, complete before the crash"
    _assert_journal_empty(emulator)


def _assert_journal_empty(emulator) -> None:
    db = sqlite3.connect(emulator.state_dir / "featurestore.sqlite3")
    counts = [
        db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
        for t in ("offline_rows", "offline_files")
    ]
    db.close()
    assert counts == [0, 0]
