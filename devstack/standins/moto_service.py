"""moto in server mode as a local-stack service, with its Kinesis made O(1) per record.

moto finds a shard's last sequence number by listing every key of the shard on each put,
scans a shard from its first record on each GetRecords, serialises every record through
botocore's shape model, and lists its own package folder on every request to find the
backend for a host. A 110,000-event replay then costs quadratic time (docs/dependencies.md
has the measurements). :class:`MotoPatch` replaces those pieces with versions that give the
same answers:

- moto numbers a shard's records 1, 2, 3 ... without gaps, so the record after sequence ``n``
  is key ``n + 1`` (where that does not hold, moto's own method runs);
- PutRecords and GetRecords answer with one ``json.dumps`` (Kinesis speaks JSON 1.1, with
  ``Data`` in base64 on the wire and as bytes in the shard, as moto keeps it); errors still
  go through moto's serializer;
- the backend of a host never changes while the server runs, so it is looked up once;
- DynamoDB's TransactWriteItems deep-copies every table it touches before writing (to roll
  back on a cancelled condition), so each transaction costs the size of the table, and two
  transactions at once fail when one copies a table the other is changing. The replacement
  (:func:`transact_write_items`) checks every condition first, then writes, under one lock:
  the same all-or-nothing answers, at the cost of the transaction's own items. Each distinct
  condition (text, names, values) is parsed once (:func:`_parsed_condition`). Transactions
  with an ``Update`` keep moto's own method.

One addition, for the fault suite: ``POST /_featurestream/dynamodb-faults`` with
``{"table": ..., "throttle_rate": ..., "seed": ...}`` makes a share of the DynamoDB calls that
touch that table answer ``ThrottlingException`` (400), as DynamoDB answers a caller over its
throughput (:class:`devstack.standins.dynamodb_faults.StateFaults`); ``GET`` returns how many
were throttled (a POST: under the settings it replaces). Off until set; ``{}`` turns it off.

These are moto's private internals, so moto is pinned exactly (:data:`MOTO_VERSION`) and
:func:`check_fit` compares a fingerprint of every moto function the patch replaces or relies
on with the one it was made against, before anything is patched. A different moto stops the
service at start-up with the version found and expected.
``python -m devstack.standins.moto_service`` checks, patches, then runs moto's own server.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import inspect
import json
import logging
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, Final

from devstack.stack.process import ServiceSpec
from featurestream.aws.dependency_fit import DependencyMismatch, require_fit

SERVICES: Final = ("kinesis", "sqs", "s3", "dynamodb", "cloudwatch", "glue")
ENDPOINT_ENV: Final = tuple(f"AWS_ENDPOINT_URL_{service.upper()}" for service in SERVICES)
HEALTH_PATH: Final = "/moto-api/config"
"""A cheap GET moto answers without touching any backend (``/moto-api/data.json`` dumps
every record, which is slow once a replay has filled the streams)."""

MOTO_VERSION: Final = "5.2.6"
"""The moto the patch was made and verified against; pyproject.toml pins it exactly."""
FINGERPRINTS: Final = {
    "moto.kinesis.models.Record.__init__": "28d16fccf0ac",
    "moto.kinesis.models.Record.to_json": "aa7e1be707e5",
    "moto.kinesis.models.Shard.put_record": "b898d6885c0e",
    "moto.kinesis.models.Shard.get_records": "97c3ed5a62c6",
    "moto.kinesis.models.Shard.get_max_sequence_number": "eff48df162f5",
    "moto.kinesis.models.Shard.get_min_sequence_number": "acae97051214",
    "moto.kinesis.models.KinesisBackend.get_records": "15d3ac1f7c0c",
    "moto.kinesis.models.KinesisBackend.put_records": "c7a18a62e3fb",
    "moto.kinesis.responses.KinesisResponse.get_records": "ff064b0a1a6e",
    "moto.kinesis.responses.KinesisResponse.put_records": "605c7b12968c",
    "moto.moto_server.werkzeug_app.DomainDispatcherApplication.get_backend_for_host": (
        "1f41972c1e4e"
    ),
    "moto.backends.list_of_moto_modules": "4f741a10b065",
    "moto.dynamodb.models.DynamoDBBackend.transact_write_items": "81db2cb7d94e",
    "moto.moto_server.werkzeug_app.DomainDispatcherApplication.__call__": "7b12179deced",
}
"""sha256 (first 12 hex digits) of the source of every moto function the patch replaces or
whose behaviour it assumes, as of :data:`MOTO_VERSION`; ``python -m devstack.standins.moto_service
--fingerprints`` prints the installed moto's."""


