"""Read ``template.yaml``: its tags, parameters, conditions, resources and functions.

A small reader for the local stack and the CLI (``featurestream invoke``, provisioning, the
event-source-mapping runner). ``cfn-flip``'s loader turns the short-form tags (``!Ref``,
``!Sub``, ``!GetAtt``, ``!If`` ...) into the long JSON form (``{"Ref": ...}``,
``{"Fn::Sub": ...}``); this module resolves intrinsics against a :class:`Stack` (name, region,
account, parameter values and what ``Ref``/``GetAtt`` of each local resource should return).
It does not implement SAM's transform; it reads ``Globals`` and ``AWS::Serverless::Function``
the way SAM merges them.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import cfn_tools
import yaml

DEFAULT_TEMPLATE: Final = Path("template.yaml")
NO_VALUE: Final = object()
"""What ``!Ref AWS::NoValue`` resolves to; removed from the enclosing mapping or list."""


class TemplateError(ValueError):
    """The template cannot be read or an intrinsic cannot be resolved."""


def load_yaml(text: str) -> dict[str, Any]:
    """Parse CloudFormation YAML (short-form tags become long-form dicts).

    A syntax error names its line and column only: the parser's own message quotes the text.
    """
    try:
        document = _plain(cfn_tools.load_yaml(text))
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        raise TemplateError(f"{where}not valid YAML") from None
    if not isinstance(document, dict):
        raise TemplateError("a template is a mapping")
    return document


def _plain(value: Any) -> Any:
    """``value`` with cfn-flip's ``ODict`` mappings as plain dicts, as callers expect."""
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


@dataclass
class Stack:
    """What intrinsics resolve against: a deployed (or local) stack's identity and values.

    ``refs`` maps a resource's logical id to what ``Ref`` returns for it, ``attributes``
    maps ``(logical id, attribute)`` to what ``GetAtt`` returns; unknown ones raise.
    """

    name: str = "featurestream"
    region: str = "us-east-1"
    account: str = "123456789012"
    partition: str = "aws"
    parameters: dict[str, Any] = field(default_factory=dict)
    refs: dict[str, str] = field(default_factory=dict)
    attributes: dict[tuple[str, str], str] = field(default_factory=dict)

    def pseudo(self, name: str) -> Any:
        values = {
            "AWS::StackName": self.name,
            "AWS::Region": self.region,
            "AWS::AccountId": self.account,
            "AWS::Partition": self.partition,
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::StackId": f"arn:{self.partition}:cloudformation:{self.region}:"
            f"{self.account}:stack/{self.name}/local",
            "AWS::NoValue": NO_VALUE,
        }
        if name not in values:
            raise TemplateError(f"unknown pseudo parameter {name}")
        return values[name]


@dataclass(frozen=True)
class FunctionSpec:
    """An ``AWS::Serverless::Function`` with ``Globals.Function`` merged in (unresolved)."""

    logical_id: str
    handler: str
    runtime: str
    code_uri: str
    timeout: int
    memory_size: int
    environment: dict[str, Any]
    events: dict[str, Any]
    properties: dict[str, Any]


