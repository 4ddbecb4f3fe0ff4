"""PLACEHOLDER: replaced by the admin helper."""

from flask import Blueprint

blueprint = Blueprint("admin", __name__)
