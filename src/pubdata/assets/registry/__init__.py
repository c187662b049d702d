"""The data-asset registry (确权登记): registrations of data resources and products, their review,
public notice, objections, registration codes and certificates, and the content fingerprint anyone
holding the data can recompute (docs/registry.md). ``service`` is its public face; ``fingerprint``
the canonical form."""
