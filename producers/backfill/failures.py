"""The failures file: entries a backfill could not write, one JSON object per line
(``{"entry": <BatchWriteRecord entry>, "error": <code>}``), which ``featurestream backfill
--retry-failed FILE`` sends again. Written whole to a temporary file and renamed over the
old one, so a crash never leaves half a file of unsent data."""

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Final

from producers.backfill.plan import Entry
from producers.backfill.writer import EntryFailure
from producers.files import write_replacing
from producers.sources import SourceFileError

_STORES: Final = frozenset({"OnlineStore", "OfflineStore"})


def save_failures(path: Path, failures: Iterable[EntryFailure]) -> None:
    """Replace ``path`` with ``failures``; an empty list removes the file."""
    lines = [
        json.dumps({"entry": failure.entry, "error": failure.code}, separators=(",", ":"))
        for failure in failures
    ]
    if not lines:
        path.unlink(missing_ok=True)
        return
    write_replacing(path, "\n".join(lines) + "\n")


def load_failures(path: Path) -> list[EntryFailure]:
    """The failures in ``path`` (none if it does not exist); a malformed line is a
    :class:`SourceFileError` naming file, line and field (never its values)."""
    if not path.exists():
        return []
    failures = []
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise SourceFileError(f"{path}: cannot read ({type(error).__name__})") from error
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except ValueError as error:
            raise SourceFileError(f"{path}:{number}: not JSON") from error
        failures.append(EntryFailure(_entry(path, number, item), str(item.get("error", ""))))
    return failures


def _entry(path: Path, number: int, item: Any) -> Entry:
    def bad(field: str, why: str) -> SourceFileError:
        return SourceFileError(f"{path}:{number}: {field}: {why}")

    if not isinstance(item, dict) or not isinstance(item.get("entry"), dict):
        raise bad("entry", "missing or not an object")
    entry = item["entry"]
    if not isinstance(entry.get("FeatureGroupName"), str) or not entry["FeatureGroupName"]:
        raise bad("entry.FeatureGroupName", "missing or not text")
    record = entry.get("Record")
    if not isinstance(record, list) or not record:
        raise bad("entry.Record", "missing or not a list of features")
    for position, feature in enumerate(record):
        if not (
            isinstance(feature, dict)
            and isinstance(feature.get("FeatureName"), str)
            and isinstance(feature.get("ValueAsString"), str)
        ):
            raise bad(f"entry.Record[{position}]", "not a {FeatureName, ValueAsString} pair")
    stores = entry.get("TargetStores")
    if stores is not None and (
        not isinstance(stores, list) or not stores or not set(stores) <= _STORES
    ):
        raise bad("entry.TargetStores", "not a list of OnlineStore/OfflineStore")
    extra = set(entry) - {"FeatureGroupName", "Record", "TargetStores"}
    if extra:
        raise bad("entry", "unknown keys")
    return dict(entry)
