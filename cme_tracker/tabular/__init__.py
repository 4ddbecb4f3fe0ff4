"""Import files as tables: reading CSV and XLSX (:mod:`.reader`), the fields of their cells (:mod:`.cells`),
and loading their rows into an import's result (:mod:`.loading`)."""
