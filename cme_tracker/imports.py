"""PLACEHOLDER: the importers helper replaces this module."""

import click


@click.group("import")
def import_files() -> None:
    """Import members, the program or attendance from CSV or XLSX."""
