"""The moto service resolves a host's backend once, without listing moto's folder per call."""

import logging
import os

import pytest

from devstack.moto_service import patch_request_dispatch


def test_backends_are_resolved_from_a_cache_and_requests_are_not_logged(monkeypatch):
    from moto import backends
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication

    patch_request_dispatch()
    app = DomainDispatcherApplication(lambda service: None)
    host = "kinesis.us-east-1.amazonaws.com"
    first = app.get_backend_for_host(host)
    assert first == "kinesis"

    def no_disk(*args):
        pytest.fail("moto's package folder was listed again")

    monkeypatch.setattr(os, "listdir", no_disk)
    assert "sqs" in backends.list_of_moto_modules()
    assert app.get_backend_for_host(host) == first
    assert app.get_backend_for_host("sqs") == "sqs"
    assert logging.getLogger("werkzeug").getEffectiveLevel() >= logging.WARNING
