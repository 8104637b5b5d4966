"""Hypothesis profiles for the fuzz suite: ``ci`` (``make test``: few examples, derandomized,
so a run is reproducible and bounded) and ``fuzz`` (``make fuzz``: many fresh examples, the
failures kept in ``.hypothesis/`` and replayed first next time)."""

import os

from hypothesis import HealthCheck, settings

_SLOW_OK = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large]
settings.register_profile(
    "ci",
    max_examples=25,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=_SLOW_OK,
)
settings.register_profile("fuzz", max_examples=1500, deadline=None, suppress_health_check=_SLOW_OK)
settings.load_profile(os.environ.get("FEATURESTREAM_FUZZ_PROFILE", "ci"))
