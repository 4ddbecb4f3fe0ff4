"""The audit log: an HMAC-SHA256 hash chain of every change, keyed outside the database."""
