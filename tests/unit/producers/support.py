"""Test helpers: small CSV exports, events, and Kinesis client stand-ins."""

import threading
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

CUSTOMER_HEADER = ",customer_id,name,sex,state,age,is_married,active_since,event_time"
ORDER_HEADER = (
    ",order_id,customer_id,product_id,purchase_amount,is_reordered,purchased_on,event_time"
)
EXPORT_TIME = "2022-01-01T00:00:00.000Z"


def customer_row(index: int, customer: str, active_since: str, *, age: str = "40") -> str:
    return f"{index},{customer},Jane Doe,F,Ohio,{age},False,{active_since},{EXPORT_TIME}"


def order_row(
    index: int, order: str, customer: str, purchased_on: str, *, amount: str = "9.5"
) -> str:
    return f"{index},{order},{customer},P7,{amount},1,{purchased_on},{EXPORT_TIME}"


def write_csv(path: Path, header: str, rows: Iterable[str]) -> Path:
    path.write_text("\n".join([header, *rows]) + "\n")
    return path


def write_exports(
    directory: Path, customers: int = 6, orders_per_customer: int = 3
) -> tuple[Path, Path]:
    """Customers registered in 2020, orders in 2021, orders written newest first."""
    customer_rows = [
        customer_row(i, f"C{i + 1}", f"2020-01-{i + 1:02d} 10:00:00") for i in range(customers)
    ]
    order_rows = []
    n = 0
    for c in range(customers):
        for k in range(orders_per_customer):
            n += 1
            order_rows.append(
                order_row(n, f"O{n}", f"C{c + 1}", f"2021-0{k + 1}-{c + 1:02d} 12:00:00")
            )
    order_rows.reverse()
    return (
        write_csv(directory / "customers.csv", CUSTOMER_HEADER, customer_rows),
        write_csv(directory / "orders.csv", ORDER_HEADER, order_rows),
    )


def order_event(order: int, customer: str = "C1", *, day: int = 1) -> dict[str, Any]:
    moment = f"2021-03-{day:02d}T12:00:00Z"
    return {
        "event_id": f"order.placed:O{order}",
        "schema_version": 1,
        "event_type": "order.placed",
        "event_time": moment,
        "source": "test",
        "data": {
            "order_id": f"O{order}",
            "customer_id": customer,
            "product_id": "P7",
            "purchase_amount": 12.5,
            "is_reordered": False,
            "purchased_on": moment,
        },
    }


class RecordingClient:
    """Accepts everything, remembering each call's records; ``fail`` decides per attempt
    which records fail (by partition key and data), like a throttled shard would."""

    def __init__(
        self,
        fail: Callable[[str, bytes, int], str | None] | None = None,
        inner: Any = None,
    ) -> None:
        self.calls: list[list[dict[str, Any]]] = []
        self.accepted: list[tuple[str, bytes]] = []
        self.attempts: dict[bytes, int] = {}
        self._fail = fail
        self._inner = inner
        self._lock = threading.Lock()

    def put_records(self, *, StreamName: str, Records: list[dict[str, Any]]) -> Mapping[str, Any]:
        with self._lock:
            self.calls.append(Records)
            outcome: list[str | None] = []
            for record in Records:
                attempt = self.attempts.get(record["Data"], 0) + 1
                self.attempts[record["Data"]] = attempt
                code = (
                    self._fail(record["PartitionKey"], record["Data"], attempt)
                    if self._fail
                    else None
                )
                outcome.append(code)
            passing = [r for r, code in zip(Records, outcome, strict=True) if code is None]
            real: list[dict[str, Any]] = []
            if passing and self._inner is not None:
                real = list(
                    self._inner.put_records(StreamName=StreamName, Records=passing)["Records"]
                )
            results = []
            for record, code in zip(Records, outcome, strict=True):
                if code is None:
                    self.accepted.append((record["PartitionKey"], record["Data"]))
                    results.append(
                        real.pop(0)
                        if self._inner is not None
                        else {"ShardId": "s", "SequenceNumber": "1"}
                    )
                else:
                    results.append({"ErrorCode": code, "ErrorMessage": "injected"})
            return {"FailedRecordCount": sum(1 for c in outcome if c), "Records": results}
