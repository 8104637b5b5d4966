"""Which faults one scenario injects, and the standard set: each fault alone, then all."""

from __future__ import annotations

from dataclasses import dataclass, fields


@dataclass(frozen=True)
class Shares:
    """How hard each share-based fault hits (fractions of calls or events)."""

    store_throttle: float = 0.10
    """Share of Feature Store write calls answered ``ThrottlingException`` (400)."""
    store_error: float = 0.05
    """Share of Feature Store write calls answered ``ServiceUnavailable`` (503)."""
    partial_put: float = 0.10
    """Share of PutRecords entries the producer's Kinesis client fails inside a 200."""
    duplicate: float = 0.10
    """Share of valid events sent a second time, later in the stream."""
    state_throttle: float = 0.20
    """Share of the order function's DynamoDB calls on the aggregate state table answered
    ``ThrottlingException`` (400)."""


@dataclass(frozen=True)
class FaultPlan:
    """One scenario: a name and the faults it switches on (all off by default)."""

    name: str
    store_throttle: float = 0.0
    store_error: float = 0.0
    state_throttle: float = 0.0
    partial_put: float = 0.0
    duplicate: float = 0.0
    shuffle: bool = False
    poison_pills: bool = False
    kill_worker: bool = False
    restart_emulator: bool = False
    kill_emulator: bool = False

    @property
    def disrupts(self) -> bool:
        """True when a process is killed or restarted: the replay is then paced, so the
        disruption lands while batches are in flight."""
        return self.kill_worker or self.restart_emulator or self.kill_emulator

    @property
    def stops_the_store(self) -> bool:
        """The emulator is down for a while: batches may outlast the retry window and go
        to the on-failure queue, to be redriven (see docs/faults.md)."""
        return self.restart_emulator or self.kill_emulator


def single_fault_plans(shares: Shares) -> list[FaultPlan]:
    """Each fault on its own, in the order the docs list them."""
    return [
        FaultPlan("store-throttle", store_throttle=shares.store_throttle),
        FaultPlan("store-5xx", store_error=shares.store_error),
        FaultPlan("state-throttle", state_throttle=shares.state_throttle),
        FaultPlan("partial-puts", partial_put=shares.partial_put),
        FaultPlan("duplicates", duplicate=shares.duplicate),
        FaultPlan("shuffled", shuffle=True),
        FaultPlan("poison-pills", poison_pills=True),
        FaultPlan("worker-killed", kill_worker=True),
        FaultPlan("emulator-restart", restart_emulator=True),
        FaultPlan("emulator-killed", kill_emulator=True),
    ]


def all_together(shares: Shares) -> FaultPlan:
    """Every fault of :func:`single_fault_plans` in one scenario, each as strong as it is
    alone: derived from them, so a fault added there cannot be missing here."""
    singles = single_fault_plans(shares)
    faults = {
        f.name: max(getattr(plan, f.name) for plan in singles)
        for f in fields(FaultPlan)
        if f.name != "name"
    }
    return FaultPlan("all-together", **faults)


def standard_plans(shares: Shares | None = None) -> list[FaultPlan]:
    """The standard run: a fault-free baseline, each fault alone, then all together."""
    chosen = shares or Shares()
    return [FaultPlan("baseline"), *single_fault_plans(chosen), all_together(chosen)]
