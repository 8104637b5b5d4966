"""Reading both feature groups for many customers with ``BatchGetRecord``.

One call covers both groups: each chunk of customers is one request with one identifier per
group, sized so a call asks for at most 100 records (the service quota) and 100 ids per
identifier (the API limit). A request's chunks can be read at the same time
(``parallel_calls``), so 100 customers wait for one store round trip, not two.
``UnprocessedIdentifiers`` are re-sent, with a short backoff, exactly as returned (boto3 does
not retry them); what is still unprocessed after the last attempt is a 503. Per-item
``Errors`` are returned to the caller, never dropped. A customer with no record is in none
of the answer's three lists (``Records``, ``Errors``, ``UnprocessedIdentifiers``:
https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_feature_store_BatchGetRecord.html)
and is reported missing.
"""

import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any, Final, Protocol

from featurestream.aws.resend import resend_unfinished
from featurestream.serving.errors import ApiError, dependency_error

MAX_RECORDS_PER_CALL: Final = 100
MAX_IDS_PER_IDENTIFIER: Final = 100
BACKOFF_SECONDS: Final = 0.02

Record = dict[str, str]
"""A record as ``{feature name: value as string}``."""


class BatchGetClient(Protocol):
    def batch_get_record(self, **kwargs: Any) -> Any: ...


@dataclass(frozen=True)
class ItemError:
    """A per-item failure reported in ``Errors``: which group, which customer, and why."""

    group: str
    customer_id: str
    code: str
    message: str

    def to_dict(self) -> dict[str, str]:
        return {
            "feature_group": self.group,
            "customer_id": self.customer_id,
            "code": self.code,
            "message": self.message,
        }


@dataclass
class OnlineRecords:
    """What the store returned: ``records[group][customer_id]`` and the per-item errors."""

    records: dict[str, dict[str, Record]]
    errors: list[ItemError] = field(default_factory=list)
    calls: int = 0

    def get(self, group: str, customer_id: str) -> Record | None:
        return self.records.get(group, {}).get(customer_id)

    def errors_for(self, customer_id: str) -> list[ItemError]:
        if not self.errors:  # the common case: no list scan, per customer, per request
            return []
        return [e for e in self.errors if e.customer_id == customer_id]


