"""Enterprise profiles (一企一档) built from public data: the facts table, credit, tiers."""
