"""Shared pytest setup.

Fixtures live in one module per area under ``tests/fixtures/`` and are loaded here
automatically, so each area adds its fixtures without editing a shared file.
"""

import pkgutil
from pathlib import Path

pytest_plugins = [
    f"tests.fixtures.{module.name}"
    for module in pkgutil.iter_modules([str(Path(__file__).parent / "fixtures")])
]
