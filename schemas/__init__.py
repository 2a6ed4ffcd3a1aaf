"""Event contracts: JSON Schema files (``json/``), validation, typed records, dead letters."""
