"""The inference function answers any API Gateway event with a 4xx and a clear message, or
serves it: never a 500, never a traceback, never the value sent in the answer or the logs."""

import base64
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

import handlers.inference
from devstack.stack.lambda_context import LocalContext
from featurestream.serving.app import InferenceApp
from tests.fixtures.inference import api_event
from tests.fuzz.strategies import NAME, hostile_text, json_values, nested


class _DependenciesUnreachable(Exception):
    pass


REACHED: list[bool] = []


def _unreachable():
    REACHED.append(True)  # only a request that passed every check gets here
    raise _DependenciesUnreachable


@st.composite
def api_events(draw: st.DrawFn) -> dict:
    method = draw(st.sampled_from(["GET", "POST", "PUT", "DELETE", NAME]))
    path = draw(
        st.sampled_from(["/predictions", "/customers/C1/features", f"/customers/{NAME}/features"])
    )
    body = draw(
        st.one_of(
            st.none(),
            json_values.map(json.dumps),
            st.builds(
                lambda ids: json.dumps({"customer_ids": ids}), st.lists(hostile_text, max_size=5)
            ),
            st.integers(100, 5000).map(nested),
            st.binary(max_size=64).map(lambda b: b.decode("latin-1")),
        )
    )
    event = api_event(method if method != NAME else "GET", path, body=body)
    event["requestContext"]["http"]["method"] = method
    if draw(st.booleans()):
        event["isBase64Encoded"] = True
        event["body"] = draw(
            st.one_of(
                hostile_text, st.binary(max_size=40).map(lambda b: base64.b64encode(b).decode())
            )
        )
    if draw(st.booleans()):
        event["pathParameters"] = draw(
            st.one_of(st.none(), st.dictionaries(hostile_text, json_values, max_size=2))
        )
    if draw(st.booleans()):
        event[
            draw(st.sampled_from(["requestContext", "headers", "queryStringParameters", "rawPath"]))
        ] = draw(json_values)
    return event


@pytest.fixture
def invoke(monkeypatch, capsys):
    monkeypatch.setattr(handlers.inference, "app", InferenceApp(factory=_unreachable))

    def call(event):
        capsys.readouterr()
        REACHED.clear()
        answer = handlers.inference.lambda_handler(
            event, LocalContext.for_function("InferenceFunction")
        )
        printed = capsys.readouterr()
        if REACHED:
            return None, "", ""  # a valid request reached the dependencies: not this test's case
        return answer["statusCode"], answer["body"], printed.out + printed.err

    return call


@given(api_events())
def test_any_request_is_served_or_refused_with_a_4xx_that_echoes_nothing(invoke, event) -> None:
    status, body, logs = invoke(event)
    if status is None:
        return
    assert 400 <= status < 500, (status, body)
    assert json.loads(body)["message"]
    assert NAME not in body
    assert NAME not in logs
    assert "Traceback" not in logs