def chunk_size(groups: int, max_records_per_call: int = MAX_RECORDS_PER_CALL) -> int:
    """Customers per call: each one's record in every group, within both limits."""
    return min(max(1, max_records_per_call // max(1, groups)), MAX_IDS_PER_IDENTIFIER)


def _group_key(name: str) -> str:
    """A group's name whether the service echoes the name or an ARN."""
    return name.rsplit("feature-group/", 1)[-1]


class OnlineReader:
    """Fetches both groups' records for a list of customers (``groups``: logical → deployed)."""

    def __init__(
        self,
        client: BatchGetClient,
        groups: Mapping[str, str],
        *,
        max_records_per_call: int = MAX_RECORDS_PER_CALL,
        max_attempts: int = 4,
        backoff_seconds: float = BACKOFF_SECONDS,
        sleep: Any = time.sleep,
        parallel_calls: int = 1,
    ) -> None:
        """``parallel_calls``: how many of one request's calls may be in flight at once (the
        first runs on the caller's thread, the others on a pool; 1 = one after the other)."""
        self._client = client
        self._groups = dict(groups)
        self._logical = {_group_key(deployed): logical for logical, deployed in groups.items()}
        self._echoed: dict[str, str | None] = dict(self._logical)
        """Every name the service has echoed (plain or ARN) → logical group, None if not ours:
        the ARN is split once per container, not once per record."""
        self._chunk = chunk_size(len(groups), max_records_per_call)
        self._max_attempts = max_attempts
        self._backoff = backoff_seconds
        self._sleep = sleep
        self._pool = (
            ThreadPoolExecutor(parallel_calls - 1, thread_name_prefix="batch-get-record")
            if parallel_calls > 1
            else None
        )

    @property
    def groups(self) -> tuple[str, ...]:
        """The logical groups read, in the order given."""
        return tuple(self._groups)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)

    def fetch(
        self,
        customer_ids: Sequence[str],
        feature_names: Mapping[str, Sequence[str]] | None = None,
    ) -> OnlineRecords:
        """Records of ``customer_ids`` in every group; ``feature_names`` (per logical group)
        limits what is read to what the caller needs."""
        chunks = [
            self._identifiers(customer_ids[start : start + self._chunk], feature_names)
            for start in range(0, len(customer_ids), self._chunk)
        ]
        result = OnlineRecords({logical: {} for logical in self._groups})
        for answers in self._read_all(chunks):
            result.calls += len(answers)
            for answer in answers:
                self._collect(answer, result)
        return result

    def _identifiers(
        self, chunk: Sequence[str], feature_names: Mapping[str, Sequence[str]] | None
    ) -> list[dict[str, Any]]:
        """One call's ``Identifiers``: every group, for the same customers."""
        identifiers = []
        for logical, deployed in self._groups.items():
            identifier: dict[str, Any] = {
                "FeatureGroupName": deployed,
                "RecordIdentifiersValueAsString": list(chunk),
            }
            if feature_names and feature_names.get(logical):
                identifier["FeatureNames"] = list(feature_names[logical])
            identifiers.append(identifier)
        return identifiers

    def _read_all(self, chunks: list[list[dict[str, Any]]]) -> list[list[Mapping[str, Any]]]:
        """Each chunk's answers, in chunk order; later chunks on the pool while the first is
        read here. Every call has ended before this returns or raises: a Lambda is frozen
        between requests, and a call left running would resume in the next one."""
        if self._pool is None or len(chunks) < 2:
            return [self._read_chunk(identifiers) for identifiers in chunks]
        later = [self._pool.submit(self._read_chunk, identifiers) for identifiers in chunks[1:]]
        try:
            first = self._read_chunk(chunks[0])
        finally:
            wait(later)
        return [first, *(future.result() for future in later)]

    def _read_chunk(self, identifiers: list[dict[str, Any]]) -> list[Mapping[str, Any]]:
        """One chunk's answers: the first call's, then those re-sending what came back
        unprocessed, until nothing is left (or a 503 after the last attempt)."""
        answers: list[Mapping[str, Any]] = []

        def read(unfinished: list[dict[str, Any]]) -> list[dict[str, Any]]:
            try:
                answer = self._client.batch_get_record(Identifiers=unfinished)
            except Exception as error:
                raise dependency_error("FeatureStore", error) from error
            answers.append(answer)
            return list(answer.get("UnprocessedIdentifiers") or [])

        identifiers = resend_unfinished(
            read,
            identifiers,
            rounds=self._max_attempts,
            pause=lambda resend: self._backoff * 2 ** (resend - 1),
            sleep=self._sleep,
        )
        if not identifiers:
            return answers
        pending = sum(len(i.get("RecordIdentifiersValueAsString", [])) for i in identifiers)
        raise ApiError(
            503,
            "FeatureStoreUnprocessed",
            f"{pending} record(s) still unprocessed after {self._max_attempts} attempts",
        )

    def _collect(self, response: Mapping[str, Any], result: OnlineRecords) -> None:
        records = result.records
        echoed = self._echoed
        for item in response.get("Records") or []:
            name = item["FeatureGroupName"]
            if name not in echoed:
                echoed[name] = self._logical.get(_group_key(name))
            group = echoed[name]
            if group is None:
                continue  # not a group we asked for
            values = {fv["FeatureName"]: fv.get("ValueAsString") or "" for fv in item["Record"]}
            records[group][item["RecordIdentifierValueAsString"]] = values
        for item in response.get("Errors") or []:
            name = str(item.get("FeatureGroupName", ""))
            result.errors.append(
                ItemError(
                    self._logical.get(_group_key(name), name),
                    str(item.get("RecordIdentifierValueAsString", "")),
                    str(item.get("ErrorCode", "Unknown")),
                    str(item.get("ErrorMessage", ""))[:500],
                )
            )
