"""botocore clients for the Lambdas: retries and timeouts, and no per-item CPU that buys
nothing.

botocore spends CPU in proportion to the size of a call in three places that add nothing here:

- It validates the parameters against the service model. Ours are built by the library
  (:mod:`featurestream.serving.online_reader`, :mod:`featurestream.serving.model_client`)
  from validated input, and
  their shapes are unit-tested against the model with validation on
  (``tests/unit/inference/test_clients.py``), so the clients skip it.
- After ``json.loads``, it walks the answer node by node to convert types. When every leaf
  of the output shape is a string, the walk rebuilds what ``json.loads`` gave, at a cost
  in proportion to the answer's nodes (docs/inference.md has the measurement).
  :class:`PlainJsonParserFactory` skips it for such shapes and keeps only the modelled
  top-level keys, as botocore does; a unit test compares both parsers' output. (Below the
  top level, a key the model does not know or a null is kept rather than dropped; readers
  use ``.get`` and treat a null as absent.)
- Before signing, it walks the parameters against the input model to build the body. For
  an input that maps one to one onto JSON, the walk yields exactly ``json.dumps(params)``;
  :func:`serialize_with_json_dumps` builds it that way (the stream handlers' BatchWriteRecord,
  ~30 visits per record; a unit test compares the bytes).

Both shortcuts are taken only for shapes :func:`is_plain_json` accepts, so a model change
that would make botocore reshape a body or an answer turns them off, never silently wrong.
The parser subclass relies on three private hooks of botocore's parser: botocore is pinned
exactly (:data:`BOTOCORE_VERSION`), and importing this module fails with
:class:`~featurestream.aws.dependency_fit.DependencyMismatch` when the hooks changed.

The clients come from botocore directly: boto3 would add nothing to them but its import
(with s3transfer) to the handler's cold start (docs/operations.md).
"""

import json
from typing import Any, Final, cast

import botocore
import botocore.session
from botocore.config import Config
from botocore.model import Shape
from botocore.parsers import ResponseParserFactory, RestJSONParser

from featurestream.aws.dependency_fit import argument_names, require_fit

ANSWER_LEAVES: Final = frozenset({"string"})
"""Leaves botocore's parse returns exactly as ``json.loads`` gave them."""
REQUEST_LEAVES: Final = frozenset({"string", "integer", "boolean"})
"""Leaves botocore's serializer writes exactly as ``json.dumps`` does."""
_JSON_BODY: Final = "featurestream.json_body"


def is_plain_json(
    shape: Shape, leaves: frozenset[str] = ANSWER_LEAVES, _seen: frozenset[str] = frozenset()
) -> bool:
    """Whether ``shape`` maps one to one onto JSON: structures, lists and ``leaves`` only,
    with no member renamed or bound to a header, URI, query string or payload, and no
    document, union or JSON-value member."""
    if shape.name in _seen:
        return True  # a recursive shape: its other branches decide
    seen = _seen | {shape.name}
    if shape.serialization or shape.metadata.get("jsonvalue"):
        return False
    model: Any = shape  # the stubs declare only the base Shape
    if shape.type_name in leaves:
        return True
    if shape.type_name == "list":
        return is_plain_json(model.member, leaves, seen)
    if shape.type_name != "structure" or model.is_document_type or model.is_tagged_union:
        return False
    return all(is_plain_json(member, leaves, seen) for member in model.members.values())


