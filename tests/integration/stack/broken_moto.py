"""The local stack's moto, broken on purpose: GetRecords fails on any shard holding records,
as moto 5.2.6 did under the old patch. ``python -m tests.integration.stack.broken_moto``."""

import argparse
from typing import Any

from devstack.standins.moto_service import MotoPatch


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    MotoPatch().apply()
    from moto.kinesis.models import Shard

    working = Shard.get_records

    def get_records(shard: Any, last_sequence_id: str, limit: int | None) -> Any:
        if shard.records:
            raise TypeError("broken on purpose: unsupported operand for GetRecords")
        return working(shard, last_sequence_id, limit)

    Shard.get_records = get_records  # type: ignore[method-assign]
    from moto.server import main as moto_main

    moto_main(["--host", args.host, "--port", str(args.port)])


if __name__ == "__main__":
    main()
