"""Each customer's order aggregate in DynamoDB, every order counted exactly once.

Delivery is at least once (Kinesis redelivers, producers resend, upstream apps publish
duplicates), so an order's contribution is made idempotent by its ``order_id``. One table
holds two kinds of item, both keyed by ``pk``:

* ``customer#<id>``: the customer's aggregate (:class:`~featurestream.contract.aggregates.
  OrderStats`), its ``version`` and the event time of its newest aggregate record;
* ``order#<id>``: the order's dedupe record, present once the order was counted, expiring
  through the table's TTL attribute ``expires_at`` (:func:`dedupe_expiry`).

One invocation does, for every customer its orders touch:

1. ``BatchGetItem`` (strongly consistent, 100 keys per call, calls in flight together) of
   the customer's aggregate and its orders' dedupe records; orders already counted drop out.
   The first read may be started early (:meth:`AggregateState.prefetch`, while the orders
   are still being written): a read only informs the writes, whose conditions decide, so an
   earlier snapshot is as safe as a later one (a change in between cancels the transaction
   and the customer is read again), and orders that end up not written are not counted.
2. One ``TransactWriteItems`` per group of customers (at most 100 items each, in flight
   together): per customer, a ``Put`` of the new aggregate on condition that its ``version``
   is the one read (or that it does not exist yet), and a ``Put`` of each new order's dedupe
   record on condition that it does not exist. Either all of a transaction's items are
   written or none: an order is counted if and only if its dedupe record exists.

A transaction cancelled by a failed condition (another writer got there first, or a
response was lost and botocore's retry found its own first attempt) is re-read and retried;
the others of its transaction are retried as they were. What still fails after
:data:`MAX_ATTEMPTS` rounds, or a call that failed after botocore's retries, fails the
customer's records with a transient :class:`~featurestream.aws.store_errors.StoreError`:
Lambda redelivers them, and step 1 then finds what was already counted.

Every new aggregate's event time is strictly later than the previous one's
(:func:`next_event_time`), so the Feature Store's newest-event-time rule never drops it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Executor, Future
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, Final

from botocore.exceptions import BotoCoreError, ClientError

from featurestream.aws.resend import resend_unfinished
from featurestream.aws.store_errors import StoreError, TransientStoreError, classify
from featurestream.contract.aggregates import Contribution, OrderStats, fold

MAX_TRANSACTION_ITEMS: Final = 100
"""TransactWriteItems' limit on the items of one transaction."""
MAX_BATCH_GET_KEYS: Final = 100
"""BatchGetItem's limit on the keys of one call."""
MAX_ORDERS_PER_STEP: Final = MAX_TRANSACTION_ITEMS - 1
"""A customer's aggregate and its new dedupe records go in one transaction."""
MAX_ATTEMPTS: Final = 4
"""Rounds a customer may fail (cancelled transaction) before its records are redelivered."""
BATCH_GET_ROUNDS: Final = 4
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)


def dedupe_expiry(processed_at: float, ttl_seconds: int) -> int:
    """``expires_at`` (epoch seconds) of an order counted at ``processed_at``."""
    return int(processed_at) + ttl_seconds


def dedupe_ttl_seconds(
    stream_retention_hours: float, resend_window_hours: float, margin_seconds: int = 3600
) -> int:
    """How long a dedupe record must live: every copy of an order is published within the
    producer's resend window of the first copy, and read within the stream's retention of its
    own publication. The first counting is no earlier than the first publication, so
    ``retention + resend window`` after it, no copy can still arrive. ``margin_seconds``
    covers clock differences between producers and the function."""
    return int((stream_retention_hours + resend_window_hours) * 3600) + margin_seconds


def next_event_time(previous_ms: int | None, now_ms: int) -> int:
    """The event time (epoch ms) of a new aggregate: the wall clock, but always at least one
    millisecond (the Feature Store's event-time resolution) after the previous aggregate's,
    so a new aggregate is always the newest record of its customer."""
    return now_ms if previous_ms is None else max(now_ms, previous_ms + 1)


def event_time_of(ms: int) -> datetime:
    """Epoch milliseconds as an exact UTC datetime (no float rounding)."""
    return _EPOCH + timedelta(milliseconds=ms)


