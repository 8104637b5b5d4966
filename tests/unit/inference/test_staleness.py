"""Each feature group is flagged stale against its own max record age: by default a customer
profile (event time = last profile event, legitimately years old) never is, the latest order
is after 7 days; 0 in the environment means "never stale"."""

from datetime import UTC, datetime, timedelta

import pytest

from featurestream.contract.model_contract import ContractFeature, ModelContract
from featurestream.contract.params import load_params
from featurestream.contract.timeutil import format_event_time, parse_timestamp
from featurestream.contract.transforms import tenure
from featurestream.ingest.settings import ConfigError
from featurestream.serving.model_client import ModelClient
from featurestream.serving.online_reader import OnlineReader
from featurestream.serving.request_features import CorruptRecord, group_view
from featurestream.serving.service import InferenceService
from featurestream.serving.settings import InferenceSettings

AS_OF = datetime(2022, 1, 10, 12, tzinfo=UTC)
WEEK = 7 * 24 * 3600.0
REQUIRED = {
    "CUSTOMERS_FEATURE_GROUP_NAME": "cust",
    "ORDERS_FEATURE_GROUP_NAME": "ord",
    "MODEL_ENDPOINT_NAME": "ep",
}


def settings(**ages: str) -> InferenceSettings:
    return InferenceSettings.from_env({**REQUIRED, **ages})


# -- settings ---------------------------------------------------------------------------------


def test_defaults_customers_never_stale_orders_after_seven_days():
    assert settings().max_record_age_seconds == {"customers": None, "orders": WEEK}
    assert InferenceSettings("c", "o", "e").max_record_age_seconds == {
        "customers": None,
        "orders": WEEK,
    }


def test_the_template_defaults_give_the_same_settings():
    """template.yaml passes "0" and "604800"; an empty value also means the default."""
    assert settings(
        MAX_CUSTOMERS_RECORD_AGE_SECONDS="0", MAX_ORDERS_RECORD_AGE_SECONDS="604800"
    ) == settings(MAX_CUSTOMERS_RECORD_AGE_SECONDS="", MAX_ORDERS_RECORD_AGE_SECONDS=" ")


def test_each_variable_sets_its_own_group_and_zero_means_never():
    got = settings(MAX_CUSTOMERS_RECORD_AGE_SECONDS="90.5", MAX_ORDERS_RECORD_AGE_SECONDS="0")
    assert got.max_record_age_seconds == {"customers": 90.5, "orders": None}


@pytest.mark.parametrize("text", ["abc", "-1", "nan", "inf", "1e400", "7d"])
@pytest.mark.parametrize(
    "name", ["MAX_CUSTOMERS_RECORD_AGE_SECONDS", "MAX_ORDERS_RECORD_AGE_SECONDS"]
)
def test_a_malformed_max_age_is_a_config_error_naming_the_variable(name, text):
    with pytest.raises(ConfigError, match=rf"^{name} must be a number of seconds >= 0.*{text!r}"):
        settings(**{name: text})


@pytest.mark.parametrize(
    "ages",
    [{"customers": None}, {"customers": None, "orders": 1.0, "products": 1.0}, {"orders": -1.0}],
)
def test_settings_built_in_code_must_name_every_group_with_a_positive_limit(ages):
    with pytest.raises(ConfigError, match="max"):
        InferenceSettings("c", "o", "e", max_record_age_seconds={"customers": None, **ages})


# -- one group's record ------------------------------------------------------------------------


def _view(group: str, age: timedelta, limit: float | None):
    source = {"customers": "active_since", "orders": "purchased_on"}[group]
    moment = format_event_time(AS_OF - age)
    record = {"customer_id": "C1", "event_time": moment, source: moment}
    return group_view(group, record, as_of=AS_OF, params=load_params(), max_age_seconds=limit)


@pytest.mark.parametrize("group", ["customers", "orders"])
def test_stale_only_when_older_than_the_limit(group):
    assert _view(group, timedelta(seconds=3600), 3600).stale is False
    assert _view(group, timedelta(seconds=3601), 3600).stale is True
    assert _view(group, timedelta(days=3650), None).stale is False
    assert _view(group, timedelta(days=3650), None).age_seconds == 3650 * 86400


@pytest.mark.parametrize(
    "written",
    [
        "2021-12-01T08:30:00.000Z",  # what the writers store: parsed as is, already UTC
        "2021-12-01T10:30:00.000+02:00",  # an offset: converted to UTC
        "2021-12-01 08:30:00",  # no zone: taken as UTC
        " 2021-12-01T08:30:00Z ",  # spaces: stripped
    ],
)
def test_every_timestamp_the_library_reads_gives_the_same_view(written):
    record = {"customer_id": "C1", "event_time": written, "active_since": written}
    view = group_view("customers", record, as_of=AS_OF, params=load_params(), max_age_seconds=None)
    moment = datetime(2021, 12, 1, 8, 30, tzinfo=UTC)
    assert parse_timestamp(written) == moment
    assert view.event_time == moment and view.event_time.utcoffset() == timedelta(0)
    assert view.age_seconds == (AS_OF - moment).total_seconds()
    assert view.values["n_days_active"] == tenure(moment, AS_OF, load_params())