def moto_spec(port: int = 0) -> ServiceSpec:
    """How the local stack runs moto: this module, on loopback, with the patch."""
    argv = (
        sys.executable,
        "-m",
        "devstack.standins.moto_service",
        "--host",
        "{host}",
        "--port",
        "{port}",
    )
    return ServiceSpec(
        name="moto",
        argv=argv,
        port=port,
        health_path=HEALTH_PATH,
        endpoint_env=ENDPOINT_ENV,
    )


def _resolve(dotted: str) -> Any:
    """The object a dotted name (``module.Class.attribute``) names."""
    import importlib

    parts = dotted.split(".")
    for split in range(len(parts) - 1, 0, -1):
        try:
            target: Any = importlib.import_module(".".join(parts[:split]))
        except ImportError:
            continue
        for attribute in parts[split:]:
            target = getattr(target, attribute)
        return target
    raise ImportError(dotted)


def fingerprint(dotted: str) -> str:
    """sha256 of the named function's source, first 12 hex digits ("missing" if gone)."""
    try:
        source = inspect.getsource(_resolve(dotted))
    except (ImportError, AttributeError, OSError, TypeError):
        return "missing"
    return hashlib.sha256(source.encode()).hexdigest()[:12]


def installed_fingerprints() -> dict[str, str]:
    return {name: fingerprint(name) for name in FINGERPRINTS}


def installed_moto_version() -> str:
    import moto

    return str(moto.__version__)


def check_fit() -> None:
    """Raise :class:`DependencyMismatch` unless every patched moto function is the one the
    patch was made against."""
    changed = [
        f"{name} changed" if found != "missing" else f"{name} is gone"
        for name, found in installed_fingerprints().items()
        if found != FINGERPRINTS[name]
    ]
    require_fit("moto", installed_moto_version(), MOTO_VERSION, __name__, changed)


# -- the replacements ------------------------------------------------------------------------


def _max_sequence_number(shard: Any) -> int:
    return int(next(reversed(shard.records))) if shard.records else 0


def _min_sequence_number(shard: Any) -> int:
    return int(next(iter(shard.records))) if shard.records else 0


def _millis_between(earlier: datetime, later: datetime) -> int:
    return int((later - earlier).total_seconds() * 1000)


def fast_get_records(
    shard: Any, last_sequence_id: str, limit: int | None, *, original: Callable[..., Any]
) -> tuple[list[Any], int, int]:
    """``Shard.get_records`` by key lookup: the records after ``last_sequence_id`` (at most
    ``limit``), the last sequence number returned, and how far the newest record is ahead."""
    records = shard.records
    last = int(last_sequence_id)
    if not records:
        return [], last, 0
    first, newest = next(iter(records)), next(reversed(records))
    sequence = max(last + 1, first)
    results: list[Any] = []
    while sequence <= newest and (limit is None or len(results) < limit):
        if sequence not in records:  # a gap: not moto's numbering, so moto's own scan
            result: tuple[list[Any], int, int] = original(shard, last_sequence_id, limit)
            return result
        results.append(records[sequence])
        sequence += 1
    if not results:
        return [], last, 0
    behind = _millis_between(results[-1].created_at, records[newest].created_at)
    return results, int(results[-1].sequence_number), behind


