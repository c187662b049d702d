"""The data store: resources' schemas, validation, ingestion, versions, quality and row queries."""
