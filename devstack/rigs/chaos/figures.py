"""One scenario's figures, the invariants they must meet, and the table that prints them."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Figures:
    """Counts of one scenario. Definitions in docs/faults.md."""

    scenario: str
    events: int = 0
    """Distinct valid events of the slice."""
    customers: int = 0
    sent: int = 0
    """Records accepted by Kinesis: valid events, their duplicates and the pills."""
    duplicates: int = 0
    pills: int = 0
    lost: int = 0
    double_applied: int = 0
    wrong: int = 0
    quarantined: int = 0
    misquarantined: int = 0
    on_failure: int = 0
    """Records the trigger runner gave up on (retries exhausted) and sent to the on-failure
    queue. Only an outage longer than the retry window may put any there."""
    on_failure_allowed: bool = False
    redriven: int = 0
    """Records re-read from the failed ranges and put back (the operations runbook)."""
    on_failure_left: int = 0
    """On-failure messages still there after the redrive: must be 0."""
    producer_retries: int = 0
    """Entries the publisher re-sent after a partial PutRecords failure."""
    store_faults: int = 0
    """Feature Store write calls the emulator failed on purpose (throttle + 5xx)."""
    state_faults: int = 0
    """DynamoDB calls on the aggregate state table throttled on purpose (counted by moto)."""
    batch_retries: int = 0
    """Re-invocations by the trigger runner: retried batches plus bisected halves."""
    redelivered: int = 0
    """Records handed to the handler again (invocations' records minus records read)."""
    offline_extra: int = 0
    aggregates_wrong: int = 0
    """Customers whose customer-order-stats differ from the group-by of the valid orders
    sent (deduplicated by order_id), or are missing."""
    """Offline rows beyond one per event: redeliveries, written again (append-only store)."""
    drain_s: float = 0.0
    """From the last record sent to every record done and all consumers caught up."""
    total_s: float = 0.0
    notes: list[str] = field(default_factory=list)
    missed: list[str] = field(default_factory=list)
    """Planned faults that did not happen (e.g. a kill that hit no invocation)."""

    def problems(self) -> list[str]:
        """Broken invariants; empty when the scenario proved what it must."""
        found = []
        for name in (
            "lost",
            "double_applied",
            "wrong",
            "aggregates_wrong",
            "misquarantined",
            "on_failure_left",
        ):
            if getattr(self, name):
                found.append(f"{name}={getattr(self, name)}")
        if self.on_failure and not self.on_failure_allowed:
            found.append(f"on_failure={self.on_failure} without a store outage")
        found += [f"fault not injected: {what}" for what in self.missed]
        if self.quarantined != self.pills:
            found.append(f"quarantined {self.quarantined} of {self.pills} pills")
        return found


COLUMNS = (
    ("scenario", "scenario"),
    ("events", "events"),
    ("sent", "sent"),
    ("duplicates", "dups"),
    ("pills", "pills"),
    ("lost", "lost"),
    ("double_applied", "double"),
    ("wrong", "wrong"),
    ("aggregates_wrong", "agg.wrong"),
    ("quarantined", "quarant."),
    ("on_failure", "on-fail"),
    ("redriven", "redriven"),
    ("producer_retries", "prod.retry"),
    ("store_faults", "store.fault"),
    ("state_faults", "state.fault"),
    ("batch_retries", "batch.retry"),
    ("redelivered", "redeliv."),
    ("offline_extra", "offl.extra"),
    ("drain_s", "drain s"),
    ("total_s", "total s"),
)


def _cell(value: object) -> str:
    return f"{value:.1f}" if isinstance(value, float) else str(value)


def table(rows: list[Figures]) -> str:
    """A plain-text table (one line per scenario) plus the notes and any broken invariant."""
    head = [label for _, label in COLUMNS]
    body = [[_cell(getattr(row, name)) for name, _ in COLUMNS] for row in rows]
    widths = [max(len(line[i]) for line in [head, *body]) for i in range(len(head))]
    out = [
        "  ".join(
            cell.rjust(w) if i else cell.ljust(w)
            for i, (cell, w) in enumerate(zip(line, widths, strict=True))
        )
        for line in [head, *body]
    ]
    for row in rows:
        for note in row.notes:
            out.append(f"{row.scenario}: {note}")
        problems = row.problems()
        if problems:
            out.append(f"{row.scenario}: FAILED: {', '.join(problems)}")
    return "\n".join(out)
