"""The Lambda import path stays lean: no pandas, scikit-learn, numpy, pyarrow or devstack.

Each module is imported in a fresh interpreter from ``functions/`` (the Lambda's CodeUri),
so nothing imported by the test session can hide a heavy import.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

FUNCTIONS = Path(__file__).resolve().parents[2] / "functions"
HEAVY = ("pandas", "sklearn", "numpy", "pyarrow", "duckdb", "devstack", "batch", "moto")
LAMBDA_MODULES = sorted(
    [f"featurestream.{p.stem}" for p in (FUNCTIONS / "featurestream").glob("[a-z]*.py")]
    + [f"handlers.{p.stem}" for p in (FUNCTIONS / "handlers").glob("[a-z]*.py")]
)


def test_the_library_has_modules_to_check() -> None:
    assert "featurestream.transforms" in LAMBDA_MODULES


@pytest.mark.parametrize("module", LAMBDA_MODULES)
def test_module_imports_nothing_heavy(module: str) -> None:
    probe = f"import sys, json, {module}; print(json.dumps(sorted(sys.modules)))"
    result = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=FUNCTIONS,
        capture_output=True,
        text=True,
        check=True,
        env={
            "PATH": "/usr/bin:/bin",
            "AWS_DEFAULT_REGION": "us-east-1",
            "PYTHONPATH": str(FUNCTIONS),
        },
    )
    loaded = json.loads(result.stdout)
    heavy = [m for m in loaded if m.split(".")[0] in HEAVY]
    assert heavy == [], f"{module} pulls in {sorted({m.split('.')[0] for m in heavy})}"
