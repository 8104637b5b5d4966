"""The CLI's entry points on bad input and bad paths: a clear error naming the file, line
and field (or the option and path), never a traceback, never the user's value.

Commands run through click's CliRunner with ``catch_exceptions=False``, so a traceback
(an uncaught exception) fails the test instead of passing as a non-zero exit."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from featurestream_cli.main import cli
from tests.unit.producers.support import CUSTOMER_HEADER, customer_row, write_exports

REPO = Path(__file__).resolve().parents[2]


def run(args: list[str]) -> Result:
    return CliRunner().invoke(cli, args, catch_exceptions=False)


def test_cli_help_lists_itself() -> None:
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    assert "SageMaker Feature Store" in result.output


@pytest.fixture
def customers(tmp_path: Path) -> Path:
    return write_exports(tmp_path, customers=4, orders_per_customer=2)[0]


def test_transform_output_in_a_missing_folder_or_a_folder_is_a_usage_error(
    customers: Path, tmp_path: Path
) -> None:
    missing = run(["transform", "customers", str(customers), "-o", "/nonexistent/x.csv"])
    assert missing.exit_code == 2
    assert "/nonexistent/x.csv: cannot write (folder /nonexistent does not exist)" in missing.stderr
    folder = run(["transform", "customers", str(customers), "-o", str(tmp_path)])
    assert folder.exit_code == 2 and "is a directory" in folder.stderr


def test_transform_names_line_and_field_of_bad_bytes_and_huge_fields(
    customers: Path, tmp_path: Path
) -> None:
    rows = [
        customer_row(0, "C1", "2020-01-01 10:00:00").encode().replace(b",F,", b",\xc3(,"),
        customer_row(1, "C2", "2020-01-02 10:00:00").replace("Jane", "J" * 140_000).encode(),
    ]
    customers.write_bytes(b"\n".join([CUSTOMER_HEADER.encode(), *rows]) + b"\n")
    output = tmp_path / "out.csv"
    output.write_text("previous\n")
    result = run(["transform", "customers", str(customers), "-o", str(output)])
    assert result.exit_code == 1
    assert f"{customers}:2: sex: not valid UTF-8" in result.stderr
    assert f"{customers}:3: name: longer than 131072 characters" in result.stderr
    assert output.read_text() == "previous\n"  # untouched


def test_transform_replaces_its_output_whole(customers: Path, tmp_path: Path) -> None:
    output = tmp_path / "out.csv"
    output.write_text("previous\n")
    result = run(["transform", "customers", str(customers), "-o", str(output)])
    assert result.exit_code == 0, result.stderr
    lines = output.read_text().splitlines()
    assert lines[0].startswith("customer_id,") and len(lines) == 5
    assert sorted(p.name for p in tmp_path.iterdir()) == ["customers.csv", "orders.csv", "out.csv"]


def test_transform_params_that_are_not_utf8(customers: Path, tmp_path: Path) -> None:
    params = tmp_path / "params.json"
    params.write_bytes(b'{"version": "\xff"}')
    result = run(
        [
            "transform",
            "customers",
            str(customers),
            "-o",
            str(tmp_path / "o"),
            "--params",
            str(params),
        ]
    )
    assert result.exit_code == 1 and f"{params}: not valid UTF-8" in result.stderr


def test_fit_refuses_an_empty_export_and_a_missing_output_folder(
    customers: Path, tmp_path: Path
) -> None:
    orders = customers.with_name("orders.csv")
    out = tmp_path / "params.json"
    missing = run(["fit", "--customers", str(customers), "--orders", str(orders), "-o", "/no/p"])
    assert missing.exit_code == 2 and "/no/p: cannot write" in missing.stderr
    customers.write_text(CUSTOMER_HEADER + "\n")
    empty = run(["fit", "--customers", str(customers), "--orders", str(orders), "-o", str(out)])
    assert empty.exit_code == 1 and f"{customers}: no rows to fit on" in empty.stderr
    assert not out.exists()


def test_train_checks_its_output_folder_before_training(customers: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    orders = customers.with_name("orders.csv")
    args = ["train", "--customers", str(customers), "--orders", str(orders)]
    result = run([*args, "--model-dir", str(blocker / "model"), "--no-lambda-contract"])
    assert result.exit_code == 1
    assert f"{blocker / 'model'}: cannot create folder" in result.stderr
    assert "training rows" not in result.stdout  # refused before training


def test_events_and_schemas_name_a_folder_they_cannot_create(
    customers: Path, tmp_path: Path
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    orders = customers.with_name("orders.csv")
    events = run(
        ["events", "--customers", str(customers), "--orders", str(orders), "-o", str(blocker / "e")]
    )
    assert events.exit_code == 1 and "cannot create folder" in events.stderr
    schemas = run(["schemas", "-o", str(blocker / "s")])
    assert schemas.exit_code == 1 and f"{blocker / 's'}: cannot create folder" in schemas.stderr
    customers.write_text(CUSTOMER_HEADER + "\n")
    empty = run(["events", "--customers", str(customers), "--orders", str(orders), "--check"])
    assert empty.exit_code == 1 and f"{customers}: no valid rows" in empty.stderr


def invoke(*args: str) -> Result:
    return run(["invoke", "OrderFeaturesFunction", "-t", str(REPO / "template.yaml"), *args])


def test_invoke_names_file_line_and_column_of_bad_json(tmp_path: Path) -> None:
    event = tmp_path / "event.json"
    event.write_text('{"Records": [\n  {"secret-value" 1}]}')
    result = invoke("-e", str(event))
    assert result.exit_code == 2
    assert f"{event}:2:19: not valid JSON" in result.stderr
    assert "secret-value" not in result.stderr
    event.write_bytes(b'{"Records": "\xff"}')
    assert f"{event}: not valid UTF-8" in invoke("-e", str(event)).stderr
    env_vars = tmp_path / "env.json"
    env_vars.write_text('{"OrderFeaturesFunction": "not an object"}')
    event.write_text("{}")
    result = invoke("-e", str(event), "--env-vars", str(env_vars))
    assert result.exit_code == 2 and "--env-vars" in result.stderr


def test_invoke_never_echoes_a_bad_env_value(tmp_path: Path) -> None:
    event = tmp_path / "event.json"
    event.write_text("{}")
    result = invoke("-e", str(event), "--env", "A=1", "--env", "hunter2-password")
    assert result.exit_code == 2 and "--env number 2 is not KEY=VALUE" in result.stderr
    assert "hunter2" not in result.stderr


@pytest.mark.parametrize(
    ("token", "reason"),
    [
        ("   ", "a token is required"),
        ("", "a token is required"),
        ("short-token", "too short to be a secret"),
        ("sixteen chars and spaces", "no spaces"),
    ],
)
def test_serve_refuses_a_token_that_cannot_be_a_secret(
    token: str, reason: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FEATURESTREAM_API_TOKEN", token)
    result = run(["serve"])
    assert result.exit_code == 2
    assert reason in result.stderr
    assert not token.strip() or token not in result.stderr


def test_make_invoke_without_the_stack_prints_one_clear_error(tmp_path: Path) -> None:
    """Not ten NoCredentialsError lines: one line saying what to do."""
    result = subprocess.run(
        # -o install: use this virtualenv as it is; BIN: the one running the tests
        [
            "make",
            "--no-print-directory",
            "-o",
            "install",
            "invoke",
            f"BIN={Path(sys.executable).parent}",
        ],
        cwd=REPO,
        env={**os.environ, "FEATURESTREAM_STATE_DIR": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode != 0
    assert result.stdout == ""
    ours = [
        line for line in result.stderr.splitlines() if not re.match(r"make(\[\d+\])?: \*\*\*", line)
    ]
    assert ours == ["make invoke: the local stack is not running; start it with: make up"]
