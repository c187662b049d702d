"""Errors of the data market's products, listings and price plans."""

from __future__ import annotations

from pubdata.errors import Conflict, Forbidden, Invalid, NotFound, PubdataError


class ProductNotFound(NotFound):
    """No product the actor may see: another organisation's unlisted product is reported as not found."""

    code = "market.product_not_found"


class PlanNotFound(NotFound):
    code = "market.plan_not_found"


class InvalidProduct(Invalid):
    code = "market.invalid_product"


class InvalidContract(InvalidProduct):
    """The contract template does not fit the table (unknown field, bad mask or filter, a field the
    provider's grant does not cover, a missing key field)."""

    code = "market.invalid_contract"


class InvalidPlan(Invalid):
    """A price plan that is not whole, non-negative fen or contradicts itself. ``details`` names every
    problem at once."""

    code = "market.invalid_plan"


class PlanNotAllowed(InvalidPlan):
    """The plan's kind does not fit the product's kind."""

    code = "market.plan_not_allowed"


class InvalidUsage(Invalid):
    code = "market.invalid_usage"


class NotHolder(Forbidden):
    """A data merchant may build only on open data, its own data, or data it holds an active grant for."""

    code = "market.not_holder"


class CodeTaken(Conflict):
    code = "market.code_taken"


class WrongState(Conflict):
    code = "market.wrong_state"


class NoticeNotOver(WrongState):
    code = "market.notice_not_over"


class OrderNotFound(NotFound):
    """No order the actor may see (the buyer's, the provider's, oversight)."""

    code = "market.order_not_found"


class BillNotFound(NotFound):
    code = "market.bill_not_found"


class PaymentNotFound(NotFound):
    code = "market.payment_not_found"


class InvalidOrder(Invalid):
    code = "market.invalid_order"


class InvalidPayment(Invalid):
    code = "market.invalid_payment"


class PaymentConflict(Conflict):
    """A payment or refund reference already used for another bill or amount."""

    code = "market.payment_conflict"


class AlreadySettled(Conflict):
    code = "market.already_settled"


class InvalidSettlement(Invalid):
    code = "market.invalid_settlement"


class NotEntitled(Forbidden):
    """The actor's organisation holds no active entitlement to the product."""

    code = "market.not_entitled"


class SettlementNotFound(NotFound):
    code = "market.settlement_not_found"


class InvalidReport(Invalid):
    code = "market.invalid_report"


class ReportTooLarge(PubdataError):
    status = 413
    code = "market.report_too_large"


class ReportNotFound(NotFound):
    code = "market.report_not_found"
