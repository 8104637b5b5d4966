"""The standard fault plans: the all-together scenario holds every single fault at its
strength alone, and the baseline holds none."""

from dataclasses import fields

from devstack.rigs.chaos.plan import (
    FaultPlan,
    Shares,
    all_together,
    single_fault_plans,
    standard_plans,
)

SHARES = Shares(store_throttle=0.11, store_error=0.07, partial_put=0.13, duplicate=0.17)
FAULTS = [f.name for f in fields(FaultPlan) if f.name != "name"]


def test_each_single_plan_switches_on_exactly_one_fault():
    for plan in single_fault_plans(SHARES):
        on = [name for name in FAULTS if getattr(plan, name)]
        assert len(on) == 1, plan


def test_all_together_holds_every_single_fault_at_its_own_strength():
    together = all_together(SHARES)
    for plan in single_fault_plans(SHARES):
        [fault] = [name for name in FAULTS if getattr(plan, name)]
        assert getattr(together, fault) == getattr(plan, fault)
    assert {name for name in FAULTS if getattr(together, name)} == set(FAULTS)


def test_the_standard_run_is_baseline_singles_then_all_together():
    plans = standard_plans(SHARES)
    assert plans[0] == FaultPlan("baseline")
    assert plans[1:-1] == single_fault_plans(SHARES)
    assert plans[-1] == all_together(SHARES)
