"""Auditor exports of a year's credits: one streaming pass over the rows, written in a registered format."""
