"""Signed PDF certificates of attendance: content, rendering, signing, issuing and verification."""
