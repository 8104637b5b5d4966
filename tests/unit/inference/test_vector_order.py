"""Vectors follow the model contract, whatever order the store returns features in; a
missing value is never invented unless the contract declares a default."""

import io
import json
from datetime import UTC, datetime

import pytest

from featurestream.contract.catalog import CUSTOMERS, ORDERS
from featurestream.contract.model_contract import (
    ContractFeature,
    MissingFeatures,
    ModelContract,
    contract_from_json,
)
from featurestream.contract.params import load_params
from featurestream.contract.transforms import to_record
from featurestream.serving.model_client import ModelClient
from featurestream.serving.online_reader import OnlineReader
from featurestream.serving.service import InferenceService
from tests.fixtures.inference import customer_event, order_event

AS_OF = datetime(2022, 1, 10, tzinfo=UTC)


class ShuffledStore:
    """BatchGetRecord answering every record with its features in reverse catalog order."""

    def __init__(self, records):
        self.records = records
        self.calls = []

    def batch_get_record(self, **kwargs):
        self.calls.append(kwargs)
        found = [
            {
                "FeatureGroupName": ident["FeatureGroupName"],
                "RecordIdentifierValueAsString": rid,
                "Record": list(reversed(self.records[ident["FeatureGroupName"]][rid])),
            }
            for ident in kwargs["Identifiers"]
            for rid in ident["RecordIdentifiersValueAsString"]
            if rid in self.records[ident["FeatureGroupName"]]
        ]
        return {"Records": found, "Errors": [], "UnprocessedIdentifiers": []}


class RecordingEndpoint:
    def __init__(self, version):
        self.version = version
        self.bodies = []

    def invoke_endpoint(self, **kwargs):
        self.bodies.append(kwargs)
        rows = kwargs["Body"].decode().splitlines()
        body = {"predictions": [0.5] * len(rows), "model_version": self.version}
        return {"Body": io.BytesIO(json.dumps(body).encode())}


def _service(contract):
    from featurestream.contract.transforms import customer_features, order_features

    params = load_params()
    customer = customer_features(customer_event("C7", age=33, sex="M"), params=params, as_of=AS_OF)
    order = order_features(
        order_event("C7", "O7", "2021-12-31T00:00:00.000Z", amount=12.0, is_reordered=False),
        params=params,
        as_of=AS_OF,
    )
    store = ShuffledStore({"cust": {"C7": to_record(customer)}, "ord": {"C7": to_record(order)}})
    endpoint = RecordingEndpoint(contract.model_version)
    reader = OnlineReader(store, {"customers": "cust", "orders": "ord"})
    model = ModelClient(endpoint, "ep", contract.model_version)
    ages = {"customers": None, "orders": 86400.0}
    return InferenceService(reader, model, contract, params, ages), endpoint


def test_the_csv_row_follows_the_contract_order_not_the_store_order():
    contract = ModelContract(
        "m-1",
        load_params().version,
        (
            ContractFeature("is_reordered", "orders"),
            ContractFeature("age_30-39", "customers"),
            ContractFeature("purchase_amount", "orders"),
            ContractFeature("sex", "customers"),
        ),
    )
    service, endpoint = _service(contract)
    answer = service.predict(["C7"], AS_OF)
    amount = load_params().scaler("purchase_amount").scale(12.0)
    assert endpoint.bodies[0]["Body"].decode() == f"0.0,1.0,{amount!r},1.0\n"
    assert endpoint.bodies[0]["ContentType"] == "text/csv"
    assert list(answer["predictions"][0]["features"]) == [
        "is_reordered",
        "age_30-39",
        "purchase_amount",
        "sex",
    ]


def test_a_missing_value_is_an_error_unless_the_contract_declares_a_default():
    strict = ModelContract(
        "m", "p", (ContractFeature("a", "orders"), ContractFeature("b", "orders"))
    )
    with pytest.raises(MissingFeatures) as caught:
        strict.vector({"orders": {"a": 1}})
    assert caught.value.groups == ("orders",)
    lenient = ModelContract(
        "m", "p", (ContractFeature("a", "orders"), ContractFeature("b", "orders", default=0.25))
    )
    assert lenient.vector({"orders": {"a": 1}}) == [1.0, 0.25]
    assert lenient.vector({"orders": {"b": 2, "a": 1}}) == [1.0, 2.0]


@pytest.mark.parametrize(
    ("document", "fragment"),
    [
        ({"model_version": "m", "params_version": "p", "features": []}, "lists no features"),
        (
            {
                "model_version": "m",
                "params_version": "p",
                "features": [{"name": "a", "group": "x"}],
            },
            "unknown feature group",
        ),
        (
            {
                "model_version": "m",
                "params_version": "p",
                "features": [{"name": "a", "group": "orders"}, {"name": "a", "group": "orders"}],
            },
            "duplicate",
        ),
        ({"features": []}, "not a model contract"),
    ],
)
def test_a_broken_contract_is_refused(document, fragment):
    with pytest.raises(ValueError, match=fragment):
        contract_from_json(json.dumps(document))


def test_every_contract_feature_exists_in_the_catalog():
    from featurestream.contract.model_contract import load_contract

    specs = {"customers": CUSTOMERS, "orders": ORDERS}
    for feature in load_contract().features:
        specs[feature.group].feature(feature.name)  # raises KeyError if unknown
