"""``python -m featurestream_cli`` runs the CLI (same as the ``featurestream`` script)."""

from featurestream_cli.main import cli

cli()