@dataclass(frozen=True, slots=True)
class Aggregate:
    """A customer's aggregate after this invocation's orders, and its record's event time."""

    stats: OrderStats
    event_time_ms: int
    version: int

    @property
    def event_time(self) -> datetime:
        return event_time_of(self.event_time_ms)


AggregateOutcome = Aggregate | BaseException


@dataclass(frozen=True, slots=True)
class Prefetch:
    """A first read started early: the keys asked for and the calls in flight."""

    keys: frozenset[str]
    calls: list[Future[list[dict[str, Any]]]]

    def covers(self, keys: Iterable[str]) -> bool:
        return all(key in self.keys for key in keys)


def customer_key(customer_id: str) -> str:
    return f"customer#{customer_id}"


def order_key(order_id: str) -> str:
    return f"order#{order_id}"


def _key(pk: str) -> dict[str, Any]:
    return {"pk": {"S": pk}}


def state_item(aggregate: Aggregate) -> dict[str, Any]:
    """The aggregate as a DynamoDB item (numbers as decimal text: sums stay exact)."""
    stats = aggregate.stats
    return {
        "pk": {"S": customer_key(stats.customer_id)},
        "customer_id": {"S": stats.customer_id},
        "total_orders": {"N": str(stats.total_orders)},
        "total_purchase_amount": {"N": str(stats.total_purchase_amount)},
        "reordered_orders": {"N": str(stats.reordered_orders)},
        "first_purchased_on": {"S": stats.first_purchased_on.isoformat()},
        "last_purchased_on": {"S": stats.last_purchased_on.isoformat()},
        "event_time_ms": {"N": str(aggregate.event_time_ms)},
        "version": {"N": str(aggregate.version)},
    }


def aggregate_of(item: dict[str, Any]) -> Aggregate:
    """A DynamoDB item read back as the aggregate it holds."""
    stats = OrderStats(
        customer_id=item["customer_id"]["S"],
        total_orders=int(item["total_orders"]["N"]),
        total_purchase_amount=Decimal(item["total_purchase_amount"]["N"]),
        reordered_orders=int(item["reordered_orders"]["N"]),
        first_purchased_on=datetime.fromisoformat(item["first_purchased_on"]["S"]),
        last_purchased_on=datetime.fromisoformat(item["last_purchased_on"]["S"]),
    )
    return Aggregate(stats, int(item["event_time_ms"]["N"]), int(item["version"]["N"]))


@dataclass(slots=True)
class _Customer:
    """One customer's orders of this invocation, and how far they got."""

    customer_id: str
    orders: list[Contribution]
    failures: int = 0
    step: Aggregate | None = None  # what this round's transaction would make it
    stepped: int = 0  # how many orders the step counts


