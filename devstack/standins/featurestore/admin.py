"""Client of the emulator's local control API (``/_emulator/...``) for a running emulator.

Fault runs and tools in other processes use it to switch faults on and off, read how many
faults were injected, flush the offline store and read per-operation call counts. Loopback
only; nothing here is reachable from the Lambda code path.
"""

from __future__ import annotations

import json
import urllib.request
from typing import Any

from devstack.standins.featurestore.config import FaultConfig


def admin_call(
    endpoint_url: str, action: str, body: object | None = None, timeout: float = 10.0
) -> dict[str, Any]:
    """``GET`` (no body) or ``POST`` (JSON body) one admin action; returns its JSON answer."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(  # noqa: S310  # http to the local emulator
        f"{endpoint_url}/_emulator/{action}",
        data=data,
        method="GET" if body is None else "POST",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310  # nosec B310  # local emulator
        answer: dict[str, Any] = json.loads(response.read() or b"{}")
    return answer


def set_faults(endpoint_url: str, faults: FaultConfig) -> dict[str, Any]:
    """Replace the emulator's faults (``FaultConfig()`` switches them off); resets counts."""
    return admin_call(endpoint_url, "faults", faults.to_dict())


def injected_faults(endpoint_url: str) -> dict[str, int]:
    """Calls failed on purpose since the faults were last set, by kind."""
    return {k: int(v) for k, v in admin_call(endpoint_url, "faults").get("injected", {}).items()}


def operation_calls(endpoint_url: str) -> dict[str, int]:
    """Calls served per operation since start (or the last stats reset)."""
    operations = admin_call(endpoint_url, "stats")["operations"]
    return {name: int(values["calls"]) for name, values in operations.items()}


def flush_offline(endpoint_url: str, timeout: float = 600.0) -> None:
    """Write every buffered offline row to Parquet now (about one file per row and hour
    partition after a replay: thousands of rows take tens of seconds)."""
    admin_call(endpoint_url, "flush", {}, timeout=timeout)
