"""PLACEHOLDER: the credits helper replaces this module."""

import click


@click.group("credits")
def credits() -> None:
    """Credits earned by members."""
