"""Answering a verification product (核验服务): match or no match for a submitted value, nothing else.

The buyer's organisation must hold an active entitlement to the product (bought while it was
listed: like AWS Data Exchange subscriptions, an entitlement outlives a later suspension or
delisting until its term ends or its grant is revoked; nobody else learns of an unlisted product).
The answer is computed on the store's one read path under that entitlement's own verify grant
(whose rows are the product's row filter and predicate and whose only column is the key field),
charged one call against its quotas and rate, and audited as ``market.verify`` with the grant and
the digest of the value — which is how it is metered and billed."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel
from sqlalchemy.orm import Session

from pubdata.audit import service as audit
from pubdata.authz import Actor, Permission, require
from pubdata.db import utcnow
from pubdata.market.errors import InvalidOrder, NotEntitled, ProductNotFound
from pubdata.market.orders import buyer_entitlement, product_by_key
from pubdata.store.query import rows as store_rows

MAX_VALUE = 200
ACTIONS = ("market.verify",)


class VerifyAnswer(BaseModel):
    product: str
    match: bool
    answer: str  # 匹配 | 不匹配
    checked_at: str


@audit.refusals_audited("market.verify", "product")
def _verify(session: Session, actor: Actor, product_key: str, value: object, home: Path) -> bool:
    require(actor, Permission.MARKET_ORDER_READ)
    product = product_by_key(session, product_key)
    entitlement = buyer_entitlement(session, actor, product) if product is not None else None
    if product is None or (product.state != "listed" and entitlement is None):
        raise ProductNotFound(f"数据产品不存在或未上架：{product_key}")
    if product.kind != "verification":
        raise InvalidOrder(f"“{product.title}”不是核验服务", field="product")
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_VALUE:
        raise InvalidOrder(f"核验值须是 1–{MAX_VALUE} 个字符的文本", field="value")
    if entitlement is None or entitlement.grant_id is None:
        raise NotEntitled(f"本机构没有“{product.title}”的有效订购，不能使用该核验服务")
    return store_rows.value_exists(
        session, actor, product.resource_id, product.contract["key_field"], value.strip(), home=home,
        action="market.verify", grant_id=entitlement.grant_id,
    )  # fmt: skip


def verify(session: Session, actor: Actor, product_key: str, value: object, *, home: Path) -> VerifyAnswer:
    """Match or no match for ``value`` under the actor's organisation's entitlement to the product."""
    found = _verify(session, actor, product_key, value, home)
    return VerifyAnswer(product=product_key, match=found, answer="匹配" if found else "不匹配",
                        checked_at=utcnow().isoformat())  # fmt: skip
