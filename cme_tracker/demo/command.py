"""PLACEHOLDER: replaced by the lead."""

import click


@click.command("demo")
def demo() -> None:
    """Set up the instance folder, seed a realistic year, print the logins and serve."""
