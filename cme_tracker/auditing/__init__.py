"""The auditors' read-only pages: a year's figures, one member's records down to each scan, the audit log."""
