"""The reviewer's decisions on applications (政策通): approve an amount no higher than the cap,
reject or return for more material (a reason required), and record the payment of an approved
application. Only the department an application was routed to (``policy.applications.reviewers``) decides it;
see ``policy.applications.workflow`` for the states and the audit."""

from __future__ import annotations

from sqlalchemy.orm import Session

from pubdata.authz import Actor, Permission, require
from pubdata.errors import Forbidden
from pubdata.policy.applications.workflow import (
    AmountAboveCap,
    InvalidApplication,
    is_reviewer,
    refusals_audited,
    reviewed_application,
    transition,
    visible_application,
)
from pubdata.policy.models import PolicyApplication, PolicyDisbursement
from pubdata.policy.packs.explain import money


def _reason(reason: str, what: str) -> str:
    text = (reason or "").strip()
    if not text:
        raise InvalidApplication(f"{what}需说明理由", field="reason")
    return text


@refusals_audited("policy.approve")
def approve_application(
    session: Session, actor: Actor, application_id: int, amount: int, reason: str = ""
) -> PolicyApplication:
    """The reviewer approves an amount (integer yuan, more than 0) no higher than the cap; for an
    assessed clause without a cap the reviewer sets it."""
    app = reviewed_application(session, actor, application_id)
    if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
        raise InvalidApplication("核准金额应为大于 0 的整数（元）；不予支持请驳回", field="amount")
    if app.cap is not None and amount > app.cap:
        raise AmountAboveCap(
            f"核准金额 {money(amount)}（{amount:,} 元）超过本申报的上限 {money(app.cap)}（{app.cap:,} 元）",
            field="amount",
        )
    transition(session, actor, app, "approve", amount=amount, reason=(reason or "").strip())
    app.approved_amount = amount
    app.reason = (reason or "").strip()
    return app


@refusals_audited("policy.reject")
def reject_application(session: Session, actor: Actor, application_id: int, reason: str) -> PolicyApplication:
    app = reviewed_application(session, actor, application_id)
    text = _reason(reason, "驳回")
    transition(session, actor, app, "reject", reason=text)
    app.reason = text
    return app


@refusals_audited("policy.return")
def return_application(session: Session, actor: Actor, application_id: int, reason: str) -> PolicyApplication:
    """Send the application back to the enterprise for more material (what is needed: the reason)."""
    app = reviewed_application(session, actor, application_id)
    text = _reason(reason, "退回补充材料")
    transition(session, actor, app, "return", reason=text)
    app.reason = text
    return app


@refusals_audited("policy.disburse")
def disburse_application(session: Session, actor: Actor, application_id: int, reference: str) -> PolicyApplication:
    """Record the payment of an approved application (拨付) with its voucher number: the department
    that reviewed and approved it — the one paying — and nobody else."""
    require(actor, Permission.POLICY_DISBURSE)
    app = visible_application(session, actor, application_id)
    if not is_reviewer(actor, app):
        raise Forbidden("只有审核并核准该申报的部门可以登记拨付")
    text = (reference or "").strip()
    if not text or len(text) > 64:
        raise InvalidApplication("请填写拨付凭证号（1 至 64 个字符）", field="reference")
    transition(session, actor, app, "disburse", amount=app.approved_amount, reason=text)
    assert app.approved_amount is not None
    session.add(
        PolicyDisbursement(application_id=app.id, amount=app.approved_amount, reference=text, created_by=actor.user_id)
    )
    session.flush()
    return app