class Template:
    """A parsed template with helpers to list resources and resolve intrinsics."""

    def __init__(self, document: Mapping[str, Any], path: Path | None = None) -> None:
        self.document = dict(document)
        self.path = path

    @classmethod
    def load(cls, path: Path | str = DEFAULT_TEMPLATE) -> Template:
        path = Path(path)
        try:
            text = path.read_text()
        except OSError as error:
            raise TemplateError(f"{path}: cannot read ({error.strerror})") from error
        try:
            return cls(load_yaml(text), path)
        except TemplateError as error:
            raise TemplateError(f"{path}: {error}") from None

    # -- sections ----------------------------------------------------------------------------

    @property
    def parameters(self) -> dict[str, dict[str, Any]]:
        return dict(self.document.get("Parameters") or {})

    @property
    def resources(self) -> dict[str, dict[str, Any]]:
        return dict(self.document.get("Resources") or {})

    @property
    def conditions(self) -> dict[str, Any]:
        return dict(self.document.get("Conditions") or {})

    @property
    def outputs(self) -> dict[str, dict[str, Any]]:
        return dict(self.document.get("Outputs") or {})

    def parameter_defaults(self) -> dict[str, Any]:
        return {
            name: spec["Default"] for name, spec in self.parameters.items() if "Default" in spec
        }

    def resource(self, logical_id: str) -> dict[str, Any]:
        try:
            return dict(self.resources[logical_id])
        except KeyError:
            raise TemplateError(f"no resource {logical_id!r} in the template") from None

    def resources_of_type(self, resource_type: str) -> dict[str, dict[str, Any]]:
        return {k: v for k, v in self.resources.items() if v.get("Type") == resource_type}

    def function(self, logical_id: str) -> FunctionSpec:
        """A serverless function with ``Globals.Function`` merged the way SAM merges it."""
        resource = self.resource(logical_id)
        if resource.get("Type") != "AWS::Serverless::Function":
            raise TemplateError(f"{logical_id} is not an AWS::Serverless::Function")
        globals_ = dict((self.document.get("Globals") or {}).get("Function") or {})
        properties = {**globals_, **(resource.get("Properties") or {})}
        environment = {
            **((globals_.get("Environment") or {}).get("Variables") or {}),
            **(
                ((resource.get("Properties") or {}).get("Environment") or {}).get("Variables") or {}
            ),
        }
        return FunctionSpec(
            logical_id=logical_id,
            handler=str(properties["Handler"]),
            runtime=str(properties.get("Runtime", "")),
            code_uri=str(properties.get("CodeUri", ".")),
            timeout=int(properties.get("Timeout", 3)),
            memory_size=int(properties.get("MemorySize", 128)),
            environment=environment,
            events=dict(properties.get("Events") or {}),
            properties=properties,
        )

    def functions(self) -> dict[str, FunctionSpec]:
        return {
            name: self.function(name)
            for name in self.resources_of_type("AWS::Serverless::Function")
        }

    # -- resolution --------------------------------------------------------------------------

    def stack(self, **kwargs: Any) -> Stack:
        """A :class:`Stack` whose parameters start from the template's defaults."""
        overrides = kwargs.pop("parameters", {}) or {}
        unknown = set(overrides) - set(self.parameters)
        if unknown:
            raise TemplateError(f"unknown parameter(s): {', '.join(sorted(unknown))}")
        return Stack(parameters={**self.parameter_defaults(), **overrides}, **kwargs)

    def resolve(self, value: Any, stack: Stack) -> Any:
        """Evaluate every intrinsic in ``value``; ``AWS::NoValue`` entries are dropped."""
        return _Resolver(self, stack).resolve(value)

    def condition(self, name: str, stack: Stack) -> bool:
        return bool(_Resolver(self, stack).condition(name))


class _Resolver:
    def __init__(self, template: Template, stack: Stack) -> None:
        self.template = template
        self.stack = stack
        self._functions: dict[str, Callable[[Any], Any]] = {
            "Ref": self._ref,
            "Fn::Sub": self._sub,
            "Fn::GetAtt": self._getatt,
            "Fn::If": self._if,
            "Fn::Join": self._join,
            "Fn::Select": self._select,
            "Fn::Split": self._split,
            "Fn::Equals": self._equals,
            "Fn::Not": lambda v: not self.resolve(v[0]),
            "Fn::And": lambda v: all(self.resolve(x) for x in v),
            "Fn::Or": lambda v: any(self.resolve(x) for x in v),
            "Condition": self.condition,
        }

    def resolve(self, value: Any) -> Any:
        if isinstance(value, dict):
            if len(value) == 1:
                ((key, argument),) = value.items()
                if key in self._functions:
                    return self._functions[key](argument)
            resolved = {k: self.resolve(v) for k, v in value.items()}
            return {k: v for k, v in resolved.items() if v is not NO_VALUE}
        if isinstance(value, list):
            return [item for item in (self.resolve(v) for v in value) if item is not NO_VALUE]
        return value

    def condition(self, name: str) -> bool:
        conditions = self.template.conditions
        if name not in conditions:
            raise TemplateError(f"unknown condition {name}")
        return bool(self.resolve(conditions[name]))

    def _ref(self, name: str) -> Any:
        if name.startswith("AWS::"):
            return self.stack.pseudo(name)
        if name in self.stack.parameters:
            return self.stack.parameters[name]
        if name in self.stack.refs:
            return self.stack.refs[name]
        if name in self.template.parameters:
            raise TemplateError(f"parameter {name} has no value")
        raise TemplateError(f"no local value for Ref {name}")

    def _getatt(self, argument: Any) -> Any:
        resource, attribute = (
            argument if isinstance(argument, list) else str(argument).split(".", 1)
        )
        key = (str(resource), str(self.resolve(attribute)))
        if key not in self.stack.attributes:
            raise TemplateError(f"no local value for GetAtt {key[0]}.{key[1]}")
        return self.stack.attributes[key]

    def _sub(self, argument: Any) -> str:
        if isinstance(argument, list):
            text, variables = argument[0], {k: self.resolve(v) for k, v in argument[1].items()}
        else:
            text, variables = argument, {}

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in variables:
                return str(variables[name])
            if "." in name and not name.startswith("AWS::"):
                return str(self._getatt(name.split(".", 1)))
            return str(self._ref(name))

        return re.sub(r"\$\{([^}]+)\}", replace, str(text))

    def _if(self, argument: list[Any]) -> Any:
        name, when_true, when_false = argument
        return self.resolve(when_true if self.condition(name) else when_false)

    def _join(self, argument: list[Any]) -> str:
        separator, items = argument
        return str(separator).join(str(x) for x in self.resolve(items))

    def _select(self, argument: list[Any]) -> Any:
        index, items = argument
        return self.resolve(items)[int(self.resolve(index))]

    def _split(self, argument: list[Any]) -> list[str]:
        separator, text = argument
        return str(self.resolve(text)).split(str(separator))

    def _equals(self, argument: list[Any]) -> bool:
        left, right = (self.resolve(x) for x in argument)
        return str(left) == str(right)


