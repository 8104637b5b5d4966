"""botocore clients for the inference Lambda: retries and timeouts, and no per-item CPU
that buys nothing.

botocore spends CPU in proportion to the size of a call in two places that add nothing here:

- It validates the parameters against the service model. Ours are built by the library
  (:mod:`featurestream.serving`, :mod:`featurestream.model_client`) from validated input, and
  their shapes are unit-tested against the model with validation on
  (``tests/unit/inference/test_aws_clients.py``), so the clients skip it.
- After ``json.loads``, it walks the answer node by node to convert types. When every leaf
  of the output shape is a string, the walk rebuilds what ``json.loads`` gave. A 50-customer
  ``BatchGetRecord`` answer has about 2,000 nodes, and the walk was half the handler's CPU.
  :class:`PlainJsonParserFactory` skips it for such shapes and keeps only the modelled
  top-level keys, as botocore does; a unit test compares both parsers' output. (Below the
  top level, a key the model does not know or a null is kept rather than dropped; readers
  use ``.get`` and treat a null as absent.)

The clients come from botocore directly: boto3 would add nothing to them, and importing it
(with s3transfer) was 57 modules of the handler's cold-start import.
"""

from typing import Any, cast

import botocore.session
from botocore.config import Config
from botocore.model import Shape
from botocore.parsers import ResponseParserFactory, RestJSONParser


def is_plain_json(shape: Shape, _seen: frozenset[str] = frozenset()) -> bool:
    """Whether botocore's parse of ``shape`` returns the decoded JSON unchanged: strings,
    lists and structures only, with no member renamed, bound to a header or a union."""
    if shape.name in _seen:
        return True  # a recursive shape: its other branches decide
    seen = _seen | {shape.name}
    serialization = shape.serialization
    if serialization.get("location") or serialization.get("payload"):
        return False
    model: Any = shape  # the stubs declare only the base Shape
    if shape.type_name == "string":
        return True
    if shape.type_name == "list":
        return is_plain_json(model.member, seen)
    if shape.type_name != "structure" or model.is_document_type or model.is_tagged_union:
        return False
    return all(
        "name" not in member.serialization and is_plain_json(member, seen)
        for member in model.members.values()
    )


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


def lean_client(service: str, *, attempts: int, connect: float, read: float) -> Any:
    """A client with standard retries, the given timeouts, kept-alive connections, no
    parameter validation and no walk of plain answers."""
    config = Config(
        retries=cast(Any, {"mode": "standard", "total_max_attempts": attempts}),
        connect_timeout=connect,
        read_timeout=read,
        tcp_keepalive=True,
        parameter_validation=False,
    )
    session = botocore.session.get_session()  # boto3 adds nothing to a client but imports
    session.register_component("response_parser_factory", PlainJsonParserFactory())
    return session.create_client(service, config=config)