class AggregateState:
    """The state table; ``contribute`` once per invocation, from the invoking thread."""

    def __init__(
        self,
        client: Any,
        table_name: str,
        *,
        executor: Executor,
        dedupe_ttl_seconds: int,
        clock: Callable[[], float],
    ) -> None:
        self._client = client
        self.table_name = table_name
        self._executor = executor
        self.dedupe_ttl_seconds = dedupe_ttl_seconds
        self._clock = clock

    def prefetch(self, contributions: Iterable[Contribution]) -> Prefetch:
        """Start the first read of these orders' customers and dedupe records on the executor
        (returns at once); :meth:`contribute` on any subset of them then uses it."""
        keys: dict[str, None] = {}
        for contribution in contributions:
            keys[customer_key(contribution.customer_id)] = None
            keys[order_key(contribution.order_id)] = None
        ordered = list(keys)
        chunks = [
            ordered[i : i + MAX_BATCH_GET_KEYS] for i in range(0, len(ordered), MAX_BATCH_GET_KEYS)
        ]
        return Prefetch(
            frozenset(keys), [self._executor.submit(self._batch_get, c) for c in chunks]
        )

    def contribute(
        self, contributions: Iterable[Contribution], prefetched: Prefetch | None = None
    ) -> dict[str, AggregateOutcome]:
        """Count every order not counted yet; each customer's aggregate afterwards (or why it
        is not known). Orders repeated in ``contributions`` count once. ``prefetched``, if it
        covers every key, is the first round's read."""
        return dict(self.outcomes(contributions, prefetched))

    def outcomes(
        self, contributions: Iterable[Contribution], prefetched: Prefetch | None = None
    ) -> Iterator[tuple[str, AggregateOutcome]]:
        """:meth:`contribute`, each customer's outcome yielded once, as soon as it is known
        (a transaction's customers when it commits), so their records can be written while
        the next transactions are in flight."""
        customers: dict[str, _Customer] = {}
        seen: set[str] = set()
        for contribution in contributions:
            if contribution.order_id in seen:
                continue
            seen.add(contribution.order_id)
            customer = customers.get(contribution.customer_id)
            if customer is None:
                customer = customers[contribution.customer_id] = _Customer(
                    contribution.customer_id, []
                )
            customer.orders.append(contribution)
        pending = list(customers.values())
        if prefetched is not None and not prefetched.covers(_keys(pending)):
            prefetched = None
        while pending:
            left: list[_Customer] = []
            yield from self._round(pending, left, prefetched)
            pending, prefetched = left, None

    def _round(
        self, customers: list[_Customer], left: list[_Customer], prefetched: Prefetch | None
    ) -> Iterator[tuple[str, AggregateOutcome]]:
        """Read, then write one step per customer; yields the outcomes known, puts the
        customers with work left in ``left``."""
        try:
            found = self._read(customers) if prefetched is None else _collect(prefetched.calls)
        except StoreError as error:
            yield from ((c.customer_id, error) for c in customers)
            return
        now_ms = int(self._clock() * 1000)
        stepping: list[_Customer] = []
        for customer in customers:
            item = found.get(customer_key(customer.customer_id))
            current = None if item is None else aggregate_of(item)
            customer.orders = [o for o in customer.orders if order_key(o.order_id) not in found]
            if not customer.orders:
                yield (
                    customer.customer_id,
                    current
                    or TransientStoreError("StateMissing", "orders counted but no aggregate found"),
                )
                continue
            step = customer.orders[:MAX_ORDERS_PER_STEP]
            customer.step = Aggregate(
                _folded(current, step),
                next_event_time(None if current is None else current.event_time_ms, now_ms),
                0 if current is None else current.version + 1,
            )
            customer.stepped = len(step)
            stepping.append(customer)
        for transaction, result in self._write_all(stepping):
            for customer in transaction:
                failed = result.get(customer.customer_id)
                if failed is None:
                    customer.orders = customer.orders[customer.stepped :]
                    if customer.orders:
                        left.append(customer)
                    elif customer.step is not None:
                        yield customer.customer_id, customer.step
                elif isinstance(failed, StoreError) and not failed.transient:
                    yield customer.customer_id, failed
                else:
                    customer.failures += 1
                    if customer.failures >= MAX_ATTEMPTS:
                        yield (
                            customer.customer_id,
                            (
                                failed
                                if isinstance(failed, StoreError)
                                else TransientStoreError(
                                    "TransactionCanceled", f"cancelled in {MAX_ATTEMPTS} rounds"
                                )
                            ),
                        )
                    else:
                        left.append(customer)

    # -- reads -------------------------------------------------------------------------

    def _read(self, customers: Sequence[_Customer]) -> dict[str, dict[str, Any]]:
        """Every aggregate and dedupe record of ``customers``' orders that exists, by key."""
        keys = _keys(customers)
        chunks = [keys[i : i + MAX_BATCH_GET_KEYS] for i in range(0, len(keys), MAX_BATCH_GET_KEYS)]
        return _collect([self._executor.submit(self._batch_get, chunk) for chunk in chunks])

    def _batch_get(self, keys: list[str]) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []

        def send(request: dict[str, Any]) -> dict[str, Any]:
            try:
                response = self._client.batch_get_item(RequestItems=request)
            except (ClientError, BotoCoreError) as error:
                raise classify(error) from None
            items.extend(response.get("Responses", {}).get(self.table_name, []))
            unprocessed: dict[str, Any] = response.get("UnprocessedKeys") or {}
            return unprocessed

        request = {self.table_name: {"Keys": [_key(k) for k in keys], "ConsistentRead": True}}
        left = resend_unfinished(
            send,
            request,
            rounds=BATCH_GET_ROUNDS,
            pause=lambda resend: 0.025 * 2**resend,
            sleep=time.sleep,
        )
        if left:
            raise TransientStoreError("UnprocessedKeys", "state keys still unread after resends")
        return items

    # -- writes ------------------------------------------------------------------------

    def _write_all(
        self, customers: list[_Customer]
    ) -> Iterable[tuple[list[_Customer], dict[str, BaseException]]]:
        """Each transaction's customers and, per customer, why its items were not written."""
        transactions: list[list[_Customer]] = []
        items = 0
        for customer in customers:
            size = 1 + customer.stepped
            if not transactions or items + size > MAX_TRANSACTION_ITEMS:
                transactions.append([])
                items = 0
            transactions[-1].append(customer)
            items += size
        return zip(transactions, self._executor.map(self._transact, transactions), strict=True)

    def _transact(self, customers: list[_Customer]) -> dict[str, BaseException]:
        expires_at = {"N": str(dedupe_expiry(self._clock(), self.dedupe_ttl_seconds))}
        items: list[dict[str, Any]] = []
        owners: list[str] = []
        for customer in customers:
            step = customer.step
            if step is None:  # not stepping this round
                continue
            put: dict[str, Any] = {"TableName": self.table_name, "Item": state_item(step)}
            if step.version == 0:
                put["ConditionExpression"] = "attribute_not_exists(pk)"
            else:
                put["ConditionExpression"] = "version = :read"
                put["ExpressionAttributeValues"] = {":read": {"N": str(step.version - 1)}}
            items.append({"Put": put})
            owners.append(customer.customer_id)
            for order in customer.orders[: customer.stepped]:
                items.append(
                    {
                        "Put": {
                            "TableName": self.table_name,
                            "Item": {
                                **_key(order_key(order.order_id)),
                                "customer_id": {"S": customer.customer_id},
                                "expires_at": expires_at,
                            },
                            "ConditionExpression": "attribute_not_exists(pk)",
                        }
                    }
                )
                owners.append(customer.customer_id)
        try:
            self._client.transact_write_items(TransactItems=items)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "TransactionCanceledException":
                failure: BaseException = classify(error)
                return {c.customer_id: failure for c in customers}
            return _cancelled(error, owners, customers)
        except BotoCoreError as error:
            failure = classify(error)
            return {c.customer_id: failure for c in customers}
        return {}