def serialize_with_json_dumps(client: Any, operation: str) -> None:
    """Build ``operation``'s REST-JSON body with one ``json.dumps`` of the parameters instead
    of botocore's walk over the input model; the rest of the call (endpoint, signing,
    retries, response parsing) is botocore's, through its documented events.

    Refused (``ValueError``) unless the input is plain JSON and the endpoint does not depend
    on parameters. The client must be made with ``parameter_validation=False``: validation
    would check the emptied parameters.
    """
    model = client.meta.service_model.operation_model(operation)
    if model.metadata.get("protocol") != "rest-json" or not is_plain_json(
        model.input_shape, REQUEST_LEAVES
    ):
        raise ValueError(f"{operation}: input is not plain JSON; keep botocore's serializer")
    if model.context_parameters or model.static_context_parameters:
        raise ValueError(f"{operation}: endpoint depends on parameters")
    service = client.meta.service_model.service_id.hyphenize()

    def take_params(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        context[_JSON_BODY] = json.dumps(params).encode("utf-8")
        params.clear()  # nothing left for the model walk

    def put_body(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        if _JSON_BODY in context:  # ``params`` is the serialized request here
            params["body"] = context.pop(_JSON_BODY)

    client.meta.events.register(f"before-parameter-build.{service}.{operation}", take_params)
    client.meta.events.register(f"before-call.{service}.{operation}", put_body)


class _PlainJsonParser(RestJSONParser):
    """botocore's REST-JSON parser, minus the walk of answers whose shape is plain JSON."""

    def __init__(self, plain: dict[str, bool], **defaults: Any) -> None:
        super().__init__(**defaults)
        self._plain = plain

    def _do_parse(self, response: dict[str, Any], shape: Shape | None) -> Any:
        """The success path only: error answers keep botocore's own parsing."""
        botocore_parser: Any = super()  # these hooks are not in the stubs
        if shape is None or not self._is_plain(shape):
            return botocore_parser._do_parse(response, shape)
        body = botocore_parser._initial_body_parse(response["body"])
        if not isinstance(body, dict):
            return botocore_parser._do_parse(response, shape)
        members = cast(Any, shape).members
        parsed = {name: body[name] for name in members if body.get(name) is not None}
        parsed["ResponseMetadata"] = botocore_parser._populate_response_metadata(response)
        return parsed

    def _is_plain(self, shape: Shape) -> bool:
        plain = self._plain.get(shape.name)
        if plain is None:
            plain = self._plain[shape.name] = is_plain_json(shape)
        return plain


BOTOCORE_VERSION: Final = "1.44.18"
"""The botocore the parser hooks were checked against; pyproject.toml pins it exactly."""
PARSER_HOOKS: Final = {
    "_do_parse": ("self", "response", "shape"),
    "_initial_body_parse": ("self", "body_contents"),
    "_populate_response_metadata": ("self", "response"),
}
"""The private hooks of botocore's REST-JSON parser that :class:`_PlainJsonParser` uses,
with the arguments it passes them."""


def parser_hook_problems() -> list[str]:
    """What no longer fits the hooks :class:`_PlainJsonParser` relies on (empty: all fit)."""
    problems = []
    for hook, arguments in PARSER_HOOKS.items():
        function = getattr(RestJSONParser, hook, None)
        if function is None:
            problems.append(f"RestJSONParser.{hook} is gone")
        elif argument_names(function) != arguments:
            found = ", ".join(argument_names(function))
            problems.append(f"RestJSONParser.{hook} now takes ({found})")
    return problems


require_fit("botocore", botocore.__version__, BOTOCORE_VERSION, __name__, parser_hook_problems())


class PlainJsonParserFactory(ResponseParserFactory):
    """Parsers that skip the walk of plain answers; one factory per client, because the
    verdicts are cached by shape name and names are unique only within a service."""

    def __init__(self) -> None:
        super().__init__()
        self._plain: dict[str, bool] = {}
        self._parser_defaults: dict[str, Any] = {}

    def set_parser_defaults(self, **kwargs: Any) -> None:
        super().set_parser_defaults(**kwargs)
        self._parser_defaults.update(kwargs)

    def create_parser(self, protocol_name: str) -> Any:
        if protocol_name != "rest-json":
            return super().create_parser(protocol_name)
        return _PlainJsonParser(self._plain, **self._parser_defaults)


def client_config(
    *,
    max_attempts: int,
    pool_size: int = 10,
    retry_mode: str = "standard",
    connect_timeout: float = 2.0,
    read_timeout: float = 5.0,
    validate: bool = False,
    keepalive: bool = True,
) -> Config:
    """botocore settings for the Lambdas' clients: ``max_attempts`` counts the first call,
    the connection pool is as large as the thread pool sharing the client. Parameter
    validation is off unless ``validate``: the library builds every request itself, and
    the check is about half of botocore's CPU per BatchWriteRecord entry."""
    return Config(
        retries=cast(Any, {"mode": retry_mode, "total_max_attempts": max_attempts}),
        max_pool_connections=pool_size,
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
        tcp_keepalive=keepalive,
        parameter_validation=validate,
    )


def create_client(service: str, config: Config, *, plain_answers: bool = False) -> Any:
    """botocore's client for ``service`` (endpoint from the standard env vars); with
    ``plain_answers``, plain-JSON answers skip botocore's walk (:class:`PlainJsonParserFactory`).
    boto3 would add nothing to the client but import time."""
    session = botocore.session.get_session()
    if plain_answers:
        session.register_component("response_parser_factory", PlainJsonParserFactory())
    return session.create_client(service, config=config)


def lean_client(service: str, *, attempts: int, connect: float, read: float) -> Any:
    """A client with standard retries, the given timeouts, kept-alive connections, no
    parameter validation and no walk of plain answers."""
    config = client_config(max_attempts=attempts, connect_timeout=connect, read_timeout=read)
    return create_client(service, config, plain_answers=True)
