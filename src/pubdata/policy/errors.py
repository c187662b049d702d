"""Errors of the policy domain that its callers catch or raise by name."""

from __future__ import annotations

from pubdata.errors import Invalid, PubdataError


class MaterialTooLarge(PubdataError):
    status = 413
    code = "policy.material_too_large"


class InvalidMaterial(Invalid):
    code = "policy.invalid_material"