def local_stack(template: Template, *, name: str = "featurestream", **kwargs: Any) -> Stack:
    """A stack whose resources resolve to the names and ARNs they would get in AWS.

    Streams, queues, buckets, roles, functions, tables and feature groups get the name from
    their ``Name``/``QueueName``/``FunctionName``/``FeatureGroupName``/``TableName`` property (or
    ``<stack>-<LogicalId>``), Glue databases from ``DatabaseInput.Name``;
    ``Ref``/``Arn``/``QueueUrl``-style values follow.
    """
    stack = template.stack(name=name, **kwargs)
    resolver = _Resolver(template, stack)
    name_keys = (
        "Name",
        "QueueName",
        "FunctionName",
        "FeatureGroupName",
        "TopicName",
        "BucketName",
        "TableName",
    )
    for logical_id, resource in template.resources.items():
        properties = resource.get("Properties") or {}
        if resource.get("Type") == "AWS::Glue::Database":  # its name is DatabaseInput.Name
            properties = properties.get("DatabaseInput") or {}
        physical = f"{stack.name}-{logical_id}".lower()
        for key in name_keys:
            if key in properties:
                with contextlib.suppress(TemplateError):
                    physical = str(resolver.resolve(properties[key]))
                break
        _register(stack, logical_id, str(resource.get("Type")), physical)
    return stack


def _register(stack: Stack, logical_id: str, resource_type: str, physical: str) -> None:
    prefix = f"arn:{stack.partition}"
    region_account = f"{stack.region}:{stack.account}"
    arn = {
        "AWS::Kinesis::Stream": f"{prefix}:kinesis:{region_account}:stream/{physical}",
        "AWS::SQS::Queue": f"{prefix}:sqs:{region_account}:{physical}",
        "AWS::S3::Bucket": f"{prefix}:s3:::{physical}",
        "AWS::IAM::Role": f"{prefix}:iam::{stack.account}:role/{physical}",
        "AWS::Serverless::Function": f"{prefix}:lambda:{region_account}:function:{physical}",
        "AWS::SageMaker::FeatureGroup": (
            f"{prefix}:sagemaker:{region_account}:feature-group/{physical}"
        ),
        "AWS::SNS::Topic": f"{prefix}:sns:{region_account}:{physical}",
        "AWS::DynamoDB::Table": f"{prefix}:dynamodb:{region_account}:table/{physical}",
        "AWS::Logs::LogGroup": f"{prefix}:logs:{region_account}:log-group:{physical}:*",
    }.get(resource_type, f"{prefix}:local:{region_account}:{physical}")
    if resource_type == "AWS::SQS::Queue":
        url = f"https://sqs.{stack.region}.amazonaws.com/{stack.account}/{physical}"
        stack.refs.setdefault(logical_id, url)
        stack.attributes.setdefault((logical_id, "QueueUrl"), url)
        stack.attributes.setdefault((logical_id, "QueueName"), physical)
    elif resource_type in ("AWS::SNS::Topic",):
        stack.refs.setdefault(logical_id, arn)
    else:
        stack.refs.setdefault(logical_id, physical)
    stack.attributes.setdefault((logical_id, "Arn"), arn)
    if resource_type == "AWS::S3::Bucket":
        stack.attributes.setdefault((logical_id, "DomainName"), f"{physical}.s3.amazonaws.com")
