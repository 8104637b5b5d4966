"""The feature-group catalog: the one declaration of every feature group.

Names, record identifier, event-time feature, and for every feature its Feature Store type,
description, owner and searchable parameters. ``template.yaml``'s FeatureDefinitions, the
metadata applied with ``UpdateFeatureMetadata``, ``docs/features.md`` and the emulator's
provisioning all derive from here.
"""

from dataclasses import dataclass, field
from functools import cached_property
from math import inf
from types import MappingProxyType
from typing import Final, Literal

from featurestream.contract.catalog_rules import Identifier, InRange, OneHot, OneOf, Rule

FeatureType = Literal["Integral", "Fractional", "String"]

RESERVED_FEATURE_NAMES: Final = frozenset({"is_deleted", "write_time", "api_invocation_time"})
"""Columns the offline store adds to every row; a feature may not use them."""

FEATURE_NAME_PATTERN: Final = r"^[a-zA-Z0-9]([-_]*[a-zA-Z0-9]){0,63}$"
FEATURE_GROUP_NAME_PATTERN: Final = r"^[a-zA-Z0-9]([-_]*[a-zA-Z0-9]){0,63}$"
TRANSFORM_VERSION_FEATURE: Final = "transform_version"

DATA_OWNER: Final = "ml-platform"


@dataclass(frozen=True)
class Feature:
    """One feature: its stored type and the metadata people search for."""

    name: str
    type: FeatureType
    description: str
    owner: str = DATA_OWNER
    parameters: MappingProxyType[str, str] = field(default_factory=lambda: MappingProxyType({}))
    expect: Rule | None = None
    """What a valid value looks like (data-quality rule; violations are counted, not refused)."""
    drift_compared: bool = True
    """Whether drift compares the feature between windows (numeric features only; a running
    total grows with each customer's history, so it drifts by construction)."""

    def metadata_parameters(self) -> dict[str, str]:
        """Parameters as applied with UpdateFeatureMetadata (owner included)."""
        return {"owner": self.owner, **self.parameters}


@dataclass(frozen=True)
class FeatureGroupSpec:
    """A feature group as deployed; ``name`` is the logical name (the stack prefixes it)."""

    name: str
    description: str
    record_identifier: str
    event_time_feature: str
    features: tuple[Feature, ...]

    def feature(self, name: str) -> Feature:
        for candidate in self.features:
            if candidate.name == name:
                return candidate
        raise KeyError(f"{self.name} has no feature {name!r}")

    @cached_property
    def feature_names(self) -> tuple[str, ...]:
        """Cached: the stream handlers read it for every record they write."""
        return tuple(feature.name for feature in self.features)

    def feature_definitions(self) -> list[dict[str, str]]:
        """The ``FeatureDefinitions`` list for CreateFeatureGroup / CloudFormation."""
        return [{"FeatureName": f.name, "FeatureType": f.type} for f in self.features]


def _params(**values: str) -> MappingProxyType[str, str]:
    return MappingProxyType(values)


_PRIMARY_KEY = _params(idType="primarykey", source="event")
_CUSTOMER_SOURCE = _params(source="customer-events", updateFrequency="per event")
_ORDER_SOURCE = _params(source="order-events", updateFrequency="per event")
_EVENT_TIME = _params(source="event", semantics="business time of the event")
_VERSION = _params(source="params artifact", semantics="fitted-parameters version")


def _age_bin(label: str, low: int, high: int | None) -> Feature:
    span = f"{low} to {high}" if high is not None else f"{low} or older"
    return Feature(
        name=f"age_{label}",
        type="Integral",
        description=f"1 if the customer's age is {span}, else 0 (one-hot age bin)",
        parameters=_params(**_CUSTOMER_SOURCE, encoding="one-hot", derivedFrom="age"),
        expect=OneHot("age"),
    )


_TRANSFORM_VERSION = Feature(
    TRANSFORM_VERSION_FEATURE,
    "String",
    "Version of the fitted parameters that produced this record",
    parameters=_VERSION,
)


def _event_time(kind: str) -> Feature:
    return Feature(
        "event_time", "String", f"Business time of the {kind} event", parameters=_EVENT_TIME
    )


_CUSTOMER_ID = Feature(
    "customer_id",
    "String",
    "Customer identifier (C<number>)",
    parameters=_PRIMARY_KEY,
    expect=Identifier(),
)
_BINARY: Final = OneOf((0, 1))
_SCALED: Final = InRange(0.0, 1.0, scaled=True, tolerance=0.05)

AGE_BINS: Final[tuple[tuple[str, int, int | None], ...]] = (
    ("18-29", 18, 29),
    ("30-39", 30, 39),
    ("40-49", 40, 49),
    ("50-59", 50, 59),
    ("60-69", 60, 69),
    ("70-plus", 70, None),
)
"""Age bins, inclusive on both ends: every age lands in the bin its label names."""

