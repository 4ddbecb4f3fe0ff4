"""Yearly transcripts of each member's credits: content, rendering and issuing."""