def _keys(customers: Sequence[_Customer]) -> list[str]:
    """The state keys a round reads: each customer's aggregate and its orders' records."""
    keys = [customer_key(c.customer_id) for c in customers]
    return keys + [order_key(o.order_id) for c in customers for o in c.orders]


def _collect(calls: list[Future[list[dict[str, Any]]]]) -> dict[str, dict[str, Any]]:
    """The items the read calls found, by key; the first call's failure is raised (after
    every call finished, so none is left running)."""
    found: dict[str, dict[str, Any]] = {}
    failure: BaseException | None = None
    for call in calls:
        try:
            found.update((item["pk"]["S"], item) for item in call.result())
        except BaseException as error:
            failure = failure or error
    if failure is not None:
        raise failure
    return found


def _folded(current: Aggregate | None, step: list[Contribution]) -> OrderStats:
    stats = fold(None if current is None else current.stats, step)
    if stats is None:
        raise ValueError("a step holds at least one order")
    return stats


def _cancelled(
    error: ClientError, owners: list[str], customers: list[_Customer]
) -> dict[str, BaseException]:
    """A cancelled transaction: nothing was written. Customers whose own items failed a
    condition are re-read; a throttled item makes a transient error; the rest retry."""
    reasons = error.response.get("CancellationReasons") or []
    failures: dict[str, BaseException] = {}
    for owner, reason in zip(owners, reasons, strict=False):
        code = str(reason.get("Code") or "None")
        if code == "None":
            continue
        if code == "ConditionalCheckFailed":
            failures.setdefault(owner, RuntimeError("condition failed: re-read"))
        else:
            failures[owner] = TransientStoreError(code, str(reason.get("Message") or ""))
    retry = RuntimeError("cancelled with the others of its transaction")
    return {c.customer_id: failures.get(c.customer_id, retry) for c in customers}
