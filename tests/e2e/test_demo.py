"""``featurestream demo`` on a subset of the data against the session's stack: it reuses the
running stack (and leaves it up), prints the summary, the customers' features with their
event times, the tutorial reads and predictions, and never a customer's name."""

import csv
from pathlib import Path

import pytest
from click.testing import CliRunner

from devstack.stack.deployment import DevStack
from featurestream_cli.main import cli
from tests.e2e.test_pipeline import CUSTOMERS, _subset
from tests.fixtures.stack import point_cli_at

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.timeout(120)
def test_demo_on_a_subset_shows_features_and_predictions(
    local_stack: DevStack,
    local_stack_env: dict[str, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    customers_csv, orders_csv, _ = _subset(tmp_path, first=CUSTOMERS + 1)
    point_cli_at(local_stack, monkeypatch)
    monkeypatch.chdir(REPO)
    result = CliRunner().invoke(
        cli, ["demo", "--customers", str(customers_csv), "--orders", str(orders_csv)]
    )
    assert result.exit_code == 0, result.output
    out = result.output
    with customers_csv.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    sent = len(rows) + sum(1 for _ in orders_csv.open()) - 1
    assert f"events sent          {sent:>8}" in out
    assert f"processed            {sent:>8}" in out
    assert "quarantined                 0" in out
    assert "in on-failure queue         0" in out
    assert "featurestream-orders     event_time=" in out
    assert "-> 6 records, 0 errors, 0 unprocessed" in out
    assert out.count("reorder probability") == 3
    # replayed as live, the customers with the newest orders are scored fresh
    assert "STALE" not in out
    # freshness of this run's writes, per group, from the handlers' metrics
    for group in ("customers", "orders"):
        line = next(x for x in out.splitlines() if x.strip().startswith(group + " "))
        assert "PipelineFreshness p50" in line and "p99" in line
        assert "EventFreshness p50" in line
    # a drift summary per group and the report under the state folder
    assert "drift (each group's older half" in out
    assert "report: " + str(local_stack.state_dir / "reports" / "drift-orders.html") in out
    assert (local_stack.state_dir / "reports" / "drift-orders.html").exists()
    drift = out.split("drift (each group's older half")[1]
    assert "purchase_amount" in drift and "age_18-29" in drift
    assert "not computed" not in drift
    # the online aggregates against pandas and against the tutorial's SQL on the offline store
    checks = [line for line in out.splitlines() if "customers' aggregates equal" in line]
    assert len(checks) == 2, out
    assert "equal the batch group-by" in checks[0] and checks[0].lstrip().startswith("OK:")
    assert "equal the tutorial's SQL on the offline store" in checks[1]
    assert checks[1].lstrip().startswith("OK:")
    assert checks[0].split()[1] == checks[1].split()[1] != "0"  # the same customers, some
    assert "The tutorial's join on the offline store (orders of 20" in out
    joined = next(line for line in out.splitlines() if "joined rows in" in line)
    assert int(joined.split("->")[1].split()[0]) > 0
    assert "The stack stays up" in out
    assert all(service.status().running for service in local_stack.services())
    assert not any(row["name"] in out for row in rows)  # no PII
