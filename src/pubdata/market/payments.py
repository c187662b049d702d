"""Payment providers: how a buyer pays a bill and how the payment is confirmed.

A provider checks what the buyer submits and says how its payments are confirmed. The one built in
is ``bank_transfer`` (对公转账): the buyer transfers the bill's amount from its corporate account and
submits the bank's transaction number as a voucher; the operator's finance staff confirm it against
the bank statement (``orders.decide_payment``). An online provider (e.g. a payment gateway whose
callback confirms) is another class with ``confirmation = "callback"`` registered in ``PROVIDERS``;
its callback calls ``orders.decide_payment`` as the system, and the unique ``(provider, reference)``
keeps a repeated callback harmless."""

from __future__ import annotations

import re
from typing import Protocol

from pubdata.market.errors import InvalidPayment
from pubdata.market.order_schemas import PaymentIn

REFERENCE = re.compile(r"^[0-9A-Za-z-]{4,64}$")


class PaymentProvider(Protocol):
    code: str
    label: str
    confirmation: str  # manual (finance staff) | callback (the provider's notification)

    def check(self, data: PaymentIn) -> None:
        """Refuse (``InvalidPayment``) what this provider cannot have produced."""


class BankTransfer:
    code = "bank_transfer"
    label = "对公转账"
    confirmation = "manual"

    def check(self, data: PaymentIn) -> None:
        if not REFERENCE.match(data.reference):
            raise InvalidPayment(
                f"银行交易流水号只能由 4–64 位字母、数字和连字符组成：{data.reference!r}", field="reference"
            )
        if not data.payer_name.strip():
            raise InvalidPayment("须填写付款单位名称", field="payer_name")


PROVIDERS: dict[str, PaymentProvider] = {p.code: p for p in (BankTransfer(),)}


def provider(code: str) -> PaymentProvider:
    found = PROVIDERS.get(code)
    if found is None:
        raise InvalidPayment(f"不支持的付款方式：{code}（可用：{'、'.join(PROVIDERS)}）", field="provider")
    return found
