"""Output files are replaced whole or not at all, and bad output paths fail before work."""

import os
import resource
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from producers.files import OutputError, check_writable, ensure_folder, replaced, write_replacing


def test_replacing_writes_the_new_content_and_keeps_the_permissions(tmp_path: Path) -> None:
    target = tmp_path / "params.json"
    target.write_text("old")
    target.chmod(0o600)
    write_replacing(target, "new")
    assert target.read_text() == "new"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["params.json"]  # no temp file left


def test_a_failure_half_way_leaves_the_old_file_and_no_temp_file(tmp_path: Path) -> None:
    target = tmp_path / "failed-events.jsonl"
    target.write_bytes(b"line 1\nline 2\n")

    class Crash(Exception):
        pass

    with pytest.raises(Crash), replaced(target) as handle:
        handle.write(b"line 2\n")
        raise Crash
    assert target.read_bytes() == b"line 1\nline 2\n"
    assert [p.name for p in tmp_path.iterdir()] == ["failed-events.jsonl"]


def test_a_full_disk_leaves_the_old_file_whole(tmp_path: Path) -> None:
    """RLIMIT_FSIZE makes the write fail as a full disk would (EFBIG instead of ENOSPC)."""
    target = tmp_path / "out.csv"
    target.write_bytes(b"x" * 100)
    script = (
        "import sys; from pathlib import Path; from producers.files import *\n"
        "try:\n"
        "    write_replacing(Path(sys.argv[1]), b'y' * 100_000)\n"
        "except OutputError as error:\n"
        "    print(error)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script, str(target)],
        capture_output=True,
        text=True,
        timeout=60,
        preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096)),
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"{target}: cannot write (File too large)"
    assert target.read_bytes() == b"x" * 100
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]


def test_bad_output_paths_are_named_before_any_work(tmp_path: Path) -> None:
    with pytest.raises(OutputError, match=r"folder .*nowhere does not exist"):
        check_writable(tmp_path / "nowhere" / "x.csv")
    with pytest.raises(OutputError, match="is a folder, not a file"):
        check_writable(tmp_path)
    check_writable(tmp_path / "new.csv")  # creatable: fine, and nothing is created
    assert list(tmp_path.iterdir()) == []
    (tmp_path / "file").write_text("")
    with pytest.raises(OutputError, match="cannot create folder"):
        ensure_folder(tmp_path / "file" / "sub")
