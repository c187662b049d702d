"""Native REST API for policies (政策通): the packs with their source text, and evaluation with
explanations — of facts the caller supplies, or of an enterprise's facts-table row."""

from __future__ import annotations

from fastapi import APIRouter

from pubdata.api.deps import DB, ActorDep, Home
from pubdata.api.errors import ERROR_RESPONSES
from pubdata.errors import Invalid
from pubdata.policy import service
from pubdata.policy.schemas import EvaluateIn, EvaluationRead, PolicyRead, PolicySummary, policy_read, policy_summary

router = APIRouter(tags=["policies"], responses=ERROR_RESPONSES)


@router.get("/policies", response_model=list[PolicySummary], summary="Policies the platform knows")
def list_policies(actor: ActorDep) -> list[PolicySummary]:
    return [policy_summary(p) for p in service.list_packs(actor)]


@router.get("/policies/{pack}", response_model=PolicyRead, summary="A policy: source, inputs and clauses")
def get_policy(pack: str, actor: ActorDep) -> PolicyRead:
    return policy_read(service.get_pack(actor, pack))


@router.post(
    "/policies/{pack}/evaluate",
    response_model=EvaluationRead,
    summary="Evaluate a policy for one enterprise, with an explanation of every clause",
)
def evaluate(pack: str, body: EvaluateIn, session: DB, actor: ActorDep, home: Home) -> EvaluationRead:
    """Give ``facts`` (name → value; absent or null facts are unknown, and a clause they decide is
    returned with ``eligible: null`` and the facts in ``missing``) or ``enterprise`` (a credit code
    whose facts-table row the caller may read: its own, or any for departments and the operator)."""
    if (body.facts is None) == (body.enterprise is None):
        raise Invalid("请给出 facts 或 enterprise（二选一）", field="facts")
    if body.facts is not None:
        return EvaluationRead.model_validate(service.evaluate_facts(actor, pack, body.facts))
    result = service.evaluate_enterprise(session, actor, pack, body.enterprise or "", home=home)
    return EvaluationRead.model_validate(result)
