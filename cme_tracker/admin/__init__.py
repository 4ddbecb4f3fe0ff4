"""PLACEHOLDER: replaced by the admin helper."""
