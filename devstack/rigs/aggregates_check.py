"""Proof that the online customer-order-stats equal a batch computation of the same orders.

The oracle is a pandas group-by over the orders CSV, written the way the tutorial's SQL
reads (``COUNT(*)``, ``AVG(purchase_amount)``, ``AVG(is_reordered)`` per customer), over
the rows deduplicated by ``order_id``; plus the sum and the first/last order time. The
online side is every customer's ``customer-order-stats`` record, read with
``BatchGetRecord``. Amounts compare within :data:`TOLERANCE`; counts and times exactly.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

TOLERANCE: Final = 1e-9
FRACTIONAL: Final = ("total_purchase_amount", "avg_purchase_amount", "reorder_rate")
BATCH_GET_IDS: Final = 100


def expected_from_orders(orders: Any) -> dict[str, dict[str, Any]]:
    """The aggregates per customer of an orders frame (columns as in raw/orders.csv)."""
    import pandas as pd

    frame = orders.drop_duplicates(subset="order_id", keep="first").copy()
    frame["purchased_on"] = pd.to_datetime(frame["purchased_on"], utc=True, format="ISO8601")
    grouped = frame.groupby("customer_id").agg(
        total_orders=("order_id", "count"),
        total_purchase_amount=("purchase_amount", "sum"),
        avg_purchase_amount=("purchase_amount", "mean"),
        reorder_rate=("is_reordered", "mean"),
        first_purchased_on=("purchased_on", "min"),
        last_purchased_on=("purchased_on", "max"),
    )
    return {
        str(customer): {
            "total_orders": int(row.total_orders),
            "total_purchase_amount": float(row.total_purchase_amount),
            "avg_purchase_amount": float(row.avg_purchase_amount),
            "reorder_rate": float(row.reorder_rate),
            "first_purchased_on": row.first_purchased_on.to_pydatetime(),
            "last_purchased_on": row.last_purchased_on.to_pydatetime(),
        }
        for customer, row in grouped.iterrows()
    }


def expected_from_csv(orders_csv: Path) -> dict[str, dict[str, Any]]:
    """:func:`expected_from_orders` of ``raw/orders.csv``."""
    import pandas as pd

    return expected_from_orders(pd.read_csv(orders_csv))


def online_records(runtime: Any, group: str, customers: Iterable[str]) -> dict[str, dict[str, str]]:
    """Every customer's online record of ``group`` (absent customers are left out)."""
    ids = list(customers)
    records: dict[str, dict[str, str]] = {}
    for start in range(0, len(ids), BATCH_GET_IDS):
        chunk = ids[start : start + BATCH_GET_IDS]
        answer = runtime.batch_get_record(
            Identifiers=[{"FeatureGroupName": group, "RecordIdentifiersValueAsString": chunk}]
        )
        if answer.get("UnprocessedIdentifiers") or answer.get("Errors"):
            raise RuntimeError(f"BatchGetRecord left {group} records unread")
        for result in answer.get("Records", []):
            record = {f["FeatureName"]: f["ValueAsString"] for f in result["Record"]}
            records[result["RecordIdentifierValueAsString"]] = record
    return records


@dataclass
class AggregatesVerdict:
    """How many customers were compared, and who differs (``customer: what``)."""

    checked: int = 0
    missing: list[str] = field(default_factory=list)
    wrong: list[str] = field(default_factory=list)
    max_difference: float = 0.0

    @property
    def exact(self) -> bool:
        return not self.missing and not self.wrong

    def line(self) -> str:
        if self.exact:
            return (
                f"{self.checked} customers' aggregates equal the batch group-by "
                f"(largest difference {self.max_difference:.1e}, tolerance {TOLERANCE:.0e})"
            )
        return (
            f"{len(self.missing)} of {self.checked} customers without aggregates, "
            f"{len(self.wrong)} with wrong ones (e.g. {(self.missing + self.wrong)[:3]})"
        )


def compare(
    expected: dict[str, dict[str, Any]], online: dict[str, dict[str, str]]
) -> AggregatesVerdict:
    """Each expected customer's online record against the oracle."""
    from featurestream.contract.timeutil import parse_timestamp

    verdict = AggregatesVerdict()
    for customer, want in expected.items():
        verdict.checked += 1
        got = online.get(customer)
        if got is None:
            verdict.missing.append(customer)
            continue
        problems = []
        if int(got["total_orders"]) != want["total_orders"]:
            problems.append("total_orders")
        for name in FRACTIONAL:
            difference = abs(float(got[name]) - want[name])
            verdict.max_difference = max(verdict.max_difference, difference)
            if difference > TOLERANCE:
                problems.append(name)
        for name in ("first_purchased_on", "last_purchased_on"):
            if parse_timestamp(got[name]) != want[name]:
                problems.append(name)
        if problems:
            verdict.wrong.append(f"{customer}: {', '.join(problems)}")
    return verdict