CUSTOMERS: Final = FeatureGroupSpec(
    name="customers",
    description="Customer profile features, one row per customer, newest profile event wins",
    record_identifier="customer_id",
    event_time_feature="event_time",
    features=(
        _CUSTOMER_ID,
        Feature(
            "sex",
            "Integral",
            "Sex encoded 0 = F, 1 = M",
            parameters=_params(**_CUSTOMER_SOURCE, encoding="label"),
            expect=_BINARY,
        ),
        Feature(
            "is_married",
            "Integral",
            "1 if married, else 0",
            parameters=_params(**_CUSTOMER_SOURCE, encoding="label"),
            expect=_BINARY,
        ),
        *(_age_bin(label, low, high) for label, low, high in AGE_BINS),
        Feature(
            "n_days_active",
            "Fractional",
            "Tenure: calendar days (UTC dates) from active_since to write time, min-max scaled; "
            "recompute at read time from active_since",
            parameters=_params(**_CUSTOMER_SOURCE, scaling="minmax", derivedFrom="active_since"),
            expect=_SCALED,
        ),
        Feature(
            "active_since",
            "String",
            "When the customer registered (UTC, ISO-8601)",
            parameters=_params(**_CUSTOMER_SOURCE, semantics="raw timestamp"),
        ),
        _event_time("customer"),
        _TRANSFORM_VERSION,
    ),
)

ORDERS: Final = FeatureGroupSpec(
    name="orders",
    description="Each customer's latest order, keyed by customer_id as in the tutorial",
    record_identifier="customer_id",
    event_time_feature="event_time",
    features=(
        _CUSTOMER_ID,
        Feature(
            "order_id",
            "String",
            "Identifier of the customer's latest order",
            parameters=_params(**_ORDER_SOURCE, idType="foreignkey"),
            expect=Identifier(),
        ),
        Feature(
            "product_id",
            "String",
            "Product of the customer's latest order",
            parameters=_params(**_ORDER_SOURCE, idType="foreignkey"),
            expect=Identifier(),
        ),
        Feature(
            "purchase_amount",
            "Fractional",
            "Amount of the latest order, min-max scaled",
            parameters=_params(**_ORDER_SOURCE, scaling="minmax"),
            expect=_SCALED,
        ),
        Feature(
            "is_reordered",
            "Integral",
            "1 if the latest order repeats an earlier one, else 0",
            parameters=_params(**_ORDER_SOURCE, encoding="label"),
            expect=_BINARY,
        ),
        Feature(
            "n_days_since_last_purchase",
            "Fractional",
            "Recency: calendar days (UTC dates) from purchased_on to write time, min-max scaled; "
            "recompute at read time from purchased_on",
            parameters=_params(**_ORDER_SOURCE, scaling="minmax", derivedFrom="purchased_on"),
            expect=_SCALED,
        ),
        Feature(
            "purchased_on",
            "String",
            "When the latest order was placed (UTC, ISO-8601)",
            parameters=_params(**_ORDER_SOURCE, semantics="raw timestamp"),
        ),
        _event_time("order"),
        _TRANSFORM_VERSION,
    ),
)

_STATS_SOURCE = _params(
    source="order-events", updateFrequency="per event", aggregation="exactly once per order_id"
)


def _stat(
    name: str,
    type_: FeatureType,
    description: str,
    expect: Rule | None = None,
    *,
    running_total: bool = False,
    **extra: str,
) -> Feature:
    return Feature(
        name,
        type_,
        description,
        parameters=_params(**_STATS_SOURCE, **extra),
        expect=expect,
        drift_compared=not running_total,
    )


CUSTOMER_ORDER_STATS: Final = FeatureGroupSpec(
    name="customer-order-stats",
    description=(
        "Each customer's order aggregates, every order counted once, kept by the order stream"
    ),
    record_identifier="customer_id",
    event_time_feature="event_time",
    features=(
        _CUSTOMER_ID,
        _stat(
            "total_orders",
            "Integral",
            "Number of distinct orders (COUNT(*))",
            expect=InRange(1, inf),  # an aggregate exists once an order was counted
            running_total=True,
        ),
        _stat(
            "total_purchase_amount",
            "Fractional",
            "Sum of the orders' purchase_amount, raw dollars",
            expect=InRange(0, inf),
            running_total=True,
            semantics="raw amount",
        ),
        _stat(
            "avg_purchase_amount",
            "Fractional",
            "Mean purchase_amount of the orders, raw dollars (AVG(purchase_amount))",
            expect=InRange(0, inf),
            semantics="raw amount",
        ),
        _stat(
            "avg_purchase_amount_scaled",
            "Fractional",
            "avg_purchase_amount min-max scaled with purchase_amount's scaler (a mean of "
            "amounts lies between their min and max, so it stays in the same range)",
            expect=_SCALED,  # stale when amounts move past the fitted range, as purchase_amount
            scaling="minmax",
            derivedFrom="avg_purchase_amount",
        ),
        _stat(
            "reorder_rate",
            "Fractional",
            "Share of the orders that repeat an earlier one (AVG(is_reordered))",
            expect=InRange(0, 1),
        ),
        _stat(
            "first_purchased_on",
            "String",
            "When the customer's earliest order was placed (UTC, ISO-8601)",
            semantics="raw timestamp",
        ),
        _stat(
            "last_purchased_on",
            "String",
            "When the customer's latest order was placed (UTC, ISO-8601)",
            semantics="raw timestamp",
        ),
        Feature(
            "event_time",
            "String",
            "When this aggregate was computed: strictly later than the previous aggregate of "
            "the customer, so every new aggregate reaches the online store",
            parameters=_params(source="aggregate state", semantics="aggregate version time"),
        ),
        _TRANSFORM_VERSION,
    ),
)

FEATURE_GROUPS: Final = (CUSTOMERS, ORDERS, CUSTOMER_ORDER_STATS)
