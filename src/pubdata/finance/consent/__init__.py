"""Consent (授权): an enterprise authorises a named bank to read its credit report."""
