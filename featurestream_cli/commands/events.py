"""``featurestream events``: write the sample Lambda events in ``events/`` from ``raw/``.

Each file is exactly what Lambda hands a function for a Kinesis batch (docs/trigger-runner.md),
with the bytes the replay producer would send, so it works with ``sam local invoke -e`` and
``featurestream invoke``. Deterministic: same CSVs, same files (``--check`` verifies).
"""

import json
from collections.abc import Iterator
from itertools import islice
from pathlib import Path
from typing import Any, Final, TypeVar

import click

from featurestream_cli.options import DEFAULT_CUSTOMERS, DEFAULT_ORDERS

ARRIVAL: Final = 1_640_995_200.0  # 2022-01-01T00:00:00Z, after the history ends
CUSTOMER_BATCH: Final = 5
ORDER_BATCH: Final = 10
POISON_PILLS: Final = (
    b"this is not JSON {",
    # valid JSON, wrong schema: negative amount, unknown field, event_time != purchased_on
    json.dumps(
        {
            "event_id": "order.placed:O999999",
            "schema_version": 1,
            "event_type": "order.placed",
            "event_time": "2021-12-01T00:00:00.000Z",
            "source": "sample",
            "data": {
                "order_id": "O999999",
                "customer_id": "C1",
                "product_id": "P1",
                "purchase_amount": -10.0,
                "is_reordered": False,
                "purchased_on": "2021-11-30T00:00:00.000Z",
                "coupon": "FREE",
            },
        }
    ).encode(),
)

T = TypeVar("T")


def _valid(rows: Iterator[Any], count: int) -> list[Any]:
    from producers.sources import SourceRow

    return list(islice((row.event for row in rows if isinstance(row, SourceRow)), count))


def build_events(customers: Path, orders: Path) -> dict[str, dict[str, Any]]:
    """File name → Lambda event, for the three sample batches."""
    from devstack.standins.kinesis_event import StreamPosition, kinesis_event
    from producers.encoding import encode_event
    from producers.sources import SourceFileError, read_customer_events, read_order_events

    customer_stream = StreamPosition("featurestream-customer-events")
    order_stream = StreamPosition("featurestream-order-events")
    customer_entries = [
        (e.partition_key, e.data)
        for e in map(encode_event, _valid(read_customer_events(customers), CUSTOMER_BATCH))
    ]
    order_entries = [
        (e.partition_key, e.data)
        for e in map(encode_event, _valid(read_order_events(orders), ORDER_BATCH))
    ]
    for path, entries in ((customers, customer_entries), (orders, order_entries)):
        if not entries:
            raise SourceFileError(f"{path}: no valid rows to make sample events from")
    poisoned = [
        *order_entries[:2],
        ("C1", POISON_PILLS[0]),
        *order_entries[2:4],
        ("C1", POISON_PILLS[1]),
        *order_entries[4:6],
    ]
    return {
        "customer-batch.json": kinesis_event(
            customer_entries, position=customer_stream, arrival=ARRIVAL
        ),
        "order-batch.json": kinesis_event(order_entries, position=order_stream, arrival=ARRIVAL),
        "order-batch-poison-pill.json": kinesis_event(
            poisoned, position=order_stream, arrival=ARRIVAL
        ),
    }


def render(event: dict[str, Any]) -> str:
    return json.dumps(event, indent=2) + "\n"


@click.command()
@click.option("--customers", type=click.Path(path_type=Path), default=DEFAULT_CUSTOMERS)
@click.option("--orders", type=click.Path(path_type=Path), default=DEFAULT_ORDERS)
@click.option(
    "-o", "--output", type=click.Path(path_type=Path, file_okay=False), default=Path("events")
)
@click.option("--check", is_flag=True, help="fail if the files differ from what would be written")
def command(customers: Path, orders: Path, output: Path, check: bool) -> None:
    """Generate the sample Kinesis events (customer batch, order batch, poison pills)."""
    from producers.files import OutputError, ensure_folder, write_replacing
    from producers.sources import SourceFileError

    try:
        events = build_events(customers, orders)
    except SourceFileError as error:
        raise click.ClickException(str(error)) from error
    stale = []
    for name, event in events.items():
        path = output / name
        text = render(event)
        if check:
            if not path.is_file() or path.read_bytes() != text.encode():
                stale.append(str(path))
            continue
        try:
            ensure_folder(output)
            write_replacing(path, text)
        except OutputError as error:
            raise click.ClickException(str(error)) from error
        click.echo(f"wrote {path} ({len(event['Records'])} records)")
    if stale:
        raise click.ClickException(f"out of date: {', '.join(stale)}; run `featurestream events`")
