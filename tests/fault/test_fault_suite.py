"""The fault suite, lean: on the test session's local stack, each cheap fault alone and then
every fault together (including a handler worker killed mid-batch, and the emulator
restarted and later killed with SIGKILL mid-run), each on its own 15 customers of raw/
(~160 events). ``make chaos`` runs the full set, each process fault alone too, on more
events.

Customers C9001.. keep clear of the slices other tests replay on the same stack.
"""

from collections.abc import Iterator
from pathlib import Path

import pytest

from devstack.rigs.chaos.figures import Figures, table
from devstack.rigs.chaos.plan import Shares, all_together, single_fault_plans
from devstack.rigs.chaos.runner import RunSettings, ScenarioRunner, run_suite
from devstack.rigs.chaos.verify import check_online, newest_events
from devstack.rigs.chaos.workload import customer_slice, read_slice
from devstack.stack.deployment import DevStack
from featurestream.contract.params import load_params

REPO = Path(__file__).resolve().parents[2]
FIRST_CUSTOMER = 9001
PER_SCENARIO = 15
SHARES = Shares(
    store_throttle=0.15, store_error=0.1, partial_put=0.15, duplicate=0.15, state_throttle=0.5
)
PROCESS_FAULTS = {"worker-killed", "emulator-restart", "emulator-killed"}
PLANS = [
    *(p for p in single_fault_plans(SHARES) if p.name not in PROCESS_FAULTS),
    all_together(SHARES),
]


@pytest.fixture(scope="module")
def stack_env(local_stack: DevStack) -> Iterator[DevStack]:
    with pytest.MonkeyPatch.context() as patch:
        for key, value in local_stack.environment().items():
            patch.setenv(key, value)
        yield local_stack


@pytest.fixture(scope="module")
def figures(stack_env: DevStack, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Figures]:
    results = run_suite(
        stack_env,
        PLANS,
        raw_dir=REPO / "raw",
        work_dir=tmp_path_factory.mktemp("chaos"),
        first_customer=FIRST_CUSTOMER,
        customers_per_scenario=PER_SCENARIO,
        settings=RunSettings(seed=11, drain_timeout_s=120.0),
    )
    print("\n" + table(results))  # shown with -s, and on failure
    return {f.scenario: f for f in results}


@pytest.mark.timeout(240)
@pytest.mark.parametrize("plan", PLANS, ids=[p.name for p in PLANS])
def test_nothing_lost_nothing_double_applied_every_pill_quarantined(plan, figures) -> None:
    result = figures[plan.name]
    assert result.events > 50
    assert result.problems() == [], table([result])
    assert result.lost == result.double_applied == result.wrong == 0
    assert result.aggregates_wrong == 0  # every customer's order aggregates exact
    assert result.quarantined == result.pills


@pytest.mark.timeout(240)
def test_each_fault_was_really_injected(figures) -> None:
    assert figures["store-throttle"].store_faults > 0
    assert figures["store-5xx"].store_faults > 0
    assert figures["state-throttle"].state_faults > 0
    assert figures["partial-puts"].producer_retries > 0
    assert figures["partial-puts"].sent == figures["partial-puts"].events  # resent, not doubled
    assert figures["duplicates"].duplicates > 0
    assert (
        figures["duplicates"].sent
        == figures["duplicates"].events + figures["duplicates"].duplicates
    )
    assert figures["poison-pills"].pills == 8
    together = figures["all-together"]
    assert together.store_faults > 0 and together.producer_retries > 0
    assert together.state_faults > 0
    assert together.duplicates > 0 and together.pills == 8
    assert any("killed mid-batch" in note for note in together.notes), together.notes
    assert any("emulator restarted" in note for note in together.notes), together.notes
    assert any("emulator killed (SIGKILL)" in note for note in together.notes), together.notes
    assert together.redelivered > 0  # the killed and the failed invocations ran again


@pytest.mark.timeout(240)
def test_faults_without_redelivery_leave_exactly_one_offline_row_per_event(figures) -> None:
    for name in ("partial-puts", "shuffled", "poison-pills"):
        assert figures[name].offline_extra == 0, name
        assert figures[name].redelivered == 0, name


@pytest.mark.timeout(240)
def test_the_online_check_sees_a_missing_and_a_stale_record(
    stack_env: DevStack, figures, tmp_path: Path
) -> None:
    """Not vacuous: plant both kinds of damage in a scenario's customers and look again."""
    from datetime import UTC, datetime, timedelta

    runner = ScenarioRunner(stack_env)
    ids = customer_slice(FIRST_CUSTOMER, PER_SCENARIO)  # the first plan's slice
    newest = newest_events(read_slice(REPO / "raw", ids, tmp_path))
    window = (datetime.now(UTC), datetime.now(UTC))
    assert check_online(runner.runtime, runner.groups, newest, window, load_params()).checked
    (group, missing), (group2, stale) = sorted(newest)[:2]
    runner.runtime.delete_record(
        FeatureGroupName=runner.groups[group],
        RecordIdentifierValueAsString=missing,
        EventTime="2100-01-01T00:00:00Z",
    )
    later = newest[(group2, stale)]
    newest[(group2, stale)] = later.model_copy(
        update={"event_time": later.event_time + timedelta(days=1)}
    )
    verdict = check_online(runner.runtime, runner.groups, newest, window, load_params())
    assert verdict.missing == [f"{group}/{missing}"]
    assert verdict.stale == [f"{group2}/{stale}"]
