"""Seeded, deterministic generator for ``raw/customers.csv`` and ``raw/orders.csv``.

The committed CSVs are the project's historical data: scalers are fitted on them, the replay
producer streams them, and tests compare against them. They must therefore be reproducible
byte for byte on any machine, so this module uses only the standard library, draws every
random number with ``random.Random.random()`` (whose output for a given seed is stable
across CPython versions, unlike ``randint``/``choice``/``shuffle``/``gauss``), maps those
floats to integers and choices itself, and formats every value explicitly.

The reorder label carries a planted, documented signal (see ``reorder_probability`` and
``raw/README.md``) so models trained downstream have something real to learn.

Usage: ``python -m raw.generate [--out DIR] [--seed N] [--drifted-copy DIR]``.
"""

from __future__ import annotations

import argparse
import bisect
import math
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")

DEFAULT_SEED = 20220101
DEFAULT_OUT = Path(__file__).resolve().parent

N_CUSTOMERS = 10_000
N_ORDERS = 100_000
N_PRODUCTS = 5_000

AGE_MIN, AGE_MAX = 18, 90
P_MARRIED = 0.5
AMOUNT_MIN_CENTS, AMOUNT_MAX_CENTS = 100, 10_000

ACTIVE_SINCE_START = datetime(2016, 1, 1)
ACTIVE_SINCE_END = datetime(2019, 12, 31, 23, 59, 59)
PURCHASED_ON_START = datetime(2020, 1, 1)
PURCHASED_ON_END = datetime(2021, 12, 31, 23, 59, 59)

# The export instant written to ``event_time``; row i is stamped EXPORT_AT + i ms. This is
# when the file was exported, not when anything happened (that is active_since/purchased_on).
EXPORT_AT = datetime(2022, 1, 1)  # naive; rendered in UTC with a trailing "Z"

# Planted signal: logit(P(is_reordered)) = B0 + B1*tenure_years + B2*(age-50)/20 + B3*prev.
REORDER_B0 = -0.8
REORDER_B1 = 0.3
REORDER_B2 = 0.35
REORDER_B3 = 1.0
DAYS_PER_YEAR = 365.25

CUSTOMERS_HEADER = ",customer_id,name,sex,state,age,is_married,active_since,event_time"
ORDERS_HEADER = (
    ",order_id,customer_id,product_id,purchase_amount,is_reordered,purchased_on,event_time"
)

US_STATES: tuple[str, ...] = (
    "Alabama", "Alaska", "Arizona", "Arkansas", "California", "Colorado", "Connecticut",
    "Delaware", "Florida", "Georgia", "Hawaii", "Idaho", "Illinois", "Indiana", "Iowa",
    "Kansas", "Kentucky", "Louisiana", "Maine", "Maryland", "Massachusetts", "Michigan",
    "Minnesota", "Mississippi", "Missouri", "Montana", "Nebraska", "Nevada", "New Hampshire",
    "New Jersey", "New Mexico", "New York", "North Carolina", "North Dakota", "Ohio",
    "Oklahoma", "Oregon", "Pennsylvania", "Rhode Island", "South Carolina", "South Dakota",
    "Tennessee", "Texas", "Utah", "Vermont", "Virginia", "Washington", "West Virginia",
    "Wisconsin", "Wyoming",
)  # fmt: skip

FEMALE_FIRST_NAMES: tuple[str, ...] = (
    "Mary", "Patricia", "Jennifer", "Linda", "Elizabeth", "Barbara", "Susan", "Jessica",
    "Sarah", "Karen", "Lisa", "Nancy", "Betty", "Margaret", "Sandra", "Ashley", "Kimberly",
    "Emily", "Donna", "Michelle", "Carol", "Amanda", "Melissa", "Deborah", "Stephanie",
    "Rebecca", "Sharon", "Laura", "Cynthia", "Kathleen", "Amy", "Angela", "Shirley", "Anna",
    "Brenda", "Pamela", "Emma", "Nicole", "Helen", "Samantha", "Katherine", "Christine",
    "Debra", "Rachel", "Carolyn", "Janet", "Maria", "Olivia", "Heather", "Diane",
)  # fmt: skip

