"""The certificate of attendance, a kind of document: its content, snapshot, design, pages and command."""
