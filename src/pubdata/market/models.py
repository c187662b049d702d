"""The data market's products, the history of their listings, and their price plans.

Money is integer fen (分) in BigInteger columns; a plan keeps only the fields of its kind."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from pubdata.db import Base, utcnow


class MarketProduct(Base):
    """A product an organisation (the operator or a data merchant) builds on a catalogue resource.

    States: draft → under_review → public_notice (until ``notice_until``) → listed ⇄ suspended →
    delisted (final); the operator's rejection sends a product under review back to draft. Only a
    draft is edited; every edit (its plans included) bumps ``version``."""

    __tablename__ = "market_product"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(16), index=True)  # api | dataset | sandbox | verification | report
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    scenario: Mapped[str] = mapped_column(String(32), index=True)
    zone: Mapped[str | None] = mapped_column(String(32), index=True)  # an access zone's code
    provider_org_id: Mapped[int] = mapped_column(ForeignKey("identity_organisation.id"), index=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("catalog_entry.id"), index=True)
    resource_id: Mapped[str] = mapped_column(ForeignKey("catalog_resource.id"), index=True)
    # how the provider may build on the data: open | own | grant | operator (see docs/market.md)
    basis: Mapped[str] = mapped_column(String(16))
    basis_grant_id: Mapped[int | None] = mapped_column(ForeignKey("access_grant.id"))
    sample: Mapped[str] = mapped_column(Text, default="")
    update_frequency: Mapped[str] = mapped_column(String(100), default="")
    coverage: Mapped[str] = mapped_column(String(500), default="")
    licence: Mapped[str] = mapped_column(String(200), default="")
    terms: Mapped[str] = mapped_column(Text, default="")
    requires_approval: Mapped[bool] = mapped_column(default=False)
    contract: Mapped[dict[str, Any]] = mapped_column(JSON)
    # how settled revenue is split (``distribution.Rule`` as JSON); None: the city's default rule
    distribution: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    state: Mapped[str] = mapped_column(String(16), default="draft", index=True)
    notice_until: Mapped[date | None]
    version: Mapped[int] = mapped_column(default=1)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("identity_user.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class MarketListingEvent(Base):
    """One transition of a product's listing: who moved it from which state to which, why, and
    which version of the product it was."""

    __tablename__ = "market_listing_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("market_product.id"), index=True)
    from_state: Mapped[str | None] = mapped_column(String(16))
    to_state: Mapped[str] = mapped_column(String(16))
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("identity_user.id"))
    reason: Mapped[str] = mapped_column(Text, default="")
    version: Mapped[int]
    at: Mapped[datetime] = mapped_column(default=utcnow)


class MarketPricePlan(Base):
    """A price plan of a product (``plans.PlanTerms``: only its kind's fields are set)."""

    __tablename__ = "market_price_plan"
    __table_args__ = (UniqueConstraint("product_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("market_product.id"), index=True)
    code: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))  # free | one_off | subscription | per_call | tiered
    price_fen: Mapped[int | None] = mapped_column(BigInteger)
    term_months: Mapped[int | None]
    unit_price_fen: Mapped[int | None] = mapped_column(BigInteger)
    free_quota: Mapped[int | None] = mapped_column(BigInteger)
    monthly_cap_fen: Mapped[int | None] = mapped_column(BigInteger)
    tiers: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)  # [{"up_to", "unit_price_fen"}]
    public_interest_only: Mapped[bool] = mapped_column(default=False)
    active: Mapped[bool] = mapped_column(default=True)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("identity_user.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class MarketOrder(Base):
    """A buyer organisation's order of one plan of a listed product (the terms of the product's
    version at order time; the buyer's name and credit code are copied for its invoices).

    States: pending_approval (the listing requires approval, or the plan is free: the provider
    reviews the declared use) → awaiting_payment (a priced one-off or subscription plan) → active
    (its entitlement exists) → ended; rejected, cancelled (by the buyer before it is active, or a
    refund of everything paid)."""

    __tablename__ = "market_order"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("market_product.id"), index=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("market_price_plan.id"), index=True)
    product_version: Mapped[int]
    buyer_org_id: Mapped[int] = mapped_column(ForeignKey("identity_organisation.id"), index=True)
    buyer_name: Mapped[str] = mapped_column(String(200))
    buyer_uscc: Mapped[str | None] = mapped_column(String(18))
    ordered_by: Mapped[int | None] = mapped_column(ForeignKey("identity_user.id"))
    declared_use: Mapped[str] = mapped_column(Text, default="")
    state: Mapped[str] = mapped_column(String(24), index=True)
    amount_fen: Mapped[int] = mapped_column(BigInteger, default=0)  # due before access (one-off, subscription)
    months: Mapped[int]  # the entitlement's term
    reviewed_by: Mapped[int | None] = mapped_column(ForeignKey("identity_user.id"))
    reviewed_at: Mapped[datetime | None]
    review_reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class MarketEntitlement(Base):
    """What a buyer may use of a product under one order: the access grant made from the product's
    contract template (none for a report), from ``starts_on`` to ``ends_on`` (Beijing dates)."""

    __tablename__ = "market_entitlement"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("market_order.id"), unique=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("market_product.id"), index=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("market_price_plan.id"))
    buyer_org_id: Mapped[int] = mapped_column(ForeignKey("identity_organisation.id"), index=True)
    grant_id: Mapped[int | None] = mapped_column(ForeignKey("access_grant.id"), unique=True)
    starts_on: Mapped[date]
    ends_on: Mapped[date]
    state: Mapped[str] = mapped_column(String(16), default="active", index=True)  # active | ended | cancelled
    ended_at: Mapped[datetime | None]
    end_reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class MarketBill(Base):
    """What a buyer owes: an order's price (kind ``order``) or a month's metered usage of an
    entitlement (kind ``usage``), with its billing lines. Paid in full by one confirmed payment; the
    invoice (发票) number is issued when it is paid. ``settlement_run_id``: the settlement that
    distributed it."""

    __tablename__ = "market_bill"
    __table_args__ = (UniqueConstraint("entitlement_id", "month"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    kind: Mapped[str] = mapped_column(String(8))  # order | usage
    order_id: Mapped[int] = mapped_column(ForeignKey("market_order.id"), index=True)
    entitlement_id: Mapped[int | None] = mapped_column(ForeignKey("market_entitlement.id"), index=True)
    month: Mapped[str | None] = mapped_column(String(7))  # YYYY-MM of a usage bill
    product_id: Mapped[int] = mapped_column(ForeignKey("market_product.id"), index=True)
    buyer_org_id: Mapped[int] = mapped_column(ForeignKey("identity_organisation.id"), index=True)
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    refunded_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    calls: Mapped[int] = mapped_column(BigInteger, default=0)
    rows: Mapped[int] = mapped_column(BigInteger, default=0)
    lines: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    state: Mapped[str] = mapped_column(String(16), index=True)  # unpaid | paid | void
    invoice_no: Mapped[str | None] = mapped_column(String(40), unique=True)
    issued_at: Mapped[datetime] = mapped_column(default=utcnow)
    paid_at: Mapped[datetime | None]
    settlement_run_id: Mapped[int | None] = mapped_column(ForeignKey("market_settlement_run.id"), index=True)


class MarketPayment(Base):
    """A payment of a bill through a provider (``bank_transfer``: a 对公转账 voucher the buyer
    submits and the operator's finance staff confirm or reject). ``(provider, reference)`` is unique:
    one voucher pays one bill once."""

    __tablename__ = "market_payment"
    __table_args__ = (UniqueConstraint("provider", "reference"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    bill_id: Mapped[int] = mapped_column(ForeignKey("market_bill.id"), index=True)
    provider: Mapped[str] = mapped_column(String(32))
    reference: Mapped[str] = mapped_column(String(64))  # the bank's transaction number
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    payer_name: Mapped[str] = mapped_column(String(200))
    payer_account: Mapped[str] = mapped_column(String(64), default="")
    paid_on: Mapped[date]
    state: Mapped[str] = mapped_column(String(16), default="submitted", index=True)  # submitted | confirmed | rejected
    submitted_by: Mapped[int | None] = mapped_column(ForeignKey("identity_user.id"))
    submitted_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("identity_user.id"))
    decided_at: Mapped[datetime | None]
    reason: Mapped[str] = mapped_column(Text, default="")


class MarketRefund(Base):
    """Money given back on a paid order bill not yet settled (at most what was paid)."""

    __tablename__ = "market_refund"

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(64), unique=True)  # the idempotency key
    bill_id: Mapped[int] = mapped_column(ForeignKey("market_bill.id"), index=True)
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    reason: Mapped[str] = mapped_column(Text)
    refunded_by: Mapped[int | None] = mapped_column(ForeignKey("identity_user.id"))
    refunded_at: Mapped[datetime] = mapped_column(default=utcnow)


class MarketSettlementRun(Base):
    """One month's settlement (unique per month): usage billed, revenue distributed, posted."""

    __tablename__ = "market_settlement_run"

    id: Mapped[int] = mapped_column(primary_key=True)
    month: Mapped[str] = mapped_column(String(7), unique=True)
    gross_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    usage_bills: Mapped[int] = mapped_column(default=0)
    run_by: Mapped[int | None] = mapped_column(ForeignKey("identity_user.id"))
    run_at: Mapped[datetime] = mapped_column(default=utcnow)


class MarketSettlementShare(Base):
    """One party's share of one product's revenue in a settlement run (for statements and charts)."""

    __tablename__ = "market_settlement_share"

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("market_settlement_run.id"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("market_product.id"), index=True)
    party: Mapped[str] = mapped_column(String(80))  # department | operator | provider | trust:<code>
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("identity_organisation.id"), index=True)
    account_code: Mapped[str] = mapped_column(String(80))
    amount_fen: Mapped[int] = mapped_column(BigInteger)


class MarketReportFile(Base):
    """A file (PDF) of a report product, uploaded by its provider while the product is a draft, so
    the operator reviews the report the buyers will receive. Its bytes are stored content-addressed
    under ``$PUBDATA_HOME/market/reports/<product id>/<sha256>``."""

    __tablename__ = "market_report_file"
    __table_args__ = (UniqueConstraint("product_id", "sha256"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("market_product.id"), index=True)
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    stored_path: Mapped[str] = mapped_column(String(300))  # relative to the home
    note: Mapped[str] = mapped_column(Text, default="")
    uploaded_by: Mapped[int | None] = mapped_column(ForeignKey("identity_user.id"))
    uploaded_at: Mapped[datetime] = mapped_column(default=utcnow)
