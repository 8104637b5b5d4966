"""Hostile input, generated: text and bytes that break parsers, values a producer might wrongly
send (a customer's name), JSON nested past any parser's depth, and near-valid events."""

import json
from typing import Any

from hypothesis import strategies as st

NAME = "Zebulon Quackenbush"
"""Personal data a producer might wrongly send: it must never come back in an error or a log."""

hostile_text = st.one_of(
    st.text(max_size=40),
    st.sampled_from(
        [
            NAME,
            "",
            " ",
            "\x00",
            "\n",
            "١٢",  # Arabic-Indic digits
            "9999-12-31T23:59:59Z",
            "0001-01-01T00:00:00Z",
            "../../etc/passwd",
            "C1\n",
            "NaN",
            "-1",
            "1e309",
            "[" * 3000,
            "x" * 20_000,
        ]
    ),
)

json_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), hostile_text
)
json_values = st.recursive(
    json_scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(hostile_text, children, max_size=4)
    ),
    max_leaves=12,
)


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def _order(customer: str = "C7", when: str = "2021-03-01T10:00:00Z") -> dict[str, Any]:
    return {
        "event_id": "order.placed:O1",
        "event_type": "order.placed",
        "schema_version": 1,
        "event_time": when,
        "source": "fuzz",
        "data": {
            "customer_id": customer,
            "order_id": "O1",
            "product_id": "P1",
            "purchase_amount": 12.5,
            "is_reordered": False,
            "purchased_on": when,
        },
    }


@st.composite
def near_valid_orders(draw: st.DrawFn) -> dict[str, Any]:
    """A valid order event with one or two fields replaced by hostile values."""
    event = _order()
    for _ in range(draw(st.integers(1, 2))):
        data = event["data"]
        target = data if isinstance(data, dict) and draw(st.booleans()) else event
        key = draw(st.sampled_from([*target.keys(), NAME]))
        target[key] = draw(json_values)
    return event


event_payloads = st.one_of(
    st.binary(max_size=300),
    near_valid_orders().map(lambda e: json.dumps(e).encode()),
    json_values.map(lambda v: json.dumps(v).encode()),
    st.integers(2000, 40_000).map(lambda d: nested(d).encode()),
)
