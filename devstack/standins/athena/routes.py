"""Athena's REST routes, read from botocore's own service model (method, URI, query string).

botocore speaks Athena as ``rest-json``: each operation has a method and a URI template, and
some members travel in the path or the query string. Building the routes from the model
the clients use keeps the stand-in and them in step; :meth:`Routes.match` turns a request
line into the operation name and those members (typed as the model types them).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qsl, unquote, urlsplit

from devstack.standins.featurestore.errors import ApiError

OPERATIONS = (
    "StartQueryExecution",
    "GetQueryExecution",
    "BatchGetQueryExecution",
    "ListQueryExecutions",
    "GetQueryResults",
    "StopQueryExecution",
    "CreateWorkGroup",
    "GetWorkGroup",
    "ListWorkGroups",
    "DeleteWorkGroup",
)


@dataclass(frozen=True)
class Route:
    method: str
    pattern: re.Pattern[str]
    operation: str
    query: dict[str, tuple[str, str]]  # query-string name -> (member, type)


class Routes:
    def __init__(self) -> None:
        import botocore.session

        model = botocore.session.get_session().get_service_model("athena")
        self.routes: list[Route] = []
        for name in OPERATIONS:
            op = model.operation_model(name)
            path = op.http["requestUri"].split("?")[0]
            regex = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(path))
            query = {}
            for member, shape in (op.input_shape.members if op.input_shape else {}).items():
                if shape.serialization.get("location") == "querystring":
                    query[shape.serialization["name"]] = (member, shape.type_name)
            self.routes.append(Route(op.http["method"], re.compile(f"^{regex}$"), name, query))
        # longest templates first, so /query-executions/{id}/results beats /query-executions
        self.routes.sort(key=lambda r: -len(r.pattern.pattern))

    def match(self, method: str, target: str) -> tuple[str, dict[str, object]]:
        parts = urlsplit(target)
        for route in self.routes:
            found = route.pattern.match(parts.path)
            if route.method != method or found is None:
                continue
            params: dict[str, object] = {k: unquote(v) for k, v in found.groupdict().items()}
            for key, value in parse_qsl(parts.query):
                if key in route.query:
                    member, kind = route.query[key]
                    params[member] = _typed(member, value, kind)
            return route.operation, params
        raise ApiError("UnknownOperationException", "Unknown operation", 404)


def _typed(member: str, value: str, kind: str) -> object:
    if kind != "integer":
        return value
    if not value.lstrip("-").isdigit():
        raise ApiError("InvalidRequestException", f"{member} must be an integer")
    return int(value)


ROUTES = Routes()
