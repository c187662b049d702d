"""政策通 pages: the policy list, one policy with its source text and clauses, and the policy
calculator (fill in facts, see every clause's explained result). The calculator works by GET, so
a result can be bookmarked and shared; a signed-in enterprise can fill it from its own facts."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from pubdata.api.deps import DB, Home
from pubdata.catalog.vocab import DISTRICT_NAMES
from pubdata.enterprise import service as enterprise
from pubdata.errors import Invalid, PubdataError
from pubdata.policy import service
from pubdata.policy.packs.explain import money
from pubdata.policy.packs.pack import Pack
from pubdata.policy.schemas import policy_read, policy_summary
from pubdata.web.deps import ViewerDep
from pubdata.web.templating import render

router = APIRouter(include_in_schema=False)
KIND_LABELS = {
    "fixed": "固定金额",
    "up_to": "最高限额",
    "formula": "按比例计算",
    "assessed": "据实核定",
    "none": "认定标准",
}
ELIGIBLE_LABELS = {True: "符合", False: "不符合", None: "无法判断"}
WAN = Decimal(10_000)


@router.get("/policies", response_class=HTMLResponse)
def policy_list(request: Request, viewer: ViewerDep) -> HTMLResponse:
    packs = [policy_summary(p) for p in service.list_packs(viewer.actor)]
    return render(request, "policies/list.html", {"nav": "policies", "packs": packs})


def _form_values(pack: Pack, params: dict[str, str]) -> tuple[dict[str, Any], dict[str, str], list[str]]:
    """(facts, the form as typed, problems) from the calculator's query string: money in 万元,
    booleans 是/否, empty fields unknown."""
    facts: dict[str, Any] = {}
    form: dict[str, str] = {}
    problems = []
    for name, spec in pack.inputs.items():
        raw = params.get(name, "").strip()
        form[name] = raw
        if raw == "":
            continue
        if spec.type == "boolean":
            facts[name] = raw == "true" if raw in ("true", "false") else None
        elif spec.type in ("money", "integer", "number"):
            try:
                value = Decimal(raw.replace(",", ""))
            except InvalidOperation:
                problems.append(f"{spec.title}：应为数字（{raw}）")
                continue
            if spec.type == "money":
                value = (value * WAN).quantize(Decimal(1))
            facts[name] = int(value) if spec.type != "number" else value
        else:
            facts[name] = raw
    return facts, form, problems


def _form_from_facts(pack: Pack, values: dict[str, Any]) -> dict[str, str]:
    form = {}
    for name, spec in pack.inputs.items():
        value = values.get(name)
        if value is None:
            form[name] = ""
        elif spec.type == "boolean":
            form[name] = "true" if value else "false"
        elif spec.type == "money":
            form[name] = format((Decimal(value) / WAN).normalize(), "f")
        else:
            form[name] = str(value)
    return form


@router.get("/policies/{pack_id}", response_class=HTMLResponse)
def policy_page(request: Request, pack_id: str, session: DB, viewer: ViewerDep, home: Home) -> HTMLResponse:
    pack = service.get_pack(viewer.actor, pack_id)
    params = dict(request.query_params)
    result = None
    error = None
    own = enterprise.own_uscc(session, viewer.actor) if viewer.signed_in else None
    if params.get("mine") and own:
        try:
            result = service.evaluate_enterprise(session, viewer.actor, pack.id, own, home=home)
            form = _form_from_facts(pack, result["facts"])
        except PubdataError as exc:
            form, error = {}, f"无法读取本企业档案：{exc.message}"
    else:
        facts, form, problems = _form_values(pack, params)
        if params.get("calculate"):
            try:
                if problems:
                    raise Invalid("；".join(problems))
                result = service.evaluate_facts(viewer.actor, pack.id, facts)
            except PubdataError as exc:
                error = exc.message
    context = {
        "nav": "policies",
        "policy": policy_read(pack),
        "form": form,
        "districts": DISTRICT_NAMES,
        "result": result,
        "error": error,
        "own_uscc": own,
        "kind_labels": KIND_LABELS,
        "eligible_labels": ELIGIBLE_LABELS,
        "money": money,
    }
    return render(request, "policies/policy.html", context)