MALE_FIRST_NAMES: tuple[str, ...] = (
    "James", "Robert", "John", "Michael", "David", "William", "Richard", "Joseph", "Thomas",
    "Charles", "Christopher", "Daniel", "Matthew", "Anthony", "Mark", "Donald", "Steven",
    "Paul", "Andrew", "Joshua", "Kenneth", "Kevin", "Brian", "George", "Timothy", "Ronald",
    "Edward", "Jason", "Jeffrey", "Ryan", "Jacob", "Gary", "Nicholas", "Eric", "Jonathan",
    "Stephen", "Larry", "Justin", "Scott", "Brandon", "Benjamin", "Samuel", "Gregory",
    "Alexander", "Frank", "Patrick", "Raymond", "Jack", "Dennis", "Jerry",
)  # fmt: skip

LAST_NAMES: tuple[str, ...] = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis",
    "Rodriguez", "Martinez", "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson",
    "Thomas", "Taylor", "Moore", "Jackson", "Martin", "Lee", "Perez", "Thompson", "White",
    "Harris", "Sanchez", "Clark", "Ramirez", "Lewis", "Robinson", "Walker", "Young", "Allen",
    "King", "Wright", "Scott", "Torres", "Nguyen", "Hill", "Flores", "Green", "Adams",
    "Nelson", "Baker", "Hall", "Rivera", "Campbell", "Mitchell", "Carter", "Roberts",
    "Gomez", "Phillips", "Evans", "Turner", "Diaz", "Parker", "Cruz", "Edwards", "Collins",
    "Reyes", "Stewart", "Morris", "Morales", "Murphy", "Cook", "Rogers", "Gutierrez",
    "Ortiz", "Morgan", "Cooper", "Peterson", "Bailey", "Reed", "Kelly", "Howard", "Ramos",
    "Kim", "Cox", "Ward", "Richardson", "Watson", "Brooks", "Chavez", "Wood", "James",
    "Bennett", "Gray", "Mendoza", "Ruiz", "Hughes", "Price", "Alvarez", "Castillo",
    "Sanders", "Patel", "Myers", "Long", "Ross", "Foster", "Jimenez",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Customer:
    """One generated customer; active_since is kept as a datetime for the order stage."""

    customer_id: str
    name: str
    sex: str
    state: str
    age: int
    is_married: bool
    active_since: datetime


@dataclass(frozen=True, slots=True)
class Order:
    """One generated order, before order ids are assigned."""

    customer_id: str
    product_id: str
    amount_cents: int
    is_reordered: int
    purchased_on: datetime


def _rng(seed: int, stream: str) -> random.Random:
    """Independent stream per stage, so tuning one stage leaves the others' draws unchanged.

    String seeds are hashed with SHA-512 (seeding version 2), stable since Python 3.2.
    """
    return random.Random(f"featurestream-raw:{seed}:{stream}")  # noqa: S311 - not crypto


def _below(rng: random.Random, n: int) -> int:
    """Uniform int in [0, n) from one ``random()`` draw (``randrange`` is not version-stable)."""
    return min(int(rng.random() * n), n - 1)


def _between(rng: random.Random, lo: int, hi: int) -> int:
    """Uniform int in [lo, hi], both inclusive."""
    return lo + _below(rng, hi - lo + 1)


def _pick(rng: random.Random, items: Sequence[T]) -> T:
    """Uniform choice without ``random.choice`` (its algorithm may change between versions)."""
    return items[_below(rng, len(items))]


def _seconds(start: datetime, end: datetime) -> int:
    return int((end - start).total_seconds())


def _fmt_dt(value: datetime) -> str:
    """``YYYY-MM-DD HH:MM:SS``, the tutorial's format for business timestamps."""
    return value.isoformat(sep=" ", timespec="seconds")


def _fmt_event_time(row: int) -> str:
    """ISO-8601 UTC export stamp with milliseconds, one ms apart per row."""
    stamp = EXPORT_AT + timedelta(milliseconds=row)
    return stamp.isoformat(timespec="milliseconds") + "Z"


