"""Files the commands write: replaced whole or not at all, and checked before work starts.

A file is written to a temporary file next to it and renamed over it only once complete
and flushed to disk, so a crash, a full disk or a killed process leaves the previous
version intact (a rename within one folder is atomic on POSIX file systems).
"""

import contextlib
import os
import secrets
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO


class OutputError(OSError):
    """A file cannot be written; the message names the path and the reason."""


def describe_os_error(path: Path, error: OSError) -> str:
    """``PATH: cannot write (reason)``, the reason as the OS words it (never file content)."""
    return f"{path}: cannot write ({error.strerror or type(error).__name__})"


def check_writable(path: Path) -> None:
    """Raise :class:`OutputError` unless ``path`` can be created or replaced as a file.

    Run before any work, so a typo in an output path fails in a second, not after the run.
    """
    if path.is_dir():
        raise OutputError(f"{path}: is a folder, not a file")
    folder = path.parent
    if not folder.is_dir():
        raise OutputError(f"{path}: cannot write (folder {folder} does not exist)")
    if not os.access(folder, os.W_OK | os.X_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise OutputError(f"{path}: cannot write (permission denied)")


def ensure_folder(path: Path) -> None:
    """Create the folder ``path`` (and its parents) unless it exists; raise
    :class:`OutputError` naming it if it cannot be created."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise OutputError(f"{path}: cannot create folder ({error.strerror})") from error


@contextlib.contextmanager
def replaced(path: Path) -> Iterator[BinaryIO]:
    """Yield a binary handle whose content replaces ``path`` when the block ends cleanly.

    On any error (including a write that fails half-way) ``path`` is left as it was and the
    temporary file is removed; the error is raised as :class:`OutputError`. A replaced file
    keeps its permissions; a new one gets the usual ones (0666 less the umask).
    """
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except OSError:
        mode = None
    try:
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    except OSError as error:
        raise OutputError(describe_os_error(path, error)) from error
    try:
        with os.fdopen(descriptor, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        if mode is not None:
            os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException as error:
        temporary.unlink(missing_ok=True)
        if isinstance(error, OSError) and not isinstance(error, OutputError):
            raise OutputError(describe_os_error(path, error)) from error
        raise


def write_replacing(path: Path, content: bytes | str) -> None:
    """Replace ``path`` with ``content`` (text is written as UTF-8), atomically."""
    with replaced(path) as handle:
        handle.write(content.encode() if isinstance(content, str) else content)
