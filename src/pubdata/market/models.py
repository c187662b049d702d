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
