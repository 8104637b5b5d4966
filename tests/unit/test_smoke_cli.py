from click.testing import CliRunner

from featurestream_cli.main import cli


def test_cli_help_lists_itself() -> None:
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    assert "SageMaker Feature Store" in result.output
