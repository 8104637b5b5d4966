"""Proof that the online customer-order-stats equal a batch computation of the same orders.

Two oracles, each over the orders deduplicated by ``order_id``:

* a pandas group-by over the orders CSV, written the way the tutorial's SQL reads
  (``COUNT(*)``, ``AVG(purchase_amount)``, ``AVG(is_reordered)`` per customer), plus the sum
  and the first/last order time;
* the tutorial's aggregate SQL itself (:data:`TUTORIAL_AGGREGATE_SQL`) on the offline
  store's ``orders`` table, run as the tutorial runs it (a ``CREATE TABLE AS``, then a
  SELECT of that table) through Athena's API as ``featurestream offline query`` runs it.
  That table holds ``purchase_amount`` min-max scaled (the raw dollars are not in the
  offline store), so its average is compared scaled, and unscaled with the fitted
  parameters the rows were written with (the scaler is linear, so the mean commutes with it).

The online side is every customer's ``customer-order-stats`` record, read with
``BatchGetRecord``. Amounts compare within :data:`TOLERANCE`; counts and times exactly.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Protocol

if TYPE_CHECKING:
    from featurestream.contract.params import FittedParams

TOLERANCE: Final = 1e-9
FRACTIONAL: Final = ("total_purchase_amount", "avg_purchase_amount", "reorder_rate")
BATCH_GET_IDS: Final = 100


def expected_from_orders(orders: Any, shift: timedelta = timedelta(0)) -> dict[str, dict[str, Any]]:
    """The aggregates per customer of an orders frame (columns as in raw/orders.csv), its
    times moved by ``shift`` (what ``replay --as-live`` added to every event time)."""
    import pandas as pd

    frame = orders.drop_duplicates(subset="order_id", keep="first").copy()
    purchased_on = pd.to_datetime(frame["purchased_on"], utc=True, format="ISO8601")
    frame["purchased_on"] = purchased_on + pd.Timedelta(shift)
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


def expected_from_csv(
    orders_csv: Path, shift: timedelta = timedelta(0)
) -> dict[str, dict[str, Any]]:
    """:func:`expected_from_orders` of ``raw/orders.csv``."""
    import pandas as pd

    return expected_from_orders(pd.read_csv(orders_csv), shift)


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
    oracle: str = "the batch group-by"

    @property
    def exact(self) -> bool:
        return not self.missing and not self.wrong

    def line(self) -> str:
        if self.exact:
            return (
                f"{self.checked} customers' aggregates equal {self.oracle} "
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


TUTORIAL_AGGREGATE_SQL: Final = """\
WITH orders AS (
  SELECT * FROM (
    SELECT *, row_number() OVER (
      PARTITION BY order_id ORDER BY write_time, api_invocation_time
    ) AS copy
    FROM {orders}
    WHERE NOT is_deleted
  )
  WHERE copy = 1
)
SELECT customer_id,
       COUNT(*) AS total_orders,
       AVG(purchase_amount) AS avg_purchase_amount,
       AVG(is_reordered) AS reorder_rate
FROM orders
GROUP BY customer_id
"""
"""The tutorial's aggregate (the SELECT of its ``CREATE TABLE AS``; :func:`tutorial_aggregate`
runs both), over the orders table with each ``order_id`` once: a redelivered event leaves a
second offline row, and the first written copy is kept (as the training query does).
``{orders}`` is the short name ``featurestream offline query`` expands."""

VERSIONS_SQL: Final = "SELECT DISTINCT customer_id, transform_version FROM {orders}"
OFFLINE_FRACTIONAL: Final = ("avg_purchase_amount", "avg_purchase_amount_scaled", "reorder_rate")


class OfflineQuery(Protocol):
    """What runs a query: ``featurestream offline``'s session (short names expanded)."""

    def run(self, sql: str) -> Any: ...


def tutorial_aggregate(session: OfflineQuery) -> Any:
    """The aggregate as the tutorial runs it: ``CREATE TABLE ... AS`` its SELECT, then a
    SELECT of the new table. The table has a name of its own per run and is dropped after
    (its Parquet stays under the results location, as Athena leaves it)."""
    table = f"tutorial_aggregate_{uuid.uuid4().hex[:12]}"
    session.run(f"CREATE TABLE {table} AS\n{TUTORIAL_AGGREGATE_SQL}")
    try:
        return session.run(f"SELECT * FROM {table}")  # noqa: S608  # nosec B608  # our name
    finally:
        session.run(f"DROP TABLE IF EXISTS {table}")


def expected_from_offline(session: OfflineQuery, params: FittedParams) -> dict[str, dict[str, Any]]:
    """The tutorial's aggregates per customer from the offline store. The scaled average is
    unscaled with ``params``; a customer with an order row written with other parameters
    (``transform_version``) gets ``avg_purchase_amount`` None: one scaler cannot unscale it."""
    scaler = params.scaler("purchase_amount")
    span = scaler.data_max - scaler.data_min
    if span == 0:
        raise ValueError("purchase_amount's scaler is constant: scaled amounts cannot be unscaled")
    other_params = {
        str(customer)
        for customer, version in session.run(VERSIONS_SQL).rows
        if version != params.version
    }
    result = tutorial_aggregate(session)
    names = [column.name for column in result.columns]
    expected: dict[str, dict[str, Any]] = {}
    for values in result.rows:
        row = dict(zip(names, values, strict=True))
        customer, scaled = str(row["customer_id"]), float(row["avg_purchase_amount"])
        expected[customer] = {
            "total_orders": int(row["total_orders"]),
            "avg_purchase_amount_scaled": scaled,
            "avg_purchase_amount": None
            if customer in other_params
            else scaled * span + scaler.data_min,
            "reorder_rate": float(row["reorder_rate"]),
        }
    return expected


def compare_offline(
    expected: dict[str, dict[str, Any]],
    online: dict[str, dict[str, str]],
    customers: Iterable[str] | None = None,
) -> AggregatesVerdict:
    """Each of ``customers`` (default: every customer of either side): the online record
    against the offline store's SQL. Absent from either side counts as missing (an order the
    offline store never got is as wrong as one the online store missed)."""
    verdict = AggregatesVerdict(oracle="the tutorial's SQL on the offline store")
    chosen = expected.keys() | online.keys() if customers is None else set(customers)
    for customer in sorted(chosen):
        verdict.checked += 1
        want, got = expected.get(customer), online.get(customer)
        if want is None or got is None:
            verdict.missing.append(customer)
            continue
        problems = []
        if int(got["total_orders"]) != want["total_orders"]:
            problems.append("total_orders")
        for name in OFFLINE_FRACTIONAL:
            if want[name] is None:  # scaled with other parameters: not comparable
                problems.append(f"{name} (other transform_version)")
                continue
            difference = abs(float(got[name]) - want[name])
            verdict.max_difference = max(verdict.max_difference, difference)
            if difference > TOLERANCE:
                problems.append(name)
        if problems:
            verdict.wrong.append(f"{customer}: {', '.join(problems)}")
    return verdict