@pytest.mark.parametrize(
    "written", ["", "2021-13-01T00:00:00Z", "yesterday", "9999-12-31T23:00:00-23:00"]
)
def test_an_unreadable_timestamp_is_a_corrupt_record(written):
    record = {"customer_id": "C1", "event_time": written}
    with pytest.raises(CorruptRecord, match="event_time"):
        group_view("customers", record, as_of=AS_OF, params=load_params(), max_age_seconds=None)


@pytest.mark.parametrize("written", ["nan", "inf", "-Infinity"])
def test_a_stored_number_that_is_not_finite_is_a_corrupt_record(written):
    """JSON has no NaN or infinity: serving one would make the answer unreadable."""
    moment = format_event_time(AS_OF)
    record = {"event_time": moment, "purchased_on": moment, "purchase_amount": written}
    with pytest.raises(CorruptRecord, match=r"^orders\.purchase_amount is not a finite number$"):
        group_view("orders", record, as_of=AS_OF, params=load_params(), max_age_seconds=None)


# -- the service ------------------------------------------------------------------------------


class Store:
    """BatchGetRecord answering customer C1's two records, each written ``age`` ago."""

    def __init__(self, customers_age: timedelta, orders_age: timedelta) -> None:
        profile = format_event_time(AS_OF - customers_age)
        order = format_event_time(AS_OF - orders_age)
        self.records = {
            "cust": {"customer_id": "C1", "event_time": profile, "active_since": profile},
            "ord": {"customer_id": "C1", "event_time": order, "purchased_on": order},
        }
        self.records["cust"]["sex"] = "1"
        self.records["ord"]["purchase_amount"] = "1.0"

    def batch_get_record(self, **kwargs):
        found = [
            {
                "FeatureGroupName": ident["FeatureGroupName"],
                "RecordIdentifierValueAsString": "C1",
                "Record": [
                    {"FeatureName": name, "ValueAsString": value}
                    for name, value in self.records[ident["FeatureGroupName"]].items()
                ],
            }
            for ident in kwargs["Identifiers"]
        ]
        return {"Records": found, "Errors": [], "UnprocessedIdentifiers": []}


class Endpoint:
    def invoke_endpoint(self, **kwargs):
        import io
        import json

        body = {"predictions": [0.5], "model_version": "m-1"}
        return {"Body": io.BytesIO(json.dumps(body).encode())}


def _service(ages, customers_age: timedelta, orders_age: timedelta) -> InferenceService:
    contract = ModelContract(
        "m-1",
        load_params().version,
        (ContractFeature("sex", "customers"), ContractFeature("purchase_amount", "orders")),
    )
    reader = OnlineReader(Store(customers_age, orders_age), {"customers": "cust", "orders": "ord"})
    model = ModelClient(Endpoint(), "ep", contract.model_version)
    return InferenceService(reader, model, contract, load_params(), ages)


def test_default_settings_an_old_profile_is_fresh_an_old_order_is_stale():
    service = _service(settings().max_record_age_seconds, timedelta(days=1800), timedelta(days=8))
    answer = service.predict(["C1"], AS_OF)
    assert answer["max_record_age_seconds"] == {"customers": None, "orders": WEEK}
    [prediction] = answer["predictions"]
    assert prediction["feature_groups"]["customers"]["stale"] is False
    assert prediction["feature_groups"]["orders"]["stale"] is True
    assert prediction["stale"] is True


@pytest.mark.parametrize(
    ("customers_age", "orders_age", "stale"),
    [
        # limits: customers 10 days, orders 1 day; each age is fresh under its own limit
        # and would be judged the other way under the other group's limit
        (timedelta(days=5), timedelta(hours=12), {"customers": False, "orders": False}),
        (timedelta(days=11), timedelta(hours=12), {"customers": True, "orders": False}),
        (timedelta(days=5), timedelta(days=2), {"customers": False, "orders": True}),
    ],
)
def test_each_limit_applies_to_its_own_group(customers_age, orders_age, stale):
    ages = {"customers": 10 * 86400.0, "orders": 86400.0}
    service = _service(ages, customers_age, orders_age)
    features = service.features("C1", AS_OF)
    assert {g: v["stale"] for g, v in features["feature_groups"].items()} == stale
    [prediction] = service.predict(["C1"], AS_OF)["predictions"]
    assert {g: v["stale"] for g, v in prediction["feature_groups"].items()} == stale
    assert prediction["stale"] is any(stale.values())


def test_the_service_refuses_limits_that_do_not_name_every_group():
    with pytest.raises(ValueError, match="orders"):
        _service({"customers": None}, timedelta(0), timedelta(0))
