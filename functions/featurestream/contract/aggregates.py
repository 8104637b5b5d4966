"""The customer-order-stats aggregate: pure functions, one definition for every path.

The tutorial's aggregate is ``COUNT(*)``, ``AVG(purchase_amount)`` and ``AVG(is_reordered)``
per customer. Kept incrementally, that is a count, a sum of amounts, a count of reorders and
the first/last order time: each order *contributes* once (:meth:`OrderStats.add`), and the
result does not depend on the order contributions arrive in (sums, counts, min and max are
commutative and associative). Amounts are summed as :class:`~decimal.Decimal` of the
event's decimal text, so a sum is exact whatever the order of addition; averages are divided
once, when the features are made.

The stream path (:mod:`featurestream.ingest.aggregate_state`) folds contributions into
DynamoDB state; the training-set builder folds the orders before each label with the same
:func:`fold`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from featurestream.contract.catalog import CUSTOMER_ORDER_STATS
from featurestream.contract.params import FittedParams
from featurestream.contract.timeutil import format_event_time

if TYPE_CHECKING:
    from featurestream.contract.events import OrderEvent
    from featurestream.contract.transforms import Features


@dataclass(frozen=True, slots=True)
class Contribution:
    """What one order adds to its customer's aggregate."""

    order_id: str
    customer_id: str
    amount: Decimal
    is_reordered: bool
    purchased_on: datetime


def amount_decimal(amount: float) -> Decimal:
    """The amount as the decimal the event's JSON wrote (``repr`` of a float round-trips its
    shortest text, so ``40.48`` becomes ``Decimal('40.48')``, not its binary expansion)."""
    return Decimal(repr(float(amount)))


def contribution_of(event: OrderEvent) -> Contribution:
    """An order event's contribution."""
    data = event.data
    return Contribution(
        order_id=data.order_id,
        customer_id=data.customer_id,
        amount=amount_decimal(data.purchase_amount),
        is_reordered=bool(data.is_reordered),
        purchased_on=data.purchased_on,
    )


@dataclass(frozen=True, slots=True)
class OrderStats:
    """One customer's aggregate over the orders counted so far (at least one)."""

    customer_id: str
    total_orders: int
    total_purchase_amount: Decimal
    reordered_orders: int
    first_purchased_on: datetime
    last_purchased_on: datetime

    @classmethod
    def of(cls, contribution: Contribution) -> OrderStats:
        """The aggregate of a single order."""
        return cls(
            customer_id=contribution.customer_id,
            total_orders=1,
            total_purchase_amount=contribution.amount,
            reordered_orders=int(contribution.is_reordered),
            first_purchased_on=contribution.purchased_on,
            last_purchased_on=contribution.purchased_on,
        )

    def add(self, contribution: Contribution) -> OrderStats:
        """This aggregate with one more order (the caller guarantees it was not counted)."""
        if contribution.customer_id != self.customer_id:
            raise ValueError("an order contributes to its own customer's aggregate only")
        return OrderStats(
            customer_id=self.customer_id,
            total_orders=self.total_orders + 1,
            total_purchase_amount=self.total_purchase_amount + contribution.amount,
            reordered_orders=self.reordered_orders + int(contribution.is_reordered),
            first_purchased_on=min(self.first_purchased_on, contribution.purchased_on),
            last_purchased_on=max(self.last_purchased_on, contribution.purchased_on),
        )

    @property
    def avg_purchase_amount(self) -> float:
        return float(self.total_purchase_amount / self.total_orders)

    @property
    def reorder_rate(self) -> float:
        return self.reordered_orders / self.total_orders


def fold(stats: OrderStats | None, contributions: Iterable[Contribution]) -> OrderStats | None:
    """``stats`` with every contribution added (``None``: no order yet)."""
    for contribution in contributions:
        stats = OrderStats.of(contribution) if stats is None else stats.add(contribution)
    return stats


def stats_features(stats: OrderStats, *, event_time: datetime, params: FittedParams) -> Features:
    """The customer-order-stats record, in catalog order.

    ``event_time`` is the aggregate's version time (see docs/aggregates.md), not an order's.
    ``avg_purchase_amount_scaled`` uses ``purchase_amount``'s scaler: a mean of amounts lies
    between their minimum and maximum, so it scales into the same range as the amounts.
    """
    average = stats.avg_purchase_amount
    features: Features = {
        "customer_id": stats.customer_id,
        "total_orders": stats.total_orders,
        "total_purchase_amount": float(stats.total_purchase_amount),
        "avg_purchase_amount": average,
        "avg_purchase_amount_scaled": params.scaler("purchase_amount").scale(average),
        "reorder_rate": stats.reorder_rate,
        "first_purchased_on": format_event_time(stats.first_purchased_on),
        "last_purchased_on": format_event_time(stats.last_purchased_on),
        "event_time": format_event_time(event_time),
        "transform_version": params.version,
    }
    names = CUSTOMER_ORDER_STATS.feature_names
    if tuple(features) != names:  # a catalog edit not matched here
        raise AssertionError("customer-order-stats: transform and catalog disagree")
    return features
