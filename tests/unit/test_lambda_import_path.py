"""The Lambda import path stays lean: no pandas, scikit-learn, numpy, pyarrow, duckdb, moto,
training or devstack.

One fresh interpreter, run from ``functions/`` (the Lambda's CodeUri) so nothing imported by
the test session can hide a heavy import, imports every module in turn and records which
heavy packages appeared after each: the first module that pulls one in is named as the
culprit. One interpreter instead of one per module keeps this a few seconds, not minutes.
A heavy package pulled in by two modules is blamed on the first only; fix it and the next
run names the other.
"""

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from devstack.stack.lambda_runtime import deployed_import_env

FUNCTIONS = Path(__file__).resolve().parents[2] / "functions"
HEAVY = ("pandas", "sklearn", "numpy", "pyarrow", "duckdb", "devstack", "training", "moto")


def _modules(package: str) -> list[str]:
    """Every module of a package under ``functions/``, its sub-packages' modules included."""
    root = FUNCTIONS / package
    return [
        ".".join((package, *path.relative_to(root).with_suffix("").parts))
        for path in root.rglob("[a-z]*.py")
    ]


LAMBDA_MODULES = sorted(_modules("featurestream") + _modules("handlers"))

PROBE = """
import importlib, json, os, sys, traceback

HEAVY = set(sys.argv[1].split(","))
OWN = os.getcwd() + os.sep


class Witness:
    \"\"\"Finds nothing; notes which lines of our own code first asked for a heavy package.\"\"\"

    via = {}

    def find_spec(self, name, path=None, target=None):
        top = name.split(".")[0]
        if top in HEAVY and top not in self.via:
            self.via[top] = [
                f"{frame.filename[len(OWN):]}:{frame.lineno}"
                for frame in traceback.extract_stack()
                if frame.filename.startswith(OWN)
            ]
        return None


sys.meta_path.insert(0, Witness())


def heavy():
    return sorted({name.split(".")[0] for name in sys.modules} & HEAVY)


report = {"startup": heavy(), "modules": {}}
seen = set(report["startup"])
for module in sys.argv[2:]:
    error = None
    try:
        importlib.import_module(module)
    except BaseException:
        error = traceback.format_exc()
    new = [name for name in heavy() if name not in seen]
    seen.update(new)
    report["modules"][module] = {
        "heavy": {name: Witness.via.get(name, []) for name in new},
        "error": error,
    }
print(json.dumps(report))
"""


@pytest.fixture(scope="module")
def probe() -> dict[str, Any]:
    """Import every Lambda module in one fresh interpreter; per module, what it added."""
    result = subprocess.run(
        [sys.executable, "-c", PROBE, ",".join(HEAVY), *LAMBDA_MODULES],
        cwd=FUNCTIONS,
        check=False,  # the assertion shows stderr
        capture_output=True,
        text=True,
        env={
            "PATH": "/usr/bin:/bin",
            "AWS_DEFAULT_REGION": "us-east-1",
            "PYTHONPATH": str(FUNCTIONS),
        },
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    report: dict[str, Any] = json.loads(result.stdout)
    return report


def test_the_library_has_modules_to_check() -> None:
    assert "featurestream.contract.transforms" in LAMBDA_MODULES
    assert "handlers.inference" in LAMBDA_MODULES


def test_the_interpreter_starts_without_heavy_packages(probe: dict[str, Any]) -> None:
    """Otherwise a heavy import by a module would go unnoticed (it was there already)."""
    assert probe["startup"] == []
    assert list(probe["modules"]) == LAMBDA_MODULES


@pytest.mark.parametrize("module", LAMBDA_MODULES)
def test_module_imports_nothing_heavy(probe: dict[str, Any], module: str) -> None:
    outcome = probe["modules"][module]
    assert outcome["error"] is None, f"{module} does not import:\n{outcome['error']}"
    chains = {name: " -> ".join(via) or "?" for name, via in outcome["heavy"].items()}
    assert chains == {}, f"{module} pulls in {chains}"


IN_LAMBDA_PROBE = """
import json, sys
import handlers.inference
import botocore.client
call = botocore.client.BaseClient.__dict__["_make_api_call"]  # the X-Ray SDK wraps it (wrapt)
traced = type(call).__name__ == "FunctionWrapper"
print(json.dumps({"traced": traced, "modules": sorted(sys.modules)}))
"""


@pytest.fixture(scope="module")
def in_lambda() -> dict[str, Any]:
    """The inference handler imported as a deployed Lambda imports it: ``LAMBDA_TASK_ROOT``
    puts the X-Ray SDK in its Lambda mode, and Powertools' Tracer is enabled (Tracing:
    Active)."""
    result = subprocess.run(
        [sys.executable, "-c", IN_LAMBDA_PROBE],
        cwd=FUNCTIONS,
        check=False,
        capture_output=True,
        text=True,
        env={
            "PATH": "/usr/bin:/bin",
            **deployed_import_env(FUNCTIONS, "featurestream-inference"),
        },
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    probe: dict[str, Any] = json.loads(result.stdout)
    return probe


def test_the_inference_handler_does_without_pydantic(in_lambda: dict[str, Any]) -> None:
    """The event models are for the stream Lambdas: importing pydantic and building them was
    about a sixth of the inference Lambda's cold start, for a customer id pattern."""
    assert "pydantic" not in in_lambda["modules"]
    assert "featurestream.contract.events" not in in_lambda["modules"]


def test_tracing_patches_botocore_and_nothing_else(in_lambda: dict[str, Any]) -> None:
    """The handlers reach AWS through botocore only; patching every library the X-Ray SDK
    knows (sqlite3, httplib, requests ...) cost about a third of the import."""
    assert in_lambda["traced"] is True
    assert "sqlite3" not in in_lambda["modules"]