def _epoch_seconds(moment: datetime) -> float:
    """moto's ``utcnow()`` is naive UTC: read it as UTC, never as the machine's local time."""
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def _request(response: Any) -> dict[str, Any]:
    body = response.body.decode() if isinstance(response.body, bytes) else response.body
    parsed: dict[str, Any] = json.loads(body or "{}")
    return parsed


def plain_get_records(response: Any) -> str:
    """GetRecords answered as moto's ``Record.to_json`` would be serialised: the arrival
    time as epoch seconds, the JSON protocol's timestamp format."""
    request = _request(response)
    iterator, records, behind = response.kinesis_backend.get_records(
        request.get("StreamARN"), request.get("ShardIterator"), request.get("Limit")
    )
    return json.dumps(
        {
            "NextShardIterator": iterator,
            "Records": [
                {
                    "Data": base64.b64encode(record.data).decode("ascii"),
                    "PartitionKey": record.partition_key,
                    "SequenceNumber": str(record.sequence_number),
                    "ApproximateArrivalTimestamp": _epoch_seconds(record.created_at),
                }
                for record in records
            ],
            "MillisBehindLatest": behind,
        }
    )


def plain_put_records(response: Any, *, original: Callable[[Any], Any]) -> Any:
    """PutRecords with ``Data`` decoded from base64 as moto's parser does (the shard then
    holds the same bytes, and the size limits count them); anything malformed goes to
    moto's own method, so its error answer is moto's."""
    request = _request(response)
    try:
        records = [
            {**entry, "Data": base64.b64decode(entry["Data"], validate=True)}
            for entry in request.get("Records") or []
        ]
    except (KeyError, TypeError, ValueError):
        return original(response)
    answer = response.kinesis_backend.put_records(
        request.get("StreamARN"), request.get("StreamName"), records
    )
    return json.dumps(answer)


_Write = tuple[str, str, dict[str, Any]]


def _key_of(table: Any, op_type: str, op: dict[str, Any]) -> dict[str, Any]:
    if op_type != "Put":
        return dict(op["Key"])
    attrs = op["Item"]
    key = {table.hash_key_attr: attrs[table.hash_key_attr]}
    if table.range_key_attr is not None:
        key[table.range_key_attr] = attrs[table.range_key_attr]
    return key


_CONDITIONS: dict[str, Any] = {}
_MAX_CONDITIONS: Final = 4096


def _parsed_condition(
    expression: str, names: dict[str, str] | None, values: dict[str, Any] | None
) -> Any:
    """moto's parse of a condition, kept by its text, names and values: a transaction repeats
    a few conditions (``attribute_not_exists(pk)`` on every dedupe record), and parsing was
    most of the patch's CPU per item. The parsed tree holds no state between evaluations;
    the cache is used under the transactions' lock and emptied when full."""
    from moto.dynamodb.comparisons import get_filter_expression

    key = json.dumps([expression, names, values], sort_keys=True)
    parsed = _CONDITIONS.get(key)
    if parsed is None:
        if len(_CONDITIONS) >= _MAX_CONDITIONS:
            _CONDITIONS.clear()
        parsed = _CONDITIONS[key] = get_filter_expression(expression, names, values)
    return parsed


def _check_action(backend: Any, op_type: str, op: dict[str, Any], targets: set[Any]) -> _Write:
    """One action checked against the table as it is; the write it makes (ConditionCheck:
    none, an empty op type). Raises what moto raises for it."""
    from moto.dynamodb.exceptions import ConditionalCheckFailed, MultipleTransactionsException

    if op_type not in {"ConditionCheck", "Put", "Delete"}:
        raise ValueError("Unsupported transaction operation")
    table_name = op["TableName"]
    key = _key_of(backend.get_table(table_name), op_type, op)
    target = (str(table_name), str(dict(sorted(key.items()))))
    if target in targets:
        raise MultipleTransactionsException()
    targets.add(target)
    current = backend.get_item(table_name, key)
    condition = op.get("ConditionExpression")
    if condition is not None:
        names, values = op.get("ExpressionAttributeNames"), op.get("ExpressionAttributeValues")
        if not _parsed_condition(condition, names, values).expr(current):
            old = None
            if op.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD" and current:
                old = current.to_json()["Attributes"]
            failure = ConditionalCheckFailed(item=old)
            failure.old_item = old  # type: ignore[attr-defined]  # the cancellation reason's
            raise failure
    if op_type == "ConditionCheck":
        return ("", table_name, key)
    return (op_type, table_name, op["Item"] if op_type == "Put" else key)


