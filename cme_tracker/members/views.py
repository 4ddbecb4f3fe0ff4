"""PLACEHOLDER: the web helper replaces this module."""

from flask import Blueprint

blueprint = Blueprint("members", __name__)
