"""``AthenaStandIn``: Athena's JSON 1.1 API on loopback, executing on DuckDB.

Answers what clients of Athena call (``StartQueryExecution``, ``GetQueryExecution``,
``GetQueryResults``, ``StopQueryExecution``, ``BatchGetQueryExecution``,
``ListQueryExecutions``, ``CreateWorkGroup``, ``GetWorkGroup``, ``ListWorkGroups``,
``DeleteWorkGroup``) with the service's shapes, so boto3 and the SageMaker SDK work
unchanged against ``AWS_ENDPOINT_URL_ATHENA``. A query runs on a worker thread:
``QUEUED`` -> ``RUNNING`` -> ``SUCCEEDED``/``FAILED``/``CANCELLED``; whatever it cannot run
ends ``FAILED`` with the reason in ``StateChangeReason`` and ``AthenaError`` (never a 500).
``CREATE TABLE AS`` and ``DROP TABLE`` run in :mod:`devstack.standins.athena.ddl` (StatementType
``DDL``); the stand-in is its :class:`~devstack.standins.athena.ddl.TableStore`.

Tables come from the Glue catalog (moto's, at ``glue_endpoint``) and their files from the
emulator's offline folder (``offline_root`` mirrors ``s3://bucket/key``) or, when a table's
location is not there, from S3 (moto's, at ``s3_endpoint``) copied into the state folder.
Results go to the output location (the workgroup's when it enforces its configuration):
to S3 when ``s3_endpoint`` is set, else to ``<state>/results`` mirroring the S3 key.
Workgroups are kept in ``<state>/workgroups.json``.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import threading
import time
import uuid
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from devstack.stack.lifecycle import ServedOnThread
from devstack.standins.athena.compaction import TableCompactor
from devstack.standins.athena.ddl import BUCKET_RE, Ddl, statement
from devstack.standins.athena.engine import Engine, GlueTable, QueryError, QueryResult
from devstack.standins.athena.results import column_info, csv_bytes, metadata_bytes, page_rows
from devstack.standins.athena.routes import ROUTES
from devstack.standins.featurestore.errors import ApiError
from devstack.standins.featurestore.glue import SCHEMA_EVOLVED
from devstack.standins.featurestore.offline import (
    OfflineLocationError,
    local_path,
    split_s3_uri,
)
from devstack.standins.featurestore.protocol import parse_json_object
from devstack.standins.http_service import LoopbackRequest, json_response, make_loopback_server
from devstack.standins.loopback_http import BodyError

if TYPE_CHECKING:
    from wsgiref.types import StartResponse, WSGIEnvironment

    from devstack.standins.http_service import LoopbackResponse

log = logging.getLogger("devstack.standins.athena")

HEALTH_PATH = "/_athena/health"
TARGET_PREFIX = "AmazonAthena."
MAX_BODY = 1024 * 1024
MAX_QUERY_CHARS = 262_144
"""Athena's limit on ``QueryString`` (256 KiB)."""
MAX_KEPT_QUERIES = 500
PRIMARY = "primary"
WORKGROUP_RE = re.compile(r"^[a-zA-Z0-9._-]{1,128}$")
QUERY_ID_RE = re.compile(r"^[a-zA-Z0-9-]{1,128}$")
ENGINE_VERSION = {
    "SelectedEngineVersion": "AUTO",
    "EffectiveEngineVersion": "Athena engine version 3",
}


def _invalid(message: str) -> ApiError:
    return ApiError("InvalidRequestException", message)


