"""The committed history, read once per session: several tests need all 110,000 rows."""

from pathlib import Path

import pytest

from training.history import History, read_history

RAW = Path(__file__).resolve().parents[3] / "raw"


@pytest.fixture(scope="session")
def raw_history() -> History:
    return read_history(RAW / "customers.csv", RAW / "orders.csv")
