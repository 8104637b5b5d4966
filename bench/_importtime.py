"""Cold-start import cost of a module, measured with ``python -X importtime`` in fresh processes.

Shared by the benchmarks: how long importing a Lambda's handler takes beyond interpreter
start-up, and which heavy packages (pandas, scikit-learn, devstack …) came along with it.
The import runs in the environment Lambda gives a deployed function (``LAMBDA_ENV``),
because that changes what importing does: outside Lambda the X-Ray SDK builds clients for
centralized sampling (~0.3 s here) that a Lambda never builds, and Powertools' ``Tracer``,
enabled by ``Tracing: Active``, patches botocore on import.
"""

import os
import statistics
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from devstack.stack.lambda_runtime import deployed_import_env

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("pandas", "sklearn", "numpy", "pyarrow", "duckdb", "devstack")
LAMBDA_ENV = deployed_import_env(ROOT / "functions", "featurestream-bench")


@dataclass(frozen=True)
class ImportCost:
    module: str
    median_ms: float
    modules_loaded: int
    heavy_loaded: tuple[str, ...]


def _importtime(code: str) -> list[tuple[int, int, str]]:
    """(indent, cumulative µs, module name) for every line ``-X importtime`` prints."""
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code],
        cwd=ROOT / "functions",  # the Lambda's CodeUri is its import root
        env={
            **{k: v for k, v in os.environ.items() if k != "POWERTOOLS_TRACE_DISABLED"},
            **LAMBDA_ENV,
        },
        capture_output=True,
        text=True,
        check=True,
    )
    rows = []
    for line in result.stderr.splitlines():
        if not line.startswith("import time:") or "[us]" in line:
            continue
        _self, cumulative, name = line.removeprefix("import time:").split("|")
        rows.append((len(name) - len(name.lstrip(" ")), int(cumulative), name.strip()))
    return rows


def measure_import(module: str, runs: int = 7) -> ImportCost:
    """Median over ``runs`` fresh interpreters of the time to import ``module``.

    Counts the top-level imports the statement triggers, not the interpreter's own start-up
    imports (measured in the same way with an empty program).
    """
    startup = {name for _, _, name in _importtime("pass")}
    totals = []
    loaded: set[str] = set()
    for _ in range(runs):
        rows = _importtime(f"import {module}")
        loaded = {name for _, _, name in rows} - startup
        totals.append(sum(c for indent, c, name in rows if indent == 1 and name not in startup))
    heavy = tuple(h for h in HEAVY if any(n == h or n.startswith(f"{h}.") for n in loaded))
    return ImportCost(module, statistics.median(totals) / 1000, len(loaded), heavy)