@dataclass
class Execution:
    id: str
    query: str
    database: str
    workgroup: str
    output: str  # s3://.../<id>.csv
    submitted: float = field(default_factory=time.time)
    state: str = "QUEUED"
    reason: str | None = None
    started: float | None = None
    completed: float | None = None
    result: QueryResult | None = None
    statement: Any = None  # the CTAS/DROP TABLE tree (a DDL statement), else None
    update_count: int = 0
    manifest: str | None = None  # the data manifest a CTAS writes

    @property
    def output_dir(self) -> str:
        return self.output.rsplit("/", 1)[0]

    def document(self) -> dict[str, Any]:
        status: dict[str, Any] = {"State": self.state, "SubmissionDateTime": self.submitted}
        if self.completed is not None:
            status["CompletionDateTime"] = self.completed
        if self.reason:
            status["StateChangeReason"] = self.reason
            if self.state == "FAILED":
                status["AthenaError"] = {
                    "ErrorCategory": 2,  # user: the query, not the service
                    "Retryable": False,
                    "ErrorMessage": self.reason,
                }
        stats: dict[str, Any] = {}
        if self.started is not None:
            queued = int((self.started - self.submitted) * 1000)
            end = self.completed or time.time()
            stats = {
                "QueryQueueTimeInMillis": queued,
                "TotalExecutionTimeInMillis": int((end - self.submitted) * 1000),
                "EngineExecutionTimeInMillis": self.result.engine_ms if self.result else 0,
                "DataScannedInBytes": self.result.scanned_bytes if self.result else 0,
                "ServiceProcessingTimeInMillis": 0,
            }
            if self.manifest:
                stats["DataManifestLocation"] = self.manifest
        return {
            "QueryExecutionId": self.id,
            "Query": self.query,
            "StatementType": "DML" if self.statement is None else "DDL",
            "ResultConfiguration": {"OutputLocation": self.output},
            "QueryExecutionContext": {"Database": self.database, "Catalog": "AwsDataCatalog"},
            "Status": status,
            "Statistics": stats,
            "WorkGroup": self.workgroup,
            "EngineVersion": ENGINE_VERSION,
        }


