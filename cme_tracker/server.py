"""PLACEHOLDER: replaced by the lead."""

import click


@click.command("serve")
def serve() -> None:
    """Serve the app with gunicorn."""