def _fmt_cents(cents: int) -> str:
    """Exactly two decimals without float formatting."""
    return f"{cents // 100}.{cents % 100:02d}"


def reorder_probability(tenure_days: float, age: int, prev_reordered: int) -> float:
    """The planted signal: P(is_reordered) for one order (documented in raw/README.md).

    ``tenure_days`` is days from the customer's active_since to this order's purchased_on;
    ``prev_reordered`` is 1 if the customer's previous order (by purchased_on) was
    reordered, else 0 (also 0 for a customer's first order).
    """
    logit = (
        REORDER_B0
        + REORDER_B1 * (tenure_days / DAYS_PER_YEAR)
        + REORDER_B2 * (age - 50) / 20
        + REORDER_B3 * prev_reordered
    )
    return 1.0 / (1.0 + math.exp(-logit))


def generate_customers(seed: int) -> list[Customer]:
    """Customers C1..C10000 with uniform ages 18-90 and active_since in 2016-2019."""
    rng = _rng(seed, "customers")
    span = _seconds(ACTIVE_SINCE_START, ACTIVE_SINCE_END)
    customers: list[Customer] = []
    for i in range(1, N_CUSTOMERS + 1):
        sex = "F" if rng.random() < 0.5 else "M"
        first = _pick(rng, FEMALE_FIRST_NAMES if sex == "F" else MALE_FIRST_NAMES)
        last = _pick(rng, LAST_NAMES)
        customers.append(
            Customer(
                customer_id=f"C{i}",
                name=f"{first} {last}",
                sex=sex,
                state=_pick(rng, US_STATES),
                age=_between(rng, AGE_MIN, AGE_MAX),
                is_married=rng.random() < P_MARRIED,
                active_since=ACTIVE_SINCE_START + timedelta(seconds=_between(rng, 0, span)),
            )
        )
    return customers


def _orders_per_customer(seed: int, n_customers: int) -> list[int]:
    """Skewed order counts summing to exactly N_ORDERS: a few heavy buyers, some with none.

    Each customer gets weight u**2; every order picks a customer proportionally to weight.
    """
    rng = _rng(seed, "order-counts")
    cumulative: list[float] = []
    total = 0.0
    for _ in range(n_customers):
        u = rng.random()
        total += u * u
        cumulative.append(total)
    counts = [0] * n_customers
    for _ in range(N_ORDERS):
        idx = bisect.bisect_right(cumulative, rng.random() * total)
        counts[min(idx, n_customers - 1)] += 1
    return counts


def generate_orders(seed: int, customers: Sequence[Customer]) -> list[Order]:
    """Orders in customer-then-time order; labels follow ``reorder_probability``."""
    counts = _orders_per_customer(seed, len(customers))
    rng = _rng(seed, "orders")
    span = _seconds(PURCHASED_ON_START, PURCHASED_ON_END)
    orders: list[Order] = []
    for customer, count in zip(customers, counts, strict=True):
        offsets = sorted(_between(rng, 0, span) for _ in range(count))
        for k in range(1, len(offsets)):  # strictly increasing, so "previous" is unambiguous
            offsets[k] = max(offsets[k], offsets[k - 1] + 1)
        prev_reordered = 0
        for offset in offsets:
            purchased_on = PURCHASED_ON_START + timedelta(seconds=min(offset, span))
            tenure_days = (purchased_on - customer.active_since).total_seconds() / 86_400
            p = reorder_probability(tenure_days, customer.age, prev_reordered)
            is_reordered = 1 if rng.random() < p else 0
            orders.append(
                Order(
                    customer_id=customer.customer_id,
                    product_id=f"P{_between(rng, 1, N_PRODUCTS)}",
                    amount_cents=_between(rng, AMOUNT_MIN_CENTS, AMOUNT_MAX_CENTS),
                    is_reordered=is_reordered,
                    purchased_on=purchased_on,
                )
            )
            prev_reordered = is_reordered
    return orders


