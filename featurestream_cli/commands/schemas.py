"""``featurestream schemas``: write the events' JSON Schemas for upstream apps."""

import json
from pathlib import Path

import click

DEFAULT_DIR = Path("docs/events")


def render_schemas() -> dict[str, str]:
    """File name → text of every published schema (what ``docs/events/`` must contain)."""
    from featurestream.contract.events import event_json_schemas

    return {
        f"{stem}.schema.json": json.dumps(
            {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}, indent=2
        )
        + "\n"
        for stem, schema in event_json_schemas().items()
    }


@click.command()
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path, file_okay=False),
    default=DEFAULT_DIR,
    show_default=True,
    help="folder to write the schema files into",
)
def command(output: Path) -> None:
    """Write the JSON Schemas of the customer and order events, generated from the models."""
    from producers.files import OutputError, ensure_folder, write_replacing

    try:
        ensure_folder(output)
        for name, text in render_schemas().items():
            write_replacing(output / name, text)
            click.echo(f"wrote {output / name}")
    except OutputError as error:
        raise click.ClickException(str(error)) from error