class AthenaStandIn(ServedOnThread):
    thread_name = "athena"

    def __init__(
        self,
        state_dir: Path | str,
        offline_root: Path | str,
        glue_endpoint: str | None,
        s3_endpoint: str | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        region: str = "us-east-1",
        workers: int = 2,
        compact: bool = True,
    ) -> None:
        self.state_dir = Path(state_dir)
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.offline_root = Path(offline_root)
        self.region = region
        self._glue_endpoint, self._s3_endpoint = glue_endpoint, s3_endpoint
        self._clients: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._queries: dict[str, Execution] = {}
        self._tokens: dict[str, str] = {}
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="athena-query")
        compactor = TableCompactor(self.state_dir / "compacted") if compact else None
        self.engine = Engine(lookup=self._glue_table, files=self._files, compactor=compactor)
        self.ddl = Ddl(self.engine, self)
        self.workgroups = self._load_workgroups()
        self._server = make_loopback_server(
            self._app, host, port, methods=["GET", "POST", "DELETE"]
        )
        self.operations = {
            "StartQueryExecution": self.start_query_execution,
            "GetQueryExecution": self.get_query_execution,
            "BatchGetQueryExecution": self.batch_get_query_execution,
            "ListQueryExecutions": self.list_query_executions,
            "GetQueryResults": self.get_query_results,
            "StopQueryExecution": self.stop_query_execution,
            "CreateWorkGroup": self.create_work_group,
            "GetWorkGroup": self.get_work_group,
            "ListWorkGroups": self.list_work_groups,
            "DeleteWorkGroup": self.delete_work_group,
        }

    @property
    def endpoint_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def stop(self) -> None:
        super().stop()
        self._pool.shutdown(wait=False, cancel_futures=True)

    # -- HTTP --------------------------------------------------------------------------------

    def _app(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        request = LoopbackRequest(environ)
        response = self._handle(request)
        return response(environ, start_response)

    def _handle(self, request: LoopbackRequest) -> LoopbackResponse:
        if request.method == "GET" and request.target == HEALTH_PATH:
            return json_response(200, {"status": "ok", "service": "athena"})
        try:
            body = request.read_body(MAX_BODY)
        except BodyError as error:
            return _error(ApiError("InvalidRequestException", error.message, error.status))
        if not (request.raw_headers.get("Authorization") or "").startswith("AWS4-HMAC-SHA256"):
            return _error(
                ApiError(
                    "MissingAuthenticationTokenException", "Request is missing a signature", 403
                )
            )
        try:
            target = request.raw_headers.get("X-Amz-Target")
            if target is not None:  # JSON 1.1, as older botocore models spoke it
                name, params = target.removeprefix(TARGET_PREFIX), dict[str, object]()
            else:
                name, params = ROUTES.match(request.method, request.target)
            operation = self.operations.get(name)
            if operation is None:
                raise ApiError("UnknownOperationException", "Unknown operation", 404)
            payload = {**parse_json_object(body), **params}
            return json_response(200, operation(payload))
        except ApiError as error:
            return _error(error)
        except Exception:  # a bug here must not look like Athena's answer
            log.exception("athena stand-in: internal error")
            return _error(ApiError("InternalServerException", "Internal error", 500))

    # -- queries -----------------------------------------------------------------------------

    def start_query_execution(self, body: dict[str, Any]) -> dict[str, Any]:
        query = body.get("QueryString")
        if not isinstance(query, str) or not 1 <= len(query) <= MAX_QUERY_CHARS:
            raise _invalid(f"QueryString must be 1 to {MAX_QUERY_CHARS} characters")
        token = body.get("ClientRequestToken")
        if isinstance(token, str) and token in self._tokens:
            return {"QueryExecutionId": self._tokens[token]}
        name = body.get("WorkGroup") or PRIMARY
        workgroup = self._workgroup(name)
        config = workgroup.get("Configuration", {})
        location = (body.get("ResultConfiguration") or {}).get("OutputLocation")
        if config.get("EnforceWorkGroupConfiguration") or not location:
            location = config.get("ResultConfiguration", {}).get("OutputLocation") or location
        if not location or not str(location).startswith("s3://"):
            raise _invalid(
                "Unable to verify/create output bucket: no output location is given, by the "
                "request or the workgroup"
            )
        context = body.get("QueryExecutionContext") or {}
        database = str(context.get("Database") or "default")
        query_id = str(uuid.uuid4())
        output = f"{str(location).rstrip('/')}/{query_id}.csv"
        execution = Execution(query_id, query, database, name, output, statement=statement(query))
        with self._lock:
            self._queries[query_id] = execution
            if isinstance(token, str):
                self._tokens[token] = query_id
            while len(self._queries) > MAX_KEPT_QUERIES:
                self._queries.pop(next(iter(self._queries)))
        self._pool.submit(self._execute, execution)
        return {"QueryExecutionId": query_id}

    def _execute(self, execution: Execution) -> None:
        if execution.state != "QUEUED":  # stopped before it started
            return
        execution.started = time.time()
        execution.state = "RUNNING"
        try:
            result = self._run(execution)
            infos = column_info(result.columns, result.types)
            self._write(execution.output, csv_bytes(result.columns, result.texts))
            self._write(
                execution.output + ".metadata", metadata_bytes(infos, result.texts.num_rows)
            )
        except QueryError as error:
            self._finish(execution, "FAILED", str(error))
            return
        except Exception as error:  # an output bucket that is missing, a broken file...
            log.warning("query %s failed: %s", execution.id, type(error).__name__)
            self._finish(execution, "FAILED", _describe(error))
            return
        execution.result = result
        self._finish(execution, "SUCCEEDED", None)

    def _run(self, execution: Execution) -> QueryResult:
        if execution.statement is None:
            return self.engine.run(execution.id, execution.query, execution.database)
        outcome = self.ddl.run(
            execution.id,
            execution.statement,
            execution.database,
            execution.output_dir,
            cancelled=lambda: execution.state == "CANCELLED",
        )
        if outcome.manifest:  # the files the CTAS wrote, one S3 URI a line
            manifest = f"{execution.output_dir}/{execution.id}-manifest.csv"
            self._write(manifest, "".join(f + "\n" for f in outcome.data_files).encode())
            execution.manifest = manifest
        execution.update_count = outcome.update_count
        return outcome.result

    def _finish(self, execution: Execution, state: str, reason: str | None) -> None:
        if execution.state == "CANCELLED":
            return
        execution.state, execution.reason = state, reason
        execution.completed = time.time()

    def _execution(self, body: dict[str, Any]) -> Execution:
        query_id = body.get("QueryExecutionId")
        if not isinstance(query_id, str) or not QUERY_ID_RE.match(query_id):
            raise _invalid("QueryExecutionId is not valid")
        with self._lock:
            execution = self._queries.get(query_id)
        if execution is None:
            raise _invalid("QueryExecution was not found")
        return execution

    def get_query_execution(self, body: dict[str, Any]) -> dict[str, Any]:
        return {"QueryExecution": self._execution(body).document()}

    def batch_get_query_execution(self, body: dict[str, Any]) -> dict[str, Any]:
        ids = body.get("QueryExecutionIds")
        if not isinstance(ids, list) or not 1 <= len(ids) <= 50:
            raise _invalid("QueryExecutionIds must list 1 to 50 ids")
        found, missing = [], []
        for query_id in ids:
            try:
                found.append(self._execution({"QueryExecutionId": query_id}).document())
            except ApiError as error:
                missing.append(
                    {"QueryExecutionId": str(query_id)[:128], "ErrorMessage": error.message}
                )
        return {"QueryExecutions": found, "UnprocessedQueryExecutionIds": missing}

    def list_query_executions(self, body: dict[str, Any]) -> dict[str, Any]:
        name = body.get("WorkGroup") or PRIMARY
        self._workgroup(name)
        with self._lock:
            ids = [q.id for q in reversed(self._queries.values()) if q.workgroup == name]
        return {"QueryExecutionIds": ids[:50]}

    def get_query_results(self, body: dict[str, Any]) -> dict[str, Any]:
        execution = self._execution(body)
        if execution.state in ("QUEUED", "RUNNING"):
            raise _invalid(f"Query has not yet finished. Current state: {execution.state}")
        if execution.state != "SUCCEEDED" or execution.result is None:
            raise _invalid(
                f"Query did not finish successfully. Final query state: {execution.state}"
            )
        limit = body.get("MaxResults", 1000)
        if not isinstance(limit, int) or not 1 <= limit <= 1000:
            raise _invalid("MaxResults must be between 1 and 1000")
        start = _page_start(body.get("NextToken"))
        result = execution.result
        header = int(execution.statement is None)  # a SELECT's first row is the header
        total = result.texts.num_rows + header
        page: list[list[str | None]] = [list(result.columns)] if start == 0 and header else []
        first = max(start - header, 0)
        page += page_rows(result.texts, first, start + limit - header - first)
        out: dict[str, Any] = {
            "UpdateCount": execution.update_count,
            "ResultSet": {
                "Rows": [
                    {"Data": [{} if v is None else {"VarCharValue": v} for v in row]}
                    for row in page
                ],
                "ResultSetMetadata": {"ColumnInfo": column_info(result.columns, result.types)},
            },
        }
        if start + limit < total:
            out["NextToken"] = str(start + limit)
        return out

    def stop_query_execution(self, body: dict[str, Any]) -> dict[str, Any]:
        execution = self._execution(body)
        if execution.state in ("QUEUED", "RUNNING"):
            execution.state, execution.reason = "CANCELLED", "Query cancelled by user"
            execution.completed = time.time()
            self.engine.interrupt(execution.id)
        return {}

    # -- workgroups --------------------------------------------------------------------------

    def _load_workgroups(self) -> dict[str, dict[str, Any]]:
        path = self.state_dir / "workgroups.json"
        saved: dict[str, dict[str, Any]] = {}
        if path.is_file():
            try:
                saved = json.loads(path.read_text())
            except (OSError, ValueError):
                log.warning("athena stand-in: %s is unreadable; starting without it", path)
        saved.setdefault(
            PRIMARY,
            {"Name": PRIMARY, "State": "ENABLED", "Configuration": {}, "CreationTime": time.time()},
        )
        return saved

    def _save_workgroups(self) -> None:
        path = self.state_dir / "workgroups.json"
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(self.workgroups))
        tmp.replace(path)

    def _workgroup(self, name: object) -> dict[str, Any]:
        if not isinstance(name, str) or not WORKGROUP_RE.match(name):
            raise _invalid("WorkGroup is not a valid name")
        workgroup = self.workgroups.get(name)
        if workgroup is None:
            raise _invalid(f"WorkGroup {name} is not found.")
        return workgroup

    def create_work_group(self, body: dict[str, Any]) -> dict[str, Any]:
        name = body.get("Name")
        if not isinstance(name, str) or not WORKGROUP_RE.match(name):
            raise _invalid("Name is not a valid workgroup name")
        with self._lock:
            if name in self.workgroups:
                raise _invalid("WorkGroup is already created")
            self.workgroups[name] = {
                "Name": name,
                "State": "ENABLED",
                "Configuration": body.get("Configuration") or {},
                "Description": str(body.get("Description") or ""),
                "CreationTime": time.time(),
            }
            self._save_workgroups()
        return {}

    def get_work_group(self, body: dict[str, Any]) -> dict[str, Any]:
        workgroup = dict(self._workgroup(body.get("WorkGroup")))
        workgroup.setdefault("Configuration", {})
        workgroup["Configuration"] = {
            **workgroup["Configuration"],
            "EngineVersion": ENGINE_VERSION,
        }
        return {"WorkGroup": workgroup}

    def list_work_groups(self, body: dict[str, Any]) -> dict[str, Any]:
        return {
            "WorkGroups": [
                {
                    "Name": w["Name"],
                    "State": w["State"],
                    "Description": w.get("Description", ""),
                    "CreationTime": w["CreationTime"],
                    "EngineVersion": ENGINE_VERSION,
                }
                for w in sorted(self.workgroups.values(), key=lambda w: w["Name"])
            ]
        }

    def delete_work_group(self, body: dict[str, Any]) -> dict[str, Any]:
        name = body.get("WorkGroup")
        self._workgroup(name)
        if name == PRIMARY:
            raise _invalid("The primary workgroup cannot be deleted")
        with self._lock:
            self.workgroups.pop(str(name), None)
            self._save_workgroups()
        return {}

    # -- storage -----------------------------------------------------------------------------

    def _client(self, service: str) -> Any:
        with self._lock:
            if service not in self._clients:
                import boto3

                from featurestream.aws.clients import client_config

                endpoint = self._glue_endpoint if service == "glue" else self._s3_endpoint
                self._clients[service] = boto3.client(  # type: ignore[call-overload]
                    service,
                    endpoint_url=endpoint,
                    region_name=self.region,
                    config=client_config(max_attempts=2, validate=True, read_timeout=30),
                    aws_access_key_id=os.environ.get("AWS_ACCESS_KEY_ID", "testing"),
                    aws_secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY", "testing"),
                )
            return self._clients[service]

    def _glue_table(self, database: str, name: str) -> GlueTable | None:
        from botocore.exceptions import ClientError

        if self._glue_endpoint is None:
            raise QueryError("the local Athena has no Glue catalog to resolve tables in")
        try:
            table = self._client("glue").get_table(DatabaseName=database, Name=name)["Table"]
        except ClientError as error:
            if error.response["Error"]["Code"] == "EntityNotFoundException":
                return None
            raise QueryError(f"the Glue catalog refused the lookup: {_describe(error)}") from None
        storage = table.get("StorageDescriptor", {})
        keys = [k["Name"] for k in table.get("PartitionKeys", [])]
        columns = [(c["Name"], c["Type"]) for c in storage.get("Columns", [])]
        columns += [(k["Name"], k["Type"]) for k in table.get("PartitionKeys", [])]
        location = storage.get("Location") or ""
        if not location.startswith("s3://"):
            raise QueryError(f"HIVE_METASTORE_ERROR: table {database}.{name} has no S3 location")
        same_schema = table.get("Parameters", {}).get(SCHEMA_EVOLVED) == "false"
        return GlueTable(database, name, columns, keys, location, same_schema)

    def _files(self, location: str) -> Path:
        """The local folder holding ``location``: the emulator's mirror, else a copy of the
        S3 objects under the state folder."""
        bucket, key = split_s3_uri(location)
        try:
            local = local_path(self.offline_root, bucket, key)
        except OfflineLocationError as error:
            raise QueryError(str(error)) from None
        if local.is_dir() or self._s3_endpoint is None:
            return local
        return self._copy_from_s3(bucket, key)

    def _copy_from_s3(self, bucket: str, prefix: str) -> Path:
        cache = self.state_dir / "s3-copy"
        try:
            target = local_path(cache, bucket, prefix)
        except OfflineLocationError as error:
            raise QueryError(str(error)) from None
        s3 = self._client("s3")
        for page in s3.get_paginator("list_objects_v2").paginate(
            Bucket=bucket, Prefix=prefix.rstrip("/") + "/"
        ):
            for obj in page.get("Contents", []):
                path = local_path(cache, bucket, obj["Key"])
                if path.is_file() and path.stat().st_size == obj["Size"]:
                    continue  # offline files are written once under a unique name
                path.parent.mkdir(parents=True, exist_ok=True)
                tmp = path.with_name(path.name + ".part")
                tmp.write_bytes(s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read())
                tmp.replace(path)
        return target

    # -- table files a CTAS writes (ddl.TableStore) ---------------------------------------

    def glue(self) -> Any:
        if self._glue_endpoint is None:
            raise QueryError("the local Athena has no Glue catalog to create tables in")
        return self._client("glue")

    def check_location(self, location: str) -> None:
        """An ``s3://`` location in a bucket of this stack, with no ``.``/``..`` segment, that
        resolves inside the state folder (S3 or the offline mirror): nothing else is written."""
        if not location.startswith("s3://"):
            raise QueryError("INVALID_TABLE_PROPERTY: a table location must be an s3:// URI")
        bucket, key = split_s3_uri(location)
        segments = key.split("/")
        if not BUCKET_RE.match(bucket) or not key or any(s in ("", ".", "..") for s in segments):
            raise QueryError("INVALID_TABLE_PROPERTY: the table location is not a valid S3 prefix")
        try:
            local_path(self.offline_root, bucket, key)
            local_path(self.state_dir / "s3-copy", bucket, key)
        except OfflineLocationError:
            raise QueryError(
                "INVALID_TABLE_PROPERTY: the table location resolves outside the stand-in's folders"
            ) from None
        if self._s3_endpoint is not None:
            from botocore.exceptions import ClientError

            try:
                self._client("s3").head_bucket(Bucket=bucket)
            except ClientError as error:
                raise QueryError(
                    f"INVALID_TABLE_PROPERTY: the table location's bucket is not available: "
                    f"{_describe(error)}"
                ) from None

    def is_empty(self, location: str) -> bool:
        bucket, key = split_s3_uri(location)
        mirror = local_path(self.offline_root, bucket, key)
        if mirror.exists():  # read before S3 (_files), so it counts as data
            return False
        if self._s3_endpoint is None:
            return True
        page = self._client("s3").list_objects_v2(Bucket=bucket, Prefix=key + "/", MaxKeys=1)
        return not page.get("Contents")

    def upload(self, folder: Path, location: str) -> list[str]:
        bucket, key = split_s3_uri(location)
        written = []
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            rel = path.relative_to(folder).as_posix()
            if self._s3_endpoint is None:
                target = local_path(self.offline_root, bucket, f"{key}/{rel}")
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.move(path, target)
            else:
                self._client("s3").put_object(
                    Bucket=bucket, Key=f"{key}/{rel}", Body=path.read_bytes()
                )
            written.append(f"s3://{bucket}/{key}/{rel}")
        if self._s3_endpoint is not None:  # copies of files once deleted from S3 are stale
            shutil.rmtree(local_path(self.state_dir / "s3-copy", bucket, key), ignore_errors=True)
        return written

    def scratch(self, query_id: str) -> Path:
        folder = self.state_dir / "ctas-work" / query_id
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    def _write(self, uri: str, data: bytes) -> None:
        bucket, key = split_s3_uri(uri)
        if self._s3_endpoint is not None:
            from botocore.exceptions import ClientError

            try:
                self._client("s3").put_object(Bucket=bucket, Key=key, Body=data)
            except ClientError as error:
                raise QueryError(
                    f"Unable to verify/create output bucket {bucket}: {_describe(error)}"
                ) from None
            return
        try:
            path = local_path(self.state_dir / "results", bucket, key)
        except OfflineLocationError as error:
            raise QueryError(str(error)) from None
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_bytes(data)
        tmp.replace(path)


def _page_start(token: object) -> int:
    if token is None:
        return 0
    if not isinstance(token, str) or not token.isdigit():
        raise _invalid("NextToken is not valid")
    return int(token)


def _describe(error: Exception) -> str:
    response = getattr(error, "response", None)
    if isinstance(response, dict) and "Error" in response:
        return str(response["Error"].get("Code") or type(error).__name__)
    return type(error).__name__


def _error(error: ApiError) -> LoopbackResponse:
    return json_response(
        error.status,
        {"__type": error.code, "message": error.message},
        {"x-amzn-ErrorType": error.code, "x-amzn-RequestId": str(uuid.uuid4())},
    )