def assign_order_ids(seed: int, orders: Sequence[Order]) -> list[Order]:
    """Return the orders in order_id order: O1 is result[0], and so on.

    The ids are a seeded random permutation (Fisher-Yates with our own index mapping), so
    order_id is unrelated to purchased_on, globally and per customer, as in real exports;
    consumers must sort by time themselves.
    """
    rng = _rng(seed, "order-ids")
    shuffled = list(orders)
    for i in range(len(shuffled) - 1, 0, -1):
        j = _below(rng, i + 1)
        shuffled[i], shuffled[j] = shuffled[j], shuffled[i]
    return shuffled


def customers_csv(customers: Sequence[Customer]) -> str:
    """CSV text as pandas ``to_csv`` writes it: unnamed index column, ``\\n`` line ends."""
    lines = [CUSTOMERS_HEADER]
    for row, c in enumerate(customers):
        lines.append(
            f"{row},{c.customer_id},{c.name},{c.sex},{c.state},{c.age},{c.is_married},"
            f"{_fmt_dt(c.active_since)},{_fmt_event_time(row)}"
        )
    return "\n".join(lines) + "\n"


def orders_csv(orders_by_id: Sequence[Order]) -> str:
    """CSV text for orders already in order_id order (row i is order O{i+1})."""
    lines = [ORDERS_HEADER]
    for row, o in enumerate(orders_by_id):
        lines.append(
            f"{row},O{row + 1},{o.customer_id},{o.product_id},{_fmt_cents(o.amount_cents)},"
            f"{o.is_reordered},{_fmt_dt(o.purchased_on)},{_fmt_event_time(row)}"
        )
    return "\n".join(lines) + "\n"


SHIFT_AMOUNT_FACTOR = 1.5
SHIFT_AGE_YEARS = 15


def plant_shift(
    customers: Sequence[Customer], orders: Sequence[Order]
) -> tuple[list[Customer], list[Order]]:
    """The documented drift of ``--drifted-copy`` (raw/README.md): every order's amount
    times 1.5 (capped at the generator's maximum) and every customer 15 years older (capped
    at its maximum age). Ids, times and labels stay, so only the feature values move."""
    older = [replace(c, age=min(AGE_MAX, c.age + SHIFT_AGE_YEARS)) for c in customers]
    bigger = [
        replace(o, amount_cents=min(AMOUNT_MAX_CENTS, round(o.amount_cents * SHIFT_AMOUNT_FACTOR)))
        for o in orders
    ]
    return older, bigger


def generate(
    out: Path = DEFAULT_OUT, seed: int = DEFAULT_SEED, *, drifted: bool = False
) -> tuple[Path, Path]:
    """Write customers.csv and orders.csv into ``out``; return their paths. ``drifted``
    writes the same data with :func:`plant_shift` applied, never into the committed folder."""
    if drifted and out.resolve() == DEFAULT_OUT:
        raise ValueError("a drifted copy never replaces the committed CSVs: choose another --out")
    customers = generate_customers(seed)
    orders = assign_order_ids(seed, generate_orders(seed, customers))
    if drifted:
        customers, orders = plant_shift(customers, orders)
    out.mkdir(parents=True, exist_ok=True)
    customers_path = out / "customers.csv"
    orders_path = out / "orders.csv"
    # Write bytes so no platform newline translation can change the output.
    customers_path.write_bytes(customers_csv(customers).encode("utf-8"))
    orders_path.write_bytes(orders_csv(orders).encode("utf-8"))
    return customers_path, orders_path


def main(argv: Sequence[str] | None = None) -> None:
    """CLI entry point for ``python -m raw.generate``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output directory")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="random seed")
    parser.add_argument(
        "--drifted-copy",
        type=Path,
        metavar="DIR",
        help="write a copy with the documented planted shift into DIR (e.g. a temp folder)",
    )
    args = parser.parse_args(argv)
    started = time.perf_counter()
    if args.drifted_copy is not None:
        try:
            paths = generate(args.drifted_copy, args.seed, drifted=True)
        except ValueError as error:
            parser.error(str(error))
    else:
        paths = generate(args.out, args.seed)
    elapsed = time.perf_counter() - started
    print(f"wrote {', '.join(str(p) for p in paths)} in {elapsed:.2f}s")


if __name__ == "__main__":
    main()
