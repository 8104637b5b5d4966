"""The local stack: start the stand-ins as processes, provision them from template.yaml,
stop them without losing unsent data."""
