"""PLACEHOLDER: replaced by the desk helper."""
