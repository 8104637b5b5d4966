"""Point-in-time correct training set: one row per order, features as of just before it.

For each order (label: ``is_reordered``) the row holds the customer's features from their
newest profile event at or before the order, and the customer's *previous* order's features,
with tenure and recency recomputed as of the order time by the library's own transforms.
That previous order is exactly what the online ``orders`` group holds for the customer when
the next order is predicted, so serving (latest order recomputed as of the request) sees the
same features as training (one definition of every feature on every path, README).
A customer's first order has no previous order, so it is not a training row; serving answers
"no orders record" for such a customer.

With :data:`AGGREGATE_FEATURES`, the row also holds the customer's ``customer-order-stats``
as of just before the label: folded (:func:`featurestream.contract.aggregates.fold`, the
stream's own arithmetic) over the orders strictly before the label's time, never the
label's own order nor one placed at the same moment. That is what the online store holds
for the customer when an order placed at that time is predicted.

Only the standard library and :mod:`featurestream` here: the rows are plain lists, so this
is fast to test and the model module decides how to hold them.
"""

import bisect
import itertools
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from featurestream.contract.aggregates import OrderStats, contribution_of, fold, stats_features
from featurestream.contract.events import CustomerEvent, OrderEvent
from featurestream.contract.model_contract import ContractFeature
from featurestream.contract.params import FittedParams
from featurestream.contract.transforms import Features, customer_features, order_features
from training.history import History

MODEL_FEATURES: tuple[ContractFeature, ...] = (
    ContractFeature("sex", "customers"),
    ContractFeature("is_married", "customers"),
    ContractFeature("age_18-29", "customers"),
    ContractFeature("age_30-39", "customers"),
    ContractFeature("age_40-49", "customers"),
    ContractFeature("age_50-59", "customers"),
    ContractFeature("age_60-69", "customers"),
    ContractFeature("age_70-plus", "customers"),
    ContractFeature("n_days_active", "customers"),
    ContractFeature("purchase_amount", "orders"),
    ContractFeature("is_reordered", "orders"),
    ContractFeature("n_days_since_last_purchase", "orders"),
)
"""What the model is trained on, in vector order. ``orders`` features are the previous
order's; ``n_days_active`` and ``n_days_since_last_purchase`` are recomputed as of the label."""

STATS_GROUP = "customer-order-stats"
AGGREGATE_FEATURES: tuple[ContractFeature, ...] = (
    ContractFeature("total_orders", STATS_GROUP),
    ContractFeature("avg_purchase_amount_scaled", STATS_GROUP),
    ContractFeature("reorder_rate", STATS_GROUP),
)
"""The customer's order aggregates as of just before the label (see the module doc)."""
MODEL_FEATURES_WITH_AGGREGATES: tuple[ContractFeature, ...] = MODEL_FEATURES + AGGREGATE_FEATURES


@dataclass(frozen=True)
class TrainingRow:
    """One labelled example; ``features`` follow :data:`MODEL_FEATURES` order."""

    customer_id: str
    order_id: str
    as_of: datetime
    features: tuple[float, ...]
    label: int


def _by_customer_in_time(events: Iterable[OrderEvent]) -> dict[str, list[OrderEvent]]:
    grouped: dict[str, list[OrderEvent]] = defaultdict(list)
    for event in events:
        grouped[event.customer_id].append(event)
    for orders in grouped.values():
        orders.sort(key=lambda e: (e.event_time, e.data.order_id))  # CSV rows are not in time order
    return grouped


class _ProfileTimeline:
    """Each customer's profile events by event time, to find the one in force at a moment."""

    def __init__(self, events: Iterable[CustomerEvent]) -> None:
        grouped: dict[str, list[CustomerEvent]] = defaultdict(list)
        for event in events:
            grouped[event.customer_id].append(event)
        self._events = {
            cid: sorted(evs, key=lambda e: e.event_time) for cid, evs in grouped.items()
        }
        self._times = {cid: [e.event_time for e in evs] for cid, evs in self._events.items()}

    def as_of(self, customer_id: str, moment: datetime) -> CustomerEvent | None:
        """The newest profile event with event time ≤ ``moment`` (what the store held then)."""
        times = self._times.get(customer_id)
        if not times:
            return None
        index = bisect.bisect_right(times, moment)
        return self._events[customer_id][index - 1] if index else None


def stats_before(orders: Sequence[OrderEvent]) -> list[OrderStats | None]:
    """For each of a customer's orders (sorted by event time), the aggregate of the orders
    strictly before its event time (``None``: none); each order id counts once."""
    result: list[OrderStats | None] = []
    stats: OrderStats | None = None
    counted: set[str] = set()
    folded = 0
    for order in orders:
        while folded < len(orders) and orders[folded].event_time < order.event_time:
            earlier = orders[folded]
            if earlier.data.order_id not in counted:
                counted.add(earlier.data.order_id)
                stats = fold(stats, [contribution_of(earlier)])
            folded += 1
        result.append(stats)
    return result


def build_training_rows(
    history: History,
    params: FittedParams,
    features: Sequence[ContractFeature] = MODEL_FEATURES,
) -> list[TrainingRow]:
    """Every order that has a previous order and a profile in force, as a training row."""
    profiles = _ProfileTimeline(history.customers)
    with_stats = any(f.group == STATS_GROUP for f in features)
    rows: list[TrainingRow] = []
    for customer_id, orders in sorted(_by_customer_in_time(history.orders).items()):
        before = stats_before(orders) if with_stats else [None] * len(orders)
        for (previous, order), stats in zip(itertools.pairwise(orders), before[1:], strict=True):
            as_of = order.event_time
            profile = profiles.as_of(customer_id, as_of)
            if profile is None:
                continue  # no profile yet at order time: serving would answer "missing"
            groups: dict[str, Features] = {
                "customers": customer_features(profile, params=params, as_of=as_of),
                "orders": order_features(previous, params=params, as_of=as_of),
            }
            if with_stats:
                if stats is None:
                    continue  # only orders at the label's own time: no aggregate yet
                groups[STATS_GROUP] = stats_features(stats, event_time=as_of, params=params)
            vector = tuple(float(groups[f.group][f.name]) for f in features)
            rows.append(
                TrainingRow(
                    customer_id, order.data.order_id, as_of, vector, int(order.data.is_reordered)
                )
            )
    return rows


def is_holdout(customer_id: str, modulus: int = 5) -> bool:
    """Hold out whole customers (ids divisible by ``modulus``), so no customer is on both sides."""
    return int(customer_id[1:]) % modulus == 0


def split_by_customer(
    rows: Sequence[TrainingRow], modulus: int = 5
) -> tuple[list[TrainingRow], list[TrainingRow]]:
    """(train, holdout), split by customer id."""
    train = [row for row in rows if not is_holdout(row.customer_id, modulus)]
    holdout = [row for row in rows if is_holdout(row.customer_id, modulus)]
    return train, holdout
