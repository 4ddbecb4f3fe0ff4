"""PLACEHOLDER: replaced by the desk helper."""

from flask import Blueprint

blueprint = Blueprint("desk", __name__)
