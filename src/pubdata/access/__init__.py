"""Authorised operation: access requests, their two-step approval, and the contracts (grants) with
usage policies that the store's read path enforces."""
