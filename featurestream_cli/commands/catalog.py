"""``featurestream catalog``: find, document, check and apply the feature catalog.

``list`` and ``show`` read the catalog (offline) or, with ``--deployed``, the groups deployed
on AWS or the local stack; ``search`` runs the Search API on FeatureMetadata; ``apply``
converges deployed metadata to the catalog. The same boto3 calls serve AWS and the local
stack: endpoints come from boto3's standard variables (``AWS_ENDPOINT_URL_SAGEMAKER``).
``docs`` writes ``docs/features.md`` and ``check`` runs the governance checks. The template's
``CatalogHash`` (so a deploy re-applies a changed catalog) is kept in step by
``featurestream template --write`` with the other catalog-derived template blocks.
"""

import json
import re
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, Final

import click

from featurestream.contract.catalog import FEATURE_GROUPS, Feature, FeatureGroupSpec
from featurestream.governance.catalog_checks import Problem

DEFAULT_PREFIX: Final = "featurestream-"
DEFAULT_DOCS: Final = Path("docs/features.md")
DEFAULT_TEMPLATE: Final = Path("template.yaml")
GROUPS: Final = {spec.name: spec for spec in FEATURE_GROUPS}
prefix_option = click.option(
    "--group-name-prefix",
    "prefix",
    default=DEFAULT_PREFIX,
    show_default=True,
    envvar="FEATURESTREAM_GROUP_NAME_PREFIX",
    help="deployed name = prefix + catalog group name (the stack name and a dash)",
)
group_option = click.option(
    "--group",
    "groups",
    multiple=True,
    type=click.Choice(sorted(GROUPS)),
    help="only this catalog group (repeatable)",
)


def _client() -> Any:
    import boto3

    return boto3.client("sagemaker")


def _selected(groups: Sequence[str]) -> list[FeatureGroupSpec]:
    return [GROUPS[name] for name in groups] if groups else list(FEATURE_GROUPS)


def table(headers: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """Plain aligned columns (stable in pipes and tests, unlike a terminal-width table)."""
    body = [list(map(str, row)) for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in body)) for i, h in enumerate(headers)]
    lines = [headers, ["-" * w for w in widths], *body]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip()
        for line in lines
    )


def _client_error(error: Exception) -> click.ClickException:
    return click.ClickException(f"{type(error).__name__}: {error}")


def _deployed_rows(
    client: Any, specs: Sequence[FeatureGroupSpec], prefix: str
) -> Iterator[dict[str, Any]]:
    """DescribeFeatureMetadata of every deployed feature of the selected groups."""
    from featurestream.governance.metadata import deployed_definitions

    for spec in specs:
        name = prefix + spec.name
        for feature_name in deployed_definitions(client, name):
            meta = client.describe_feature_metadata(FeatureGroupName=name, FeatureName=feature_name)
            yield {
                "group": name,
                "name": feature_name,
                "type": meta.get("FeatureType", ""),
                "description": meta.get("Description", ""),
                "parameters": {p["Key"]: p["Value"] for p in meta.get("Parameters") or []},
                "modified": str(meta.get("LastModifiedTime", "")),
            }


def _catalog_row(spec: FeatureGroupSpec, feature: Feature) -> dict[str, Any]:
    return {
        "group": spec.name,
        "name": feature.name,
        "type": feature.type,
        "description": feature.description,
        "parameters": feature.metadata_parameters(),
    }


@click.group()
def command() -> None:
    """The feature catalog: list, show, search, apply, docs, check."""


@command.command("list")
@group_option
@click.option("--deployed", is_flag=True, help="read the deployed groups instead of the catalog")
@prefix_option
@click.option("--json", "as_json", is_flag=True, help="one JSON document instead of a table")
def list_command(groups: tuple[str, ...], deployed: bool, prefix: str, as_json: bool) -> None:
    """Every feature with its type, description and owner."""
    from botocore.exceptions import BotoCoreError, ClientError

    specs = _selected(groups)
    try:
        rows = (
            list(_deployed_rows(_client(), specs, prefix))
            if deployed
            else [_catalog_row(s, f) for s in specs for f in s.features]
        )
    except (ClientError, BotoCoreError) as error:
        raise _client_error(error) from error
    if as_json:
        click.echo(json.dumps(rows, indent=2, default=str))
        return
    click.echo(
        table(
            ("GROUP", "FEATURE", "TYPE", "OWNER", "DESCRIPTION"),
            (
                (
                    r["group"],
                    r["name"],
                    r["type"],
                    r["parameters"].get("owner", ""),
                    r["description"],
                )
                for r in rows
            ),
        )
    )


