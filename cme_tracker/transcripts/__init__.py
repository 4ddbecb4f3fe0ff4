"""Yearly transcripts of each member's credits, a kind of document: content, snapshot, design, pages and
command."""
