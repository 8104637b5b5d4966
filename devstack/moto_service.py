"""moto in server mode as a local-stack service, with its Kinesis shard made O(1) per call.

moto 5.2.5 finds a shard's last sequence number by listing every key of the shard on each
put, and scans a shard from its first record on each GetRecords (aws-semantics §7.2), so a
110,000-event replay costs quadratic time. :func:`patch_kinesis_shard` replaces those three
shard methods with constant-time (per returned record) versions that give the same results:
moto numbers a shard's records 1, 2, 3 ... without gaps, so the next record after sequence
``n`` is key ``n + 1``. Where that assumption does not hold the original method runs.
``python -m devstack.moto_service`` applies the patch, then runs moto's own server.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import Any, Final

from devstack.process import ServiceSpec

SERVICES: Final = ("kinesis", "sqs", "s3", "dynamodb", "cloudwatch")
ENDPOINT_ENV: Final = tuple(f"AWS_ENDPOINT_URL_{service.upper()}" for service in SERVICES)
HEALTH_PATH: Final = "/moto-api/config"
"""A cheap GET moto answers without touching any backend (``/moto-api/data.json`` dumps
every record, which is slow once a replay has filled the streams)."""


def moto_spec(port: int = 0) -> ServiceSpec:
    """How the local stack runs moto: this module, on loopback, with the Kinesis patch."""
    argv = (sys.executable, "-m", "devstack.moto_service", "--host", "{host}", "--port", "{port}")
    return ServiceSpec(
        name="moto",
        argv=argv,
        port=port,
        health_path=HEALTH_PATH,
        endpoint_env=ENDPOINT_ENV,
    )


def patch_kinesis_shard() -> None:
    """Make moto's ``Shard`` put, GetRecords and ListShards independent of the shard length."""
    from moto.kinesis.models import Shard

    if getattr(Shard, "_featurestream_patched", False):
        return
    original_get_records: Callable[..., tuple[list[Any], int, int]] = Shard.get_records

    def get_max_sequence_number(self: Any) -> int:
        return int(next(reversed(self.records))) if self.records else 0

    def get_min_sequence_number(self: Any) -> int:
        return int(next(iter(self.records))) if self.records else 0

    def get_records(
        self: Any, last_sequence_id: str, limit: int | None
    ) -> tuple[list[Any], int, int]:
        records = self.records
        last = int(last_sequence_id)
        if not records:
            return [], last, 0
        first, newest = next(iter(records)), next(reversed(records))
        sequence = max(last + 1, first)
        if sequence <= newest and sequence not in records:  # a gap: not moto's numbering
            return original_get_records(self, last_sequence_id, limit)
        results: list[Any] = []
        while sequence in records and (limit is None or len(results) < limit):
            results.append(records[sequence])
            sequence += 1
        if not results:
            return [], last, 0
        behind = records[newest].created_at - results[-1].created_at
        return results, int(results[-1].sequence_number), int(behind * 1000)

    Shard.get_max_sequence_number = get_max_sequence_number  # type: ignore[method-assign]
    Shard.get_min_sequence_number = get_min_sequence_number  # type: ignore[method-assign]
    Shard.get_records = get_records  # type: ignore[method-assign]
    Shard._featurestream_patched = True  # type: ignore[attr-defined]


def patch_kinesis_responses() -> None:
    """Answer PutRecords and GetRecords with plain JSON instead of moto's generic serializer.

    moto 5.2.5 serialises every record through botocore's shape model (and re-parses the
    body for every parameter), about 0.2 ms per record each way. The wire format is the
    same (Kinesis speaks JSON 1.1; ``Data`` is base64 both ways and moto keeps it base64);
    errors still go through moto's serializer.
    """
    from moto.kinesis.responses import KinesisResponse

    if getattr(KinesisResponse, "_featurestream_patched", False):
        return

    def params(self: Any) -> dict[str, Any]:
        body = self.body.decode() if isinstance(self.body, bytes) else self.body
        parsed: dict[str, Any] = json.loads(body or "{}")
        return parsed

    def get_records(self: Any) -> str:
        request = params(self)
        iterator, records, behind = self.kinesis_backend.get_records(
            request.get("StreamARN"), request.get("ShardIterator"), request.get("Limit")
        )
        return json.dumps(
            {
                "NextShardIterator": iterator,
                "Records": [
                    {
                        "Data": record.data,
                        "PartitionKey": record.partition_key,
                        "SequenceNumber": str(record.sequence_number),
                        "ApproximateArrivalTimestamp": record.created_at,
                    }
                    for record in records
                ],
                "MillisBehindLatest": behind,
            }
        )

    def put_records(self: Any) -> str:
        request = params(self)
        response = self.kinesis_backend.put_records(
            request.get("StreamARN"), request.get("StreamName"), request.get("Records") or []
        )
        return json.dumps(response)

    KinesisResponse.get_records = get_records  # type: ignore[method-assign,assignment]
    KinesisResponse.put_records = put_records  # type: ignore[method-assign,assignment]
    KinesisResponse._featurestream_patched = True  # type: ignore[attr-defined]


def patch_request_dispatch() -> None:
    """Resolve each request's backend from a cache, and stop logging every request.

    moto 5.2.5 lists its package folder (``os.listdir`` + one ``isdir`` per service) on every
    request to find the backend for a host, and werkzeug logs every request line: together
    about two thirds of moto's CPU during a replay (sampled). The backend of a host never
    changes while the server runs, so one lookup per host is enough.
    """
    import logging

    from moto import backends
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication

    if getattr(DomainDispatcherApplication, "_featurestream_patched", False):
        return
    modules = frozenset(backends.list_of_moto_modules())
    backends.list_of_moto_modules = lambda: modules
    lookup = DomainDispatcherApplication.get_backend_for_host
    cache: dict[str | None, Any] = {}

    def get_backend_for_host(self: Any, host: str | None) -> Any:
        if host not in cache:
            cache[host] = lookup(self, host)
        return cache[host]

    DomainDispatcherApplication.get_backend_for_host = get_backend_for_host  # type: ignore[method-assign]
    DomainDispatcherApplication._featurestream_patched = True  # type: ignore[attr-defined]
    logging.getLogger("werkzeug").setLevel(logging.WARNING)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devstack.moto_service", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    patch_kinesis_shard()
    patch_kinesis_responses()
    patch_request_dispatch()
    from moto.server import main as moto_main

    moto_main(["--host", args.host, "--port", str(args.port)])
    return 0


if __name__ == "__main__":
    sys.exit(main())
