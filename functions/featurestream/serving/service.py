"""The two operations of the inference API, independent of HTTP and of boto3.

``features``: both groups' records for one customer as of the request. ``predict``: for up
to 100 customers, one batched read, vectors built by name in the model contract's order,
one ``InvokeEndpoint`` call. A customer missing a group the model needs is reported as
missing (never filled with invented values unless the contract declares a default); a
per-item store error is reported with its code; only when nobody can be answered is the
whole call an error (404 when the records do not exist, 502 when the store failed them).
Each group's record is flagged stale against its own max age; a prediction is stale when
any group it used is.
"""

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Final

from featurestream.contract.model_contract import MissingFeatures, ModelContract
from featurestream.contract.params import FittedParams
from featurestream.contract.timeutil import format_event_time
from featurestream.serving.errors import ApiError, not_found
from featurestream.serving.model_client import ModelClient
from featurestream.serving.online_reader import ItemError, OnlineReader, OnlineRecords
from featurestream.serving.request_features import (
    SPECS,
    CorruptRecord,
    GroupView,
    group_view,
    needed_features,
)

NEVER_STALE: Final = frozenset({"customer-order-stats"})
"""Groups never flagged stale: an order aggregate's event time is when it last changed, and
an old aggregate is still exact."""


class InferenceService:
    def __init__(
        self,
        reader: OnlineReader,
        model: ModelClient,
        contract: ModelContract,
        params: FittedParams,
        max_record_age_seconds: Mapping[str, float | None],
        *,
        features_reader: OnlineReader | None = None,
    ) -> None:
        """``max_record_age_seconds``: logical group → seconds before its record is flagged
        stale, None = never; every group must be named, so no group is silently unchecked."""
        aged = sorted(set(SPECS) - NEVER_STALE)
        if sorted(max_record_age_seconds) != aged:
            raise ValueError(
                f"max_record_age_seconds must name exactly {aged}, "
                f"not {sorted(max_record_age_seconds)}"
            )
        self.reader = reader
        self.features_reader = features_reader or reader
        self.model = model
        self.contract = contract
        self.params = params
        self.max_record_age_seconds = dict(max_record_age_seconds)
        self._max_ages = {**dict.fromkeys(NEVER_STALE), **self.max_record_age_seconds}
        self._model_reads = {
            group: needed_features(group, [f.name for f in contract.features if f.group == group])
            for group in contract.groups()
        }

    def close(self) -> None:
        """Release the reader's threads (when a test resets the handler's state)."""
        self.reader.close()
        if self.features_reader is not self.reader:
            self.features_reader.close()

    def _views(
        self, fetched: OnlineRecords, customer_id: str, as_of: datetime, groups: Sequence[str]
    ) -> tuple[dict[str, GroupView], list[ItemError]]:
        views: dict[str, GroupView] = {}
        errors = fetched.errors_for(customer_id)
        for group in groups:
            record = fetched.get(group, customer_id)
            if record is None:
                continue
            try:
                views[group] = group_view(
                    group,
                    record,
                    as_of=as_of,
                    params=self.params,
                    max_age_seconds=self._max_ages[group],
                )
            except CorruptRecord as error:
                errors.append(ItemError(group, customer_id, "CorruptRecord", str(error)))
        return views, errors

    def _header(self, as_of: datetime) -> dict[str, Any]:
        return {
            "as_of": format_event_time(as_of),
            "params_version": self.params.version,
            "max_record_age_seconds": dict(self.max_record_age_seconds),
        }

    def features(self, customer_id: str, as_of: datetime) -> dict[str, Any]:
        """Every deployed group's record for one customer; 404 if none exists, 502 if the
        store failed them all."""
        groups = self.features_reader.groups
        fetched = self.features_reader.fetch([customer_id])
        views, errors = self._views(fetched, customer_id, as_of, groups)
        if not views:
            if errors:
                raise ApiError(
                    502,
                    "FeatureStoreItemError",
                    "the feature store failed to read this customer",
                    errors=[e.to_dict() for e in errors],
                )
            raise not_found("the customer has no features in the online store")
        return {
            "customer_id": customer_id,
            **self._header(as_of),
            "feature_groups": {
                group: {
                    **view.metadata(),
                    "features": view.values,
                    "as_written": view.as_written,
                }
                for group, view in views.items()
            },
            "missing_groups": [g for g in groups if g not in views],
            "errors": [e.to_dict() for e in errors],
        }

    def predict(self, customer_ids: Sequence[str], as_of: datetime) -> dict[str, Any]:
        """Score every customer whose features are complete; report the others."""
        groups = self.contract.groups()
        fetched = self.reader.fetch(customer_ids, self._model_reads)
        scored: list[tuple[str, list[float], dict[str, GroupView]]] = []
        missing: list[dict[str, Any]] = []
        errors: list[ItemError] = []
        for customer_id in customer_ids:
            views, item_errors = self._views(fetched, customer_id, as_of, groups)
            if item_errors:
                errors.extend(item_errors)
                continue
            try:
                vector = self.contract.vector({g: v.values for g, v in views.items()})
            except MissingFeatures as absent:
                missing.append(
                    {
                        "customer_id": customer_id,
                        "missing_groups": [g for g in groups if g not in views],
                        "missing_features": [f"{f.group}.{f.name}" for f in absent.missing],
                    }
                )
                continue
            scored.append((customer_id, vector, views))
        if not scored:
            if errors:
                raise ApiError(
                    502,
                    "FeatureStoreItemError",
                    "the feature store failed to read the requested customers",
                    errors=[e.to_dict() for e in errors],
                    missing=missing,
                )
            raise not_found(
                "none of the customers has the features the model needs", missing=missing
            )
        probabilities = self.model.predict([vector for _, vector, _ in scored])
        names = self.contract.feature_names
        return {
            "model_version": self.contract.model_version,
            **self._header(as_of),
            "predictions": [
                {
                    "customer_id": customer_id,
                    "prediction": probability,
                    "stale": any(view.stale for view in views.values()),
                    "features": dict(zip(names, vector, strict=True)),
                    "feature_groups": {g: view.metadata() for g, view in views.items()},
                }
                for (customer_id, vector, views), probability in zip(
                    scored, probabilities, strict=True
                )
            ],
            "missing": missing,
            "errors": [e.to_dict() for e in errors],
        }