def transact_write_items(
    backend: Any, transact_items: list[dict[str, Any]], *, original: Callable[..., Any]
) -> None:
    """moto's TransactWriteItems for Put, Delete and ConditionCheck actions: every action's
    condition is checked against the table as it is, then, if none failed, every write is
    made (the caller holds the lock, so nothing changes in between). Cancellation reasons,
    codes and the errors for too many or repeated items are moto's own."""
    from moto.dynamodb.exceptions import (
        ConditionalCheckFailed,
        MockValidationException,
        MultipleTransactionsException,
        TooManyTransactionsException,
        TransactionCanceledException,
        TransactWriteSingleOpException,
    )

    if any("Update" in item for item in transact_items):
        original(backend, transact_items)
        return
    if len(transact_items) > 100:
        raise TooManyTransactionsException()
    targets: set[Any] = set()
    errors: list[tuple[Any, Any, Any]] = []
    writes: list[_Write] = []
    for item in transact_items:
        if len(item) > 1:
            raise TransactWriteSingleOpException
        op_type, op = next(iter(item.items()))
        try:
            writes.append(_check_action(backend, op_type, op, targets))
            errors.append((None, None, None))
        except (MultipleTransactionsException, MockValidationException):
            raise
        except ConditionalCheckFailed as error:
            old = getattr(error, "old_item", None)
            errors.append(("ConditionalCheckFailed", str(error.message), old))
        except Exception as error:  # moto's own: any other failure is this item's reason
            errors.append((type(error).__name__, str(error), None))
    if any(code is not None for code, _, _ in errors):
        raise TransactionCanceledException(errors)
    for op_type, table_name, value in writes:
        if op_type == "Put":
            backend.put_item(table_name, value)
        elif op_type == "Delete":
            backend.delete_item(table_name, value)


FAULTS_PATH: Final = "/_featurestream/dynamodb-faults"
_DYNAMODB_TARGET: Final = "DynamoDB_20120810."


class FaultSwitch:
    """The DynamoDB fault control and the throttling it switches on (see the module doc)."""

    def __init__(self) -> None:
        from devstack.standins.dynamodb_faults import StateFaults

        self._new = StateFaults
        self.faults = StateFaults(throttle_rate=0.0)

    def intercept(self, environ: dict[str, Any], start_response: Any) -> Any:
        """An answer for a control or throttled request; None: moto answers."""
        import io

        from devstack.standins.dynamodb_faults import THROTTLED

        if environ.get("PATH_INFO") == FAULTS_PATH:
            throttled = self.faults.injected  # by the settings being replaced, on a POST
            if environ.get("REQUEST_METHOD") == "POST":
                length = int(environ.get("CONTENT_LENGTH") or 0)
                settings = json.loads(environ["wsgi.input"].read(length) or b"{}")
                self.faults = self._new(
                    table=settings.get("table"),
                    throttle_rate=float(settings.get("throttle_rate", 0.0)),
                    seed=settings.get("seed"),
                )
            return _json(start_response, 200, {"throttled": throttled})
        if not self.faults.throttle_rate:
            return None
        if not str(environ.get("HTTP_X_AMZ_TARGET", "")).startswith(_DYNAMODB_TARGET):
            return None
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length)
        environ["wsgi.input"] = io.BytesIO(body)  # moto reads it again
        if self.faults.touches(body) and self.faults.throttle():
            return _json(start_response, 400, THROTTLED)
        return None


