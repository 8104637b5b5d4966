"""Security checks that run in make test: no personal data in logs, hostile payloads."""
