"""The CSV path: replaying raw/customers.csv (which has a ``name`` column) never prints,
logs or publishes a name, for good rows or bad ones (a name put in the invalid values)."""

import logging
from pathlib import Path

import pytest
from click.testing import CliRunner

from featurestream_cli.main import cli
from producers.sources import RowError, read_customer_events
from tests.integration.producers.conftest import Streams, streams  # noqa: F401 (fixture)
from tests.unit.producers.support import CUSTOMER_HEADER, write_csv, write_exports

NAME = "Zebulon Quackenbush"
TIME = "2022-01-01T00:00:00.000Z"


@pytest.fixture
def exports(tmp_path: Path) -> tuple[Path, Path]:
    customers, orders = write_exports(tmp_path, customers=2, orders_per_customer=1)
    write_csv(
        customers,
        CUSTOMER_HEADER,
        [
            f"0,C1,{NAME},F,Ohio,40,False,2020-01-01 10:00:00,{TIME}",
            f"1,C2,{NAME},{NAME},Ohio,{NAME},{NAME},{NAME},{TIME}",  # bad values
            f"2,C3,{NAME},F,Ohio,40,False,2020-01-03 10:00:00,{NAME}",  # export time is not read
            f'3,C4,"{NAME}, {NAME}",M,Ohio,12,True,2020-01-04 10:00:00,{TIME}',  # too young
        ],
    )
    return customers, orders


def test_sources_reasons_hold_no_names(exports):
    results = list(read_customer_events(exports[0]))
    assert len(results) == 4
    errors = [result for result in results if isinstance(result, RowError)]
    assert [error.field for error in errors] == ["age", "age"]  # the first bad field, in order
    for result in results:  # row errors are printed; events carry no name
        assert "Quackenbush" not in str(result)


@pytest.mark.parametrize("mode", [["--dry-run"], []], ids=["dry-run", "send"])
def test_replay_never_prints_names(streams: Streams, exports, caplog, mode):  # noqa: F811
    caplog.set_level(logging.DEBUG)
    customers, orders = exports
    args = ["replay", "--customers", str(customers), "--orders", str(orders), *mode]
    result = CliRunner().invoke(cli, args, catch_exceptions=False)

    assert result.exit_code == 0, result.stderr
    assert "skipped   2 bad rows" in result.stderr  # the bad rows were seen and reported
    output = "\n".join([result.stdout, result.stderr, caplog.text])
    assert "Quackenbush" not in output
    published = b"".join(streams.read(streams.customer) + streams.read(streams.order))
    assert b"Quackenbush" not in published  # events carry no name at all
