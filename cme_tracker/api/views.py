"""PLACEHOLDER: replaced by the API helper."""

from flask import Blueprint

blueprint = Blueprint("api", __name__, url_prefix="/api/v1")
