"""企业档案 pages: an enterprise's own facts (``/me/facts``), any enterprise's facts for those who may
read them (``/enterprises/{uscc}``, the operator, departments and the regulator) and a lookup by
credit code (``/enterprises``). Every fact is shown with its title, unit, meaning, the rule for an
unknown value and a link to its source entry — or, for facts only the enterprise supplies, who
supplied the value and when; the reads go through ``enterprise.get_facts`` (who may read whose
facts, the audit). The tier pages (梯度培育, ``tier_pages``) hang off the same paths."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from pubdata.api.deps import DB, Home
from pubdata.authz import Permission
from pubdata.enterprise import service
from pubdata.enterprise.errors import EnterpriseNotFound, FactsNotBuilt
from pubdata.enterprise.schemas import EnterpriseFacts, FactValue
from pubdata.errors import NotFound
from pubdata.web import tier_pages
from pubdata.web.deps import ViewerDep
from pubdata.web.templating import render

router = APIRouter(include_in_schema=False)
router.include_router(tier_pages.router)

GROUPS = (("basic", "基本信息"), ("cbec", "跨境电商"), ("credit", "信用与荣誉"), ("supplied", "企业填报"))


def _group(f: FactValue) -> str:
    if f.supplied:
        return "supplied"
    if f.source.key == "enterprise_registry":
        return "basic"
    return "cbec" if f.source.key.startswith("cbec_") else "credit"


def shown(f: FactValue) -> str:
    """A fact's value in words: amounts with thousands separators (and in 万元), 是/否, — unknown."""
    value = f.value
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "是" if value else "否"
    if f.type == "money" and isinstance(value, int):
        wan = f"（{value / 10_000:,.2f} 万元）" if abs(value) >= 10_000 else ""
        return f"{value:,} 元{wan}"
    if isinstance(value, int):
        return f"{value:,} {f.unit}".rstrip()
    return str(value)


def _context(facts: EnterpriseFacts, *, own: bool) -> dict[str, Any]:
    groups = [
        {"key": key, "title": title, "facts": [(f, shown(f)) for f in facts.facts if _group(f) == key]}
        for key, title in GROUPS
    ]
    return {"nav": "enterprise", "facts": facts, "groups": groups, "own": own, "notice": None}


def _sign_in(request: Request) -> Response:
    return RedirectResponse("/user/login?next=" + quote(request.url.path), status_code=303)


@router.get("/me/facts", response_class=HTMLResponse)
def my_facts(request: Request, session: DB, viewer: ViewerDep, home: Home) -> Response:
    """The signed-in organisation's own enterprise facts; a notice when there are none."""
    if not viewer.signed_in:
        return _sign_in(request)
    uscc = service.own_uscc(session, viewer.actor)
    if uscc is None:
        notice, status = "本机构没有登记统一社会信用代码，没有企业档案。", 404
    else:
        try:
            facts = service.get_facts(session, viewer.actor, uscc, home=home)
        except FactsNotBuilt:
            notice, status = "企业档案尚未生成，请稍后再来查看。", 404
        except EnterpriseNotFound:
            notice, status = f"企业档案中暂无本企业（{uscc}）：档案按市场主体登记信息生成。", 404
        else:
            return render(request, "enterprise/facts.html", _context(facts, own=True))
    context: dict[str, Any] = {"nav": "enterprise", "facts": None, "groups": [], "own": True, "notice": notice}
    return render(request, "enterprise/facts.html", context, status_code=status)


@router.get("/enterprises", response_class=HTMLResponse)
def lookup(request: Request, viewer: ViewerDep, uscc: str = "") -> Response:
    """Find an enterprise's facts by credit code (those who may read any enterprise's facts)."""
    if not viewer.signed_in:
        return _sign_in(request)
    if not viewer.actor.can(Permission.ENTERPRISE_FACTS_READ_ANY):
        return RedirectResponse("/me/facts", status_code=303)
    code = uscc.strip().upper()
    if code:
        return RedirectResponse(f"/enterprises/{quote(code)}", status_code=303)
    return render(request, "enterprise/lookup.html", {"nav": "enterprise"})


@router.get("/enterprises/{uscc}", response_class=HTMLResponse)
def enterprise_facts(request: Request, uscc: str, session: DB, viewer: ViewerDep, home: Home) -> Response:
    """One enterprise's facts: its own users and those who may read any; 404 for everyone else."""
    if not viewer.signed_in:
        return _sign_in(request)
    try:
        facts = service.get_facts(session, viewer.actor, uscc, home=home)
    except FactsNotBuilt as exc:
        raise NotFound("企业档案尚未生成", code=exc.code) from None
    own = service.own_uscc(session, viewer.actor) == facts.uscc
    return render(request, "enterprise/facts.html", _context(facts, own=own))
