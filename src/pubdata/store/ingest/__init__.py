"""Ingestion: a file (CSV in any encoding, XLSX, JSON) or a relation checked value by value against
the table's Table Schema, normalised, rejected rows kept apart, published as the next version."""
