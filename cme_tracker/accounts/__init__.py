"""Accounts: users with roles, argon2 password hashes, login."""
