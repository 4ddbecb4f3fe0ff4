"""PLACEHOLDER: the web helper replaces this module."""

from flask import Blueprint

blueprint = Blueprint("accounts", __name__)