def _resolve(reference: str) -> list[tuple[FeatureGroupSpec, Feature]]:
    group, _, name = reference.rpartition("/")
    if group and group not in GROUPS:
        raise click.BadParameter(f"unknown group {group!r} (one of {', '.join(GROUPS)})")
    matches = [
        (spec, feature)
        for spec in ([GROUPS[group]] if group else FEATURE_GROUPS)
        for feature in spec.features
        if feature.name == name
    ]
    if not matches:
        raise click.BadParameter(f"no feature {reference!r} in the catalog")
    return matches


@command.command("show")
@click.argument("feature")
@click.option("--deployed", is_flag=True, help="read DescribeFeatureMetadata instead")
@prefix_option
def show_command(feature: str, deployed: bool, prefix: str) -> None:
    """One feature's type, description and parameters (FEATURE or GROUP/FEATURE)."""
    from botocore.exceptions import BotoCoreError, ClientError

    client = _client() if deployed else None
    for spec, item in _resolve(feature):
        row = _catalog_row(spec, item)
        if client is not None:
            try:
                meta = client.describe_feature_metadata(
                    FeatureGroupName=prefix + spec.name, FeatureName=item.name
                )
            except (ClientError, BotoCoreError) as error:
                raise _client_error(error) from error
            row = {
                "group": meta["FeatureGroupName"],
                "name": meta["FeatureName"],
                "type": meta["FeatureType"],
                "description": meta.get("Description", ""),
                "parameters": {p["Key"]: p["Value"] for p in meta.get("Parameters") or []},
            }
            row["last modified"] = str(meta.get("LastModifiedTime", ""))
        click.echo(f"{row['group']}/{row['name']}")
        click.echo(f"  type:         {row['type']}")
        click.echo(f"  description:  {row['description']}")
        if "last modified" in row:
            click.echo(f"  modified:     {row['last modified']}")
        for key, value in row["parameters"].items():
            click.echo(f"  {key + ':':13} {value}")


def _parse_param(value: str) -> tuple[str, str]:
    key, sep, text = value.partition("=")
    if not sep or not key or not text:
        raise click.BadParameter(f"expected KEY=VALUE, got {value!r}")
    return key, text


def search_expression(
    *,
    params: Sequence[tuple[str, str]] = (),
    text: str | None = None,
    groups: Sequence[str] = (),
    feature_type: str | None = None,
) -> dict[str, Any] | None:
    """The Search API's SearchExpression for these criteria (And of all; text is an Or).

    ``groups`` are deployed names. One ``Contains`` per (sub)expression, as the API requires.
    """
    filters: list[dict[str, str]] = [
        {"Name": f"Parameters.{key}", "Operator": "Equals", "Value": value} for key, value in params
    ]
    if len(groups) == 1:
        filters.append({"Name": "FeatureGroupName", "Operator": "Equals", "Value": groups[0]})
    elif groups:
        filters.append({"Name": "FeatureGroupName", "Operator": "In", "Value": ",".join(groups)})
    if feature_type:
        filters.append({"Name": "FeatureType", "Operator": "Equals", "Value": feature_type})
    expression: dict[str, Any] = {}
    if text:
        if filters:
            expression["Filters"] = filters
        expression["SubExpressions"] = [
            {
                "Operator": "Or",
                "SubExpressions": [
                    {"Filters": [{"Name": name, "Operator": "Contains", "Value": text}]}
                    for name in ("Description", "FeatureName")
                ],
            }
        ]
    elif filters:
        expression["Filters"] = filters
    return expression or None


def run_search(client: Any, expression: dict[str, Any] | None) -> list[dict[str, Any]]:
    """All FeatureMetadata hits, following NextToken, sorted by group and feature name.

    Sorted here rather than with SortBy: the service's sortable FeatureMetadata properties are
    not documented beyond the default (LastModifiedTime).
    """
    kwargs: dict[str, Any] = {"Resource": "FeatureMetadata", "MaxResults": 100}
    if expression:
        kwargs["SearchExpression"] = expression
    hits: list[dict[str, Any]] = []
    while True:
        response = client.search(**kwargs)
        hits.extend(r["FeatureMetadata"] for r in response.get("Results", []))
        token = response.get("NextToken")
        if not token:
            return sorted(hits, key=lambda h: (h["FeatureGroupName"], h["FeatureName"]))
        kwargs["NextToken"] = token


