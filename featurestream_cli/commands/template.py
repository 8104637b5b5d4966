"""``featurestream template``: keep template.yaml's catalog-derived parts in step.

Two kinds of block sit between ``# BEGIN generated: …`` and ``# END generated: …`` comments
and are written from :mod:`featurestream.contract.catalog`; nobody edits them by hand:

- each ``AWS::SageMaker::FeatureGroup``'s Description and FeatureDefinitions;
- the ``FeatureMetadata`` custom resource's ``CatalogHash``, which changes with the catalog
  so that a deploy of a changed catalog re-applies the feature metadata.

``--check`` (used by ``make validate`` and a test) fails when any of them differ.
"""

import json
import re
from pathlib import Path

import click

from featurestream.contract.catalog import FEATURE_GROUPS, FeatureGroupSpec

DEFAULT_TEMPLATE = Path("template.yaml")
_HASH_BLOCK = re.compile(
    r"^(?P<indent>[ ]*)# BEGIN generated: catalog hash.*?\n.*?"
    r"^[ ]*# END generated: catalog hash[^\n]*$",
    re.MULTILINE | re.DOTALL,
)
_BLOCK = re.compile(
    r"^(?P<indent>[ ]*)# BEGIN generated: (?P<group>[\w-]+) feature definitions.*?\n"
    r".*?"
    r"^[ ]*# END generated: (?P=group) feature definitions[^\n]*$",
    re.MULTILINE | re.DOTALL,
)


def render_block(spec: FeatureGroupSpec, indent: str) -> str:
    """The generated lines for one group (YAML flow style, values JSON-quoted)."""
    lines = [
        f"{indent}# BEGIN generated: {spec.name} feature definitions "
        "(featurestream template --write)",
        f"{indent}Description: {json.dumps(spec.description)}",
        f"{indent}FeatureDefinitions:",
        *(
            f"{indent}  - {{FeatureName: {json.dumps(d['FeatureName'])}, "
            f"FeatureType: {d['FeatureType']}}}"
            for d in spec.feature_definitions()
        ),
        f"{indent}# END generated: {spec.name} feature definitions",
    ]
    return "\n".join(lines)


def render_hash(text: str, digest: str) -> str:
    """``text`` with its generated CatalogHash block set to ``digest``."""
    blocks = list(_HASH_BLOCK.finditer(text))
    if len(blocks) != 1:
        raise click.ClickException("template needs exactly one `# BEGIN generated: catalog hash`")
    indent = blocks[0].group("indent")
    block = (
        f"{indent}# BEGIN generated: catalog hash (featurestream template --write)\n"
        f'{indent}CatalogHash: "{digest}"\n'
        f"{indent}# END generated: catalog hash"
    )
    return text[: blocks[0].start()] + block + text[blocks[0].end() :]


def render(text: str) -> str:
    """``text`` with every generated block rewritten from the catalog."""
    from featurestream.governance.metadata import catalog_hash

    specs = {spec.name: spec for spec in FEATURE_GROUPS}
    seen: set[str] = set()

    def replace(match: re.Match[str]) -> str:
        name = match.group("group")
        if name not in specs:
            raise click.ClickException(f"template names an unknown feature group {name!r}")
        seen.add(name)
        return render_block(specs[name], match.group("indent"))

    result = _BLOCK.sub(replace, text)
    missing = set(specs) - seen
    if missing:
        raise click.ClickException(f"no generated block for: {', '.join(sorted(missing))}")
    return render_hash(result, catalog_hash())


@click.command()
@click.option(
    "--template",
    "path",
    type=click.Path(path_type=Path, exists=True, dir_okay=False),
    default=DEFAULT_TEMPLATE,
    show_default=True,
)
@click.option("--write", is_flag=True, help="rewrite the generated blocks in place")
@click.option("--check", is_flag=True, help="fail if the generated blocks are out of date")
def command(path: Path, write: bool, check: bool) -> None:
    """Generate (--write) or verify (--check) the template's catalog-derived blocks."""
    text = path.read_text()
    rendered = render(text)
    if write:
        if rendered != text:
            path.write_text(rendered)
            click.echo(f"updated {path}")
        else:
            click.echo(f"{path} is up to date")
        return
    if rendered != text:
        raise click.ClickException(
            f"{path}: generated blocks differ from the catalog; "
            "run `featurestream template --write`"
        )
    click.echo(f"{path}: feature definitions and catalog hash match the catalog")
    if not check:
        click.echo("(use --write to regenerate)")
