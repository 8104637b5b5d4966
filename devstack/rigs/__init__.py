"""Rigs that drive the local stack end to end: the demo, the load run and the fault suite."""
