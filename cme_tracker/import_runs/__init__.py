"""Imports from the office's pages and the API: an uploaded file kept in the instance folder, its dry run,
and its confirmed import, each recorded as an import run (:mod:`.models`) and audited."""
