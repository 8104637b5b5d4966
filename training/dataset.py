"""Point-in-time correct training set: one row per order, features as of just before it.

For each order (label: ``is_reordered``) the row holds the customer's features from their
newest profile event at or before the order, and the customer's *previous* order's features,
with tenure and recency recomputed as of the order time by the library's own transforms.
That previous order is exactly what the online ``orders`` group holds for the customer when
the next order is predicted, so serving (latest order recomputed as of the request) sees the
same features as training (one definition of every feature on every path, README).
A customer's first order has no previous order, so it is not a training row; serving answers
"no orders record" for such a customer.

Only the standard library and :mod:`featurestream` here: the rows are plain lists, so this
is fast to test and the model module decides how to hold them.
"""

import bisect
import itertools
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from featurestream.contract.events import CustomerEvent, OrderEvent
from featurestream.contract.model_contract import ContractFeature
from featurestream.contract.params import FittedParams
from featurestream.contract.transforms import customer_features, order_features
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


def build_training_rows(
    history: History,
    params: FittedParams,
    features: Sequence[ContractFeature] = MODEL_FEATURES,
) -> list[TrainingRow]:
    """Every order that has a previous order and a profile in force, as a training row."""
    profiles = _ProfileTimeline(history.customers)
    rows: list[TrainingRow] = []
    for customer_id, orders in sorted(_by_customer_in_time(history.orders).items()):
        for previous, order in itertools.pairwise(orders):
            as_of = order.event_time
            profile = profiles.as_of(customer_id, as_of)
            if profile is None:
                continue  # no profile yet at order time: serving would answer "missing"
            groups = {
                "customers": customer_features(profile, params=params, as_of=as_of),
                "orders": order_features(previous, params=params, as_of=as_of),
            }
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