@command.command("search")
@click.option(
    "--param",
    "params",
    multiple=True,
    callback=lambda _c, _p, v: [_parse_param(x) for x in v],
    help="KEY=VALUE: Parameters.KEY equals VALUE (repeatable, all must match)",
)
@click.option("--text", help="description or feature name contains TEXT")
@group_option
@click.option("--type", "feature_type", type=click.Choice(["Integral", "Fractional", "String"]))
@click.option("--all-groups", is_flag=True, help="search every group, not only this stack's")
@prefix_option
@click.option("--json", "as_json", is_flag=True, help="the raw FeatureMetadata results")
def search_command(  # noqa: PLR0917 - click passes options positionally
    params: list[tuple[str, str]],
    text: str | None,
    groups: tuple[str, ...],
    feature_type: str | None,
    all_groups: bool,
    prefix: str,
    as_json: bool,
) -> None:
    """Search deployed feature metadata (Search API, Resource=FeatureMetadata)."""
    from botocore.exceptions import BotoCoreError, ClientError

    names = [prefix + g for g in (groups or ([] if all_groups else list(GROUPS)))]
    expression = search_expression(
        params=params, text=text, groups=names, feature_type=feature_type
    )
    try:
        hits = run_search(_client(), expression)
    except (ClientError, BotoCoreError) as error:
        raise _client_error(error) from error
    if as_json:
        click.echo(json.dumps(hits, indent=2, default=str))
        return
    if not hits:
        click.echo("no matching features")
        return
    click.echo(
        table(
            ("GROUP", "FEATURE", "TYPE", "OWNER", "DESCRIPTION"),
            (
                (
                    h["FeatureGroupName"],
                    h["FeatureName"],
                    h.get("FeatureType", ""),
                    next(
                        (p["Value"] for p in h.get("Parameters") or [] if p["Key"] == "owner"), ""
                    ),
                    h.get("Description", ""),
                )
                for h in hits
            ),
        )
    )


@command.command("apply")
@group_option
@prefix_option
@click.option("--dry-run", is_flag=True, help="show what would change; send no update")
def apply_command(groups: tuple[str, ...], prefix: str, dry_run: bool) -> None:
    """Converge the deployed descriptions and parameters to the catalog (idempotent)."""
    from botocore.exceptions import BotoCoreError, ClientError

    from featurestream.governance.metadata import CatalogMismatch, apply_catalog_metadata

    names = {spec.name: prefix + spec.name for spec in _selected(groups)}
    try:
        report = apply_catalog_metadata(_client(), names, dry_run=dry_run)
    except (ClientError, BotoCoreError, CatalogMismatch) as error:
        raise _client_error(error) from error
    for line in report.lines():
        click.echo(line)
    click.echo(report.summary())


# ---------------------------------------------------------------- docs


def _markdown_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")


def render_docs(groups: Sequence[FeatureGroupSpec] = FEATURE_GROUPS) -> str:
    """``docs/features.md``: every group and feature with its metadata, from the catalog."""
    lines = [
        "# Features",
        "",
        "<!-- Generated from functions/featurestream/contract/catalog.py"
        " by `featurestream catalog docs`; do not edit. -->",
        "",
        "Every feature's description and parameters are applied to the deployed feature groups"
        " (`UpdateFeatureMetadata`) on every `sam deploy` and by local provisioning, so they are"
        " searchable with the Search API:",
        "",
        "```",
        "featurestream catalog search --param idType=primarykey   # the tutorial's search",
        "featurestream catalog search --text recency --group orders",
        "featurestream catalog show orders/n_days_since_last_purchase --deployed",
        "```",
        "",
        "Deployed group names are `<stack name>-<group>` (e.g. `featurestream-customers`).",
        "",
        "How the catalog stays the one source:",
        "",
        "- `template.yaml`'s FeatureDefinitions are generated from it"
        " (`featurestream template --write`).",
        "- The `FeatureMetadata` custom resource applies descriptions and parameters after both"
        " groups exist; its `CatalogHash` property (`featurestream template --write`)"
        " changes with the catalog, so every deploy of a changed catalog re-applies it, adding"
        " and removing parameters until the deployed metadata equals the catalog.",
        "- `make test` fails on a feature in the catalog but not in the template (or the"
        " reverse), a type change, a reserved or invalid name, a missing description or owner,"
        " a stale hash or a stale copy of this page (`featurestream catalog check`). Feature"
        " Store can neither remove a feature nor change its type: add a feature with a new"
        " name, or a new feature group. `tests/unit/governance/released_features.json` lists"
        " the released definitions no change may break.",
    ]
    for spec in groups:
        lines += [
            "",
            f"## {spec.name}",
            "",
            f"{spec.description}.",
            "",
            f"Record identifier `{spec.record_identifier}`, event time "
            f"`{spec.event_time_feature}`, {len(spec.features)} features.",
            "",
            "| Feature | Type | Description | Owner | Parameters |",
            "|---|---|---|---|---|",
        ]
        for feature in spec.features:
            params = ", ".join(f"`{k}={v}`" for k, v in feature.parameters.items())
            lines.append(
                f"| `{feature.name}` | {feature.type} | {_markdown_cell(feature.description)} "
                f"| {feature.owner} | {_markdown_cell(params)} |"
            )
    lines += [
        "",
        "## How metadata is applied",
        "",
        "`UpdateFeatureMetadata` changes only what a call names: a `Description` replaces the old"
        " one,",
        "`ParameterAdditions` add or overwrite keys, `ParameterRemovals` delete keys, and anything"
        " left",
        "out stays as it was",
        "([UpdateFeatureMetadata](https://docs.aws.amazon.com/sagemaker/latest/APIReference/"
        "API_UpdateFeatureMetadata.html)).",
        "So applying the catalog sends nothing for a feature whose metadata already matches, one"
        " call",
        "per feature that differs, and more than one only when over 25 parameters change at once"
        " (the",
        "most one call accepts).",
    ]
    return "\n".join(lines) + "\n"


