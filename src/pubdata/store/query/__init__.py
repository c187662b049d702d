"""Reading rows, always through the read plan (``store.read``): row pages and their cursors, SQL,
downloads and exports, and the privacy sandbox's aggregates."""