def _json(start_response: Any, status: int, body: object) -> list[bytes]:
    data = json.dumps(body).encode()
    reason = "OK" if status == 200 else "Bad Request"
    start_response(
        f"{status} {reason}",
        [("Content-Type", "application/x-amz-json-1.0"), ("Content-Length", str(len(data)))],
    )
    return [data]


class MotoPatch:
    """The replacements, applied to moto's classes and undone by :meth:`undo` (tests compare
    moto with and without them in one process)."""

    def __init__(self) -> None:
        self._saved: list[tuple[Any, str, Any]] = []

    def _replace(self, owner: Any, name: str, value: Any) -> None:
        self._saved.append((owner, name, owner.__dict__[name]))
        setattr(owner, name, value)

    def apply(self) -> None:
        check_fit()
        from moto import backends
        from moto.kinesis.models import Shard
        from moto.kinesis.responses import KinesisResponse
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication

        original_get_records = Shard.get_records

        def get_records(shard: Any, last_sequence_id: str, limit: int | None) -> Any:
            return fast_get_records(shard, last_sequence_id, limit, original=original_get_records)

        self._replace(Shard, "get_records", get_records)
        self._replace(Shard, "get_max_sequence_number", _max_sequence_number)
        self._replace(Shard, "get_min_sequence_number", _min_sequence_number)
        self._replace(KinesisResponse, "get_records", plain_get_records)
        original_put_records = KinesisResponse.put_records

        def put_records(response: Any) -> Any:
            return plain_put_records(response, original=original_put_records)

        self._replace(KinesisResponse, "put_records", put_records)

        modules = frozenset(backends.list_of_moto_modules())
        lookup = DomainDispatcherApplication.get_backend_for_host
        cache: dict[str | None, Any] = {}

        def get_backend_for_host(app: Any, host: str | None) -> Any:
            if host not in cache:
                cache[host] = lookup(app, host)
            return cache[host]

        from moto.dynamodb.models import DynamoDBBackend

        original_transact = DynamoDBBackend.transact_write_items
        transactions = threading.Lock()

        def transact(backend: Any, transact_items: list[dict[str, Any]]) -> None:
            with transactions:
                transact_write_items(backend, transact_items, original=original_transact)

        self._replace(DynamoDBBackend, "transact_write_items", transact)
        dispatch = DomainDispatcherApplication.__call__
        faults = FaultSwitch()

        def call(app: Any, environ: dict[str, Any], start_response: Any) -> Any:
            answered = faults.intercept(environ, start_response)
            return dispatch(app, environ, start_response) if answered is None else answered

        self._replace(DomainDispatcherApplication, "__call__", call)
        self._replace(backends, "list_of_moto_modules", lambda: modules)
        self._replace(DomainDispatcherApplication, "get_backend_for_host", get_backend_for_host)

    def undo(self) -> None:
        while self._saved:
            owner, name, value = self._saved.pop()
            setattr(owner, name, value)


@contextmanager
def patched_moto() -> Iterator[MotoPatch]:
    """moto patched for the block, as the service runs it."""
    patch = MotoPatch()
    patch.apply()
    try:
        yield patch
    finally:
        patch.undo()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m devstack.standins.moto_service", description=__doc__
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int)
    parser.add_argument(
        "--fingerprints",
        action="store_true",
        help="print the installed moto's fingerprints of the patched functions and exit",
    )
    args = parser.parse_args(argv)
    if args.fingerprints:
        print(f"moto {installed_moto_version()}")
        for name, value in installed_fingerprints().items():
            print(f'    "{name}": "{value}",')
        return 0
    if args.port is None:
        parser.error("--port is required")
    try:
        MotoPatch().apply()
    except DependencyMismatch as error:
        print(f"moto service: {error}", file=sys.stderr)
        return 3
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request
    from moto.server import main as moto_main

    moto_main(["--host", args.host, "--port", str(args.port)])
    return 0


if __name__ == "__main__":
    sys.exit(main())