@command.command("docs")
@click.option("--output", type=click.Path(path_type=Path, dir_okay=False), default=DEFAULT_DOCS)
@click.option("--check", is_flag=True, help="fail if the file is not up to date")
def docs_command(output: Path, check: bool) -> None:
    """Write docs/features.md from the catalog (--check: fail when it is stale)."""
    rendered = render_docs()
    current = output.read_text() if output.exists() else None
    if check:
        if current != rendered:
            raise click.ClickException(f"{output} is stale; run `featurestream catalog docs`")
        click.echo(f"{output} is up to date")
        return
    if current == rendered:
        click.echo(f"{output} is up to date")
        return
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(rendered)
    click.echo(f"wrote {output}")


# ---------------------------------------------------------------- governance checks


def template_definitions(
    path: Path, stack_name: str = "featurestream"
) -> dict[str, dict[str, str]]:
    """Catalog group name → feature → type, read from the template's FeatureGroup resources."""
    from devstack.stack.template import Template, local_stack

    template = Template.load(path)
    stack = local_stack(template, name=stack_name)
    result: dict[str, dict[str, str]] = {}
    for resource in template.resources_of_type("AWS::SageMaker::FeatureGroup").values():
        props = resource["Properties"]
        name = str(template.resolve(props["FeatureGroupName"], stack))
        logical = name.removeprefix(f"{stack_name}-")
        result[logical] = {
            d["FeatureName"]: d["FeatureType"] for d in props.get("FeatureDefinitions") or []
        }
    return result


def governance_problems(
    template: Path | None = DEFAULT_TEMPLATE,
    released: Path | None = None,
    groups: Sequence[FeatureGroupSpec] = FEATURE_GROUPS,
) -> list[Problem]:
    """Everything ``catalog check`` (and ``make test``) reports, offline."""
    from featurestream.governance.catalog_checks import check_catalog, check_definitions
    from featurestream.governance.metadata import catalog_hash

    problems = check_catalog(groups)
    if template is not None:
        problems += check_definitions(template_definitions(template), "template", groups)
        hash_match = re.search(r'CatalogHash:\s*"?([0-9a-f]+)"?', template.read_text())
        if not hash_match or hash_match.group(1) != catalog_hash(groups):
            problems.append(
                Problem(
                    str(template),
                    "CatalogHash is stale; run `featurestream template --write` so the "
                    "next deploy re-applies the metadata",
                )
            )
    if released is not None:
        problems += check_definitions(json.loads(released.read_text()), "released", groups)
    return problems


@command.command("check")
@click.option(
    "--template",
    type=click.Path(path_type=Path, exists=True, dir_okay=False),
    default=DEFAULT_TEMPLATE,
    show_default=True,
)
@click.option(
    "--released",
    type=click.Path(path_type=Path, exists=True, dir_okay=False),
    help="JSON of released definitions (group → feature → type) no change may break",
)
@click.option("--deployed", is_flag=True, help="also compare with the deployed groups")
@prefix_option
def check_command(template: Path, released: Path | None, deployed: bool, prefix: str) -> None:
    """Governance checks: names, descriptions, owners, template and type changes."""
    from botocore.exceptions import BotoCoreError, ClientError

    from featurestream.governance.catalog_checks import check_definitions
    from featurestream.governance.metadata import deployed_definitions

    problems = governance_problems(template, released)
    if deployed:
        client = _client()
        try:
            definitions = {
                spec.name: deployed_definitions(client, prefix + spec.name)
                for spec in FEATURE_GROUPS
            }
        except (ClientError, BotoCoreError) as error:
            raise _client_error(error) from error
        problems += check_definitions(definitions, "deployed")
    if problems:
        for problem in problems:
            click.echo(f"✗ {problem}", err=True)
        raise click.ClickException(f"{len(problems)} catalog problem(s)")
    features = sum(len(spec.features) for spec in FEATURE_GROUPS)
    click.echo(f"catalog OK: {len(FEATURE_GROUPS)} groups, {features} features")
