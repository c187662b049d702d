"""Errors of the bank–enterprise channel."""

from __future__ import annotations

from pubdata.errors import Conflict, Forbidden, Invalid, NotFound


class ProductNotFound(NotFound):
    code = "finance.product_not_found"


class InvalidProduct(Invalid):
    code = "finance.invalid_product"


class NotAZoneBank(Forbidden):
    """Only banks admitted to the finance zone publish products and work applications."""

    code = "finance.not_a_zone_bank"


class ApplicationNotFound(NotFound):
    code = "finance.application_not_found"


class InvalidApplication(Invalid):
    code = "finance.invalid_application"


class NotEligible(Invalid):
    code = "finance.not_eligible"


class WrongState(Conflict):
    code = "finance.wrong_state"
