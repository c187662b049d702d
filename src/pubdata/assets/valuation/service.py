"""Stored appraisal reports (数据资产评估报告, issue 13 §6; docs/appraisal.md).

An appraisal agency's user (``APPRAISAL_WRITE``, an organisation of kind ``appraisal_agency``)
opens a draft over a registered asset (its registration code, in force, registering the asset
itself), records the inputs of any of the three methods — each figure with its evidence, computed
at once by ``pubdata.assets.appraisal`` so an out-of-range input is refused whole, naming every
field, and nothing is stored — reconciles the computed methods into one concluded value (a weight
per method, or the one method adopted and why), states the accounting classification under
财会〔2023〕11号, and signs. A signed report is immutable (its ``content_hash`` is the SHA-256 of its
canonical content, checked on every read); a re-appraisal is a new report naming the one it
follows; the agency may withdraw a signed report with a reason.

Changing a method's input after reconciling clears the reconciliation (its value came from the
old results): the agency reconciles again before signing.

Comparables of the market method come from the platform's own settled transactions. The market
domain sits above this one (it settles into trusts), so the caller passes the lookup
(``market.transactions.get_transaction``): the API and the portal do.

Who reads: the agency's organisation (drafts included), the asset's holder organisation (signed and
withdrawn reports) and oversight (``APPRAISAL_READ_ANY``: the operator, the regulator); not found for
everyone else. Every write and every refused write is audited (the refusal kept although the
request rolls back)."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from fractions import Fraction
from typing import Any, Protocol

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pubdata.access.service import beijing_today
from pubdata.assets import appraisal as core
from pubdata.assets.registry import service as registry
from pubdata.assets.registry.errors import RegistrationNotFound
from pubdata.assets.valuation import compute
from pubdata.assets.valuation.errors import (
    AppraisalNotFound,
    AssetNotAppraisable,
    Incomplete,
    InvalidReport,
    NoQualityReport,
    NotAgency,
    UnknownTransaction,
    WrongState,
)
from pubdata.assets.valuation.models import AssetAppraisal, AssetAppraisalAppraiser
from pubdata.assets.valuation.schemas import (
    FORMULAS,
    HOLDING_PURPOSES,
    MAX_VALUE_FEN,
    METHODS,
    PURPOSES,
    STATES,
    AppraisalIn,
    AppraisalRead,
    AppraisalSummary,
    AppraiserRead,
    ClassificationRead,
    ClassifyIn,
    CostIn,
    IncomeIn,
    InputRead,
    MarketIn,
    MethodRead,
    QualityProposal,
    ReconcileIn,
    ReconciliationRead,
)
from pubdata.audit import service as audit
from pubdata.authz import SYSTEM, Actor, Permission, require
from pubdata.db import utcnow
from pubdata.errors import Forbidden, NotFound
from pubdata.identity import service as identity
from pubdata.store.quality import report as quality

AGENCY_KIND = "appraisal_agency"
APPRAISER_ROLE = "appraiser"
ASSET_KINDS = ("initial", "change", "correction", "transfer")  # a licence or a cancellation is not the asset
CODE_PATTERN = re.compile(r"^[A-Z]{2,4}-PG-\d{4}-\d{6}$")
# every action ``_event`` records, as ``appraisal.<action>`` (the audit viewer labels each)
ACTIONS = ("create", "update", "cost", "income", "market", "clear", "reconcile", "classify", "sign", "withdraw")


class SettledTransaction(Protocol):
    """What a comparable needs of a settled transaction (``market.transactions.SettledTransaction``)."""

    @property
    def reference(self) -> str: ...
    @property
    def product_id(self) -> int: ...
    @property
    def product_code(self) -> str: ...
    @property
    def product_title(self) -> str: ...
    @property
    def product_kind(self) -> str: ...
    @property
    def scenario(self) -> str: ...
    @property
    def amount_fen(self) -> int: ...
    @property
    def quantity(self) -> int: ...
    @property
    def settled_on(self) -> date: ...


TransactionLookup = Callable[[Session, str], SettledTransaction | None]


def _refusals_audited(action: str) -> Any:
    return audit.refusals_audited(action, "code")


# --- reading ------------------------------------------------------------------------------------


def _oversight(actor: Actor) -> bool:
    return actor.can(Permission.APPRAISAL_READ_ANY)


def _may_read(actor: Actor, a: AssetAppraisal) -> bool:
    if _oversight(actor):
        return True
    org = actor.organisation_id
    if org is None:
        return False
    return org == a.agency_org_id or (org == a.holder_org_id and a.state != "draft")


def _by_code(session: Session, code: str) -> AssetAppraisal | None:
    text = code.strip().upper() if isinstance(code, str) else ""
    if not CODE_PATTERN.match(text):
        return None
    return session.scalar(select(AssetAppraisal).where(AssetAppraisal.code == text))


def _visible(session: Session, actor: Actor, code: str) -> AssetAppraisal:
    a = _by_code(session, code)
    if a is None or not _may_read(actor, a):
        raise AppraisalNotFound(f"评估报告不存在：{code}")
    return a


def _appraisers(session: Session, ids: list[int]) -> dict[int, list[AssetAppraisalAppraiser]]:
    out: dict[int, list[AssetAppraisalAppraiser]] = {i: [] for i in ids}
    if ids:
        rows = session.scalars(
            select(AssetAppraisalAppraiser)
            .where(AssetAppraisalAppraiser.appraisal_id.in_(ids))
            .order_by(AssetAppraisalAppraiser.appraisal_id, AssetAppraisalAppraiser.position)
        )
        for row in rows:
            out[row.appraisal_id].append(row)
    return out


def _asset_titles(session: Session, codes: set[str]) -> dict[str, str]:
    out = {}
    for code in codes:
        try:
            out[code] = registry.certificate(session, SYSTEM, code).title
        except RegistrationNotFound:
            out[code] = code
    return out


def _summaries(session: Session, actor: Actor, rows: list[AssetAppraisal]) -> list[AppraisalSummary]:
    orgs = identity.organisation_names_by_id(
        session, SYSTEM, sorted({a.agency_org_id for a in rows} | {a.holder_org_id for a in rows})
    )
    titles = _asset_titles(session, {a.registration_code for a in rows})
    return [
        AppraisalSummary(
            code=a.code,
            title=a.title,
            registration_code=a.registration_code,
            asset_title=titles.get(a.registration_code, a.registration_code),
            agency_org_id=a.agency_org_id,
            agency=orgs.get(a.agency_org_id, str(a.agency_org_id)),
            holder_org_id=a.holder_org_id,
            holder=orgs.get(a.holder_org_id, str(a.holder_org_id)),
            purpose=a.purpose,
            purpose_label=PURPOSES[a.purpose],
            valuation_date=a.valuation_date,
            state=a.state,
            state_label=STATES[a.state],
            concluded_value_fen=a.concluded_value_fen,
            classification_category=a.classification_category,
            signed_at=a.signed_at,
        )  # fmt: skip
        for a in rows
    ]


def _inputs(raw: list[dict[str, Any]]) -> list[InputRead]:
    return [InputRead(**i) for i in raw]


def _read(session: Session, actor: Actor, a: AssetAppraisal) -> AppraisalRead:
    summary = _summaries(session, actor, [a])[0]
    people = _appraisers(session, [a.id])[a.id]
    methods = [
        MethodRead(
            method=m,
            title=r["title"],
            formula=FORMULAS[m],
            value_fen=r["value_fen"],
            exact_value_fen=r["exact_value_fen"],
            inputs=_inputs(r["inputs"]),
            trace=r["trace"],
            warnings=r["warnings"],
            facts=r["facts"],
        )  # fmt: skip
        for m in compute.METHOD_ORDER
        if (r := (a.results or {}).get(m)) is not None
    ]
    rec = None
    if a.reconciliation is not None:
        res = a.reconciliation["result"]
        chosen = a.reconciliation.get("conclusion_method")
        rec = ReconciliationRead(
            value_fen=res["value_fen"], weights=res["weights"], conclusion_method=chosen,
            conclusion_method_label=METHODS.get(chosen) if chosen else None, reason=a.reconciliation.get("reason"),
            spread_ratio=res["spread_display"], spread_note=res["spread_note"], inputs=_inputs(res["inputs"]),
            trace=res["trace"],
        )  # fmt: skip
    cls = None
    if a.classification_category is not None and a.holding_purpose is not None:
        cls = ClassificationRead(
            holding_purpose=a.holding_purpose, holding_purpose_label=HOLDING_PURPOSES[a.holding_purpose],
            expected_benefits_probable=bool(a.expected_benefits_probable),
            cost_reliably_measurable=bool(a.cost_reliably_measurable), controlled=bool(a.controlled),
            category=a.classification_category, standard=a.classification_standard or "",
            reason=a.classification_reason,
        )  # fmt: skip
    previous = session.get(AssetAppraisal, a.previous_id) if a.previous_id is not None else None
    signer = next((p.name for p in people if p.user_id == a.signed_by), None)
    intact = None if a.state == "draft" else _content_hash(a, people) == a.content_hash
    can_edit = actor.can(Permission.APPRAISAL_WRITE) and actor.organisation_id == a.agency_org_id
    return AppraisalRead(
        **summary.model_dump(), id=a.id, version=a.version, purpose_note=a.purpose_note,
        previous_code=previous.code if previous is not None else None,
        appraisers=[AppraiserRead(user_id=p.user_id, username=p.username, name=p.name) for p in people],
        cost_input=a.cost_input,
        income_input=a.income_input, market_input=a.market_input, methods=methods, reconciliation=rec,
        classification=cls, content_hash=a.content_hash, content_intact=intact, created_by=a.created_by,
        created_at=a.created_at, updated_at=a.updated_at, signed_by=a.signed_by, signed_by_name=signer,
        withdrawn_at=a.withdrawn_at, withdraw_reason=a.withdraw_reason, can_edit=can_edit and a.state != "withdrawn",
    )  # fmt: skip


def get_appraisal(session: Session, actor: Actor, code: str) -> AppraisalRead:
    """A report with every input, its evidence, each method's trace, the reconciliation and the
    classification: for its agency, the asset's holder (once signed) and oversight; not found for
    everyone else. ``content_intact`` says whether a signed report still hashes to its seal."""
    return _read(session, actor, _visible(session, actor, code))


def list_appraisals(
    session: Session, actor: Actor, *, state: str | None = None, registration_code: str | None = None
) -> list[AppraisalSummary]:
    """The reports the actor may read (every report for oversight), newest first, optionally in one
    state or over one registered asset."""
    stmt = select(AssetAppraisal)
    if not _oversight(actor):
        org = actor.organisation_id
        if org is None:
            return []
        stmt = stmt.where(
            (AssetAppraisal.agency_org_id == org)
            | ((AssetAppraisal.holder_org_id == org) & (AssetAppraisal.state != "draft"))
        )
    if state is not None:
        stmt = stmt.where(AssetAppraisal.state == state)
    if registration_code:
        stmt = stmt.where(AssetAppraisal.registration_code == registration_code.strip().upper())
    rows = list(session.scalars(stmt.order_by(AssetAppraisal.id.desc()).limit(1000)))
    return _summaries(session, actor, rows)


# --- the seal -----------------------------------------------------------------------------------


def _content(a: AssetAppraisal, people: list[AssetAppraisalAppraiser]) -> dict[str, Any]:
    """What the signature covers: everything the report states."""
    return {
        "code": a.code, "registration_code": a.registration_code, "agency_org_id": a.agency_org_id,
        "holder_org_id": a.holder_org_id, "previous_id": a.previous_id, "title": a.title, "purpose": a.purpose,
        "purpose_note": a.purpose_note, "valuation_date": a.valuation_date.isoformat(),
        "appraisers": [[p.user_id, p.username, p.name] for p in people], "cost_input": a.cost_input,
        "income_input": a.income_input, "market_input": a.market_input, "results": a.results,
        "reconciliation": a.reconciliation, "concluded_value_fen": a.concluded_value_fen,
        "holding_purpose": a.holding_purpose, "expected_benefits_probable": a.expected_benefits_probable,
        "cost_reliably_measurable": a.cost_reliably_measurable, "controlled": a.controlled,
        "classification_category": a.classification_category,
        "classification_standard": a.classification_standard, "classification_reason": a.classification_reason,
        "signed_by": a.signed_by,
    }  # fmt: skip


def _content_hash(a: AssetAppraisal, people: list[AssetAppraisalAppraiser]) -> str:
    text = json.dumps(_content(a, people), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# --- writing ------------------------------------------------------------------------------------


def _event(action: str, a: AssetAppraisal, **details: Any) -> audit.Event:
    return audit.Event(
        f"appraisal.{action}",
        publisher_org_id=a.holder_org_id,
        details={"code": a.code, "registration_code": a.registration_code, "version": a.version, **details},
    )


def _require_agency(actor: Actor) -> int:
    require(actor, Permission.APPRAISAL_WRITE)
    if actor.organisation_id is None or actor.organisation_kind != AGENCY_KIND:
        raise NotAgency("只有评估机构的评估人员可以出具评估报告")
    return actor.organisation_id


def _own(session: Session, actor: Actor, code: str, *, state: str = "draft") -> AssetAppraisal:
    require(actor, Permission.APPRAISAL_WRITE)  # 401/403 before anything is looked up
    a = _visible(session, actor, code)
    if actor.organisation_id != a.agency_org_id:
        raise NotAgency("只有出具该报告的评估机构可以修改、签署或撤回它")
    if a.state != state:
        raise WrongState(
            f"评估报告当前为“{STATES[a.state]}”，"
            + (
                "已签署的报告不能修改；如需重新评估，请另行出具新的评估报告"
                if state == "draft"
                else "只有已签署的报告可以撤回"
            )
        )
    return a


def _p(field: str, message: str) -> dict[str, str]:
    return {"field": field, "message": message}


def _raise(problems: list[dict[str, str]], kind: type[InvalidReport] = InvalidReport) -> None:
    if problems:
        raise kind("；".join(p["message"] for p in problems), details=problems)


def _asset(session: Session, actor: Actor, code: str) -> tuple[str, int, str]:
    """The registration in force of the asset itself: (code, holder organisation, resource id)."""
    text = code.strip().upper() if isinstance(code, str) else ""
    try:
        cert = registry.certificate(session, actor, text)
    except RegistrationNotFound:
        raise AssetNotAppraisable(f"登记编号不存在：{code}", field="registration_code") from None
    if cert.kind not in ASSET_KINDS:
        raise AssetNotAppraisable(
            f"{cert.code} 是{cert.kind_label}，不是数据资产本身的登记，不能作为评估对象", field="registration_code"
        )
    if cert.status != "valid":
        raise AssetNotAppraisable(
            f"{cert.code} 的登记已失效（{cert.status_label}），不能作为评估对象", field="registration_code"
        )
    link = next(c for c in cert.chain if c.code == cert.code)
    reg = registry.get_registration(session, SYSTEM, link.id)
    return cert.code, reg.holder_org_id, reg.resource_id


def _check_header(
    session: Session, actor: Actor, agency: int, data: AppraisalIn, registration_code: str, own_id: int | None
) -> tuple[list[tuple[int, str, str]], int | None]:
    """The appraisers (user id, name) and the previous report's id, every problem named at once."""
    problems: list[dict[str, str]] = []
    if not data.title.strip():
        problems.append(_p("title", "评估报告名称不能为空"))
    today = beijing_today()
    if data.valuation_date > today:
        problems.append(_p("valuation_date", f"评估基准日不能晚于今天（{today}）：{data.valuation_date}"))
    people: list[tuple[int, str, str]] = []
    names = [n.strip() for n in data.appraisers] or [identity.current_user(session, actor).username]
    for n, username in enumerate(names, 1):
        try:
            user = identity.get_user(session, username)
        except NotFound:
            user = None
        if user is None or user.organisation_id != agency or not user.is_active:
            problems.append(
                {"field": f"appraisers[{n}]", "message": f"第 {n} 位评估人员 {username!r} 不是本评估机构的在职人员"}
            )
        elif APPRAISER_ROLE not in user.role_list:
            problems.append(
                {
                    "field": f"appraisers[{n}]",
                    "message": f"第 {n} 位人员 {user.display_name} 不具有评估人员（appraiser）角色",
                }
            )
        elif any(uid == user.id for uid, _, _ in people):
            problems.append({"field": f"appraisers[{n}]", "message": f"评估人员重复：{user.display_name}"})
        else:
            people.append((user.id, user.username, user.display_name or user.username))
    previous_id = None
    if data.previous_code:
        prev = _by_code(session, data.previous_code)
        if prev is None or prev.agency_org_id != agency or prev.id == own_id:
            problems.append(_p("previous_code", f"被重新评估的报告不存在或不是本机构出具：{data.previous_code}"))
        elif prev.registration_code != registration_code:
            problems.append(
                {
                    "field": "previous_code",
                    "message": f"被重新评估的报告 {prev.code} 评估的是另一项资产（{prev.registration_code}）",
                }
            )
        elif prev.state == "draft":
            problems.append(_p("previous_code", f"被重新评估的报告 {prev.code} 尚未签署"))
        else:
            previous_id = prev.id
    _raise(problems)
    return people, previous_id


def _set_appraisers(session: Session, a: AssetAppraisal, people: list[tuple[int, str, str]]) -> None:
    for old in _appraisers(session, [a.id])[a.id]:
        session.delete(old)
    session.flush()
    for n, (uid, username, name) in enumerate(people):
        session.add(
            AssetAppraisalAppraiser(appraisal_id=a.id, user_id=uid, username=username, name=name[:100], position=n)
        )
    session.flush()


def _next_code(session: Session, year: int) -> str:
    prefix = f"{registry.city_prefix()}-PG-{year}-"
    last = session.scalar(select(func.max(AssetAppraisal.code)).where(AssetAppraisal.code.like(f"{prefix}%")))
    return f"{prefix}{(int(last[-6:]) if last else 0) + 1:06d}"


@_refusals_audited("appraisal.create")
def _create(session: Session, actor: Actor, registration_code: str, data: AppraisalIn) -> AssetAppraisal:
    agency = _require_agency(actor)
    code, holder, _ = _asset(session, actor, registration_code)
    people, previous_id = _check_header(session, actor, agency, data, code, None)
    a = AssetAppraisal(
        code=_next_code(session, beijing_today().year), registration_code=code, agency_org_id=agency,
        holder_org_id=holder, previous_id=previous_id, title=data.title.strip(), purpose=data.purpose,
        purpose_note=data.purpose_note.strip(), valuation_date=data.valuation_date, state="draft", version=1,
        results={}, created_by=actor.user_id,
    )  # fmt: skip
    session.add(a)
    session.flush()
    _set_appraisers(session, a, people)
    audit.record(session, actor, _event("create", a, appraisers=[uid for uid, _, _ in people]))
    return a


def create_appraisal(session: Session, actor: Actor, data: AppraisalIn) -> AppraisalRead:
    """A draft report of the caller's agency over a registered asset. Refused, nothing written: a
    caller who is not an appraisal agency's (``NotAgency``); a registration code unknown, no longer
    in force or not of the asset itself (``AssetNotAppraisable``); an empty title, a valuation date
    after today, an appraiser who is not the agency's with the appraiser role, a previous report that
    is not the agency's signed report over the same asset (``InvalidReport``)."""
    return _read(session, actor, _create(session, actor, data.registration_code, data))


def _touch(a: AssetAppraisal) -> None:
    a.version += 1
    a.updated_at = utcnow()


@_refusals_audited("appraisal.update")
def _update(session: Session, actor: Actor, code: str, data: AppraisalIn) -> AssetAppraisal:
    a = _own(session, actor, code)
    if data.registration_code.strip().upper() != a.registration_code:
        raise InvalidReport("评估对象（登记编号）不能修改：请另行出具评估报告", field="registration_code")
    people, previous_id = _check_header(session, actor, a.agency_org_id, data, a.registration_code, a.id)
    if a.market_input is not None:
        _check_dates(a.market_input, data.valuation_date)
    a.title, a.purpose, a.purpose_note = data.title.strip(), data.purpose, data.purpose_note.strip()
    a.valuation_date, a.previous_id = data.valuation_date, previous_id
    _set_appraisers(session, a, people)
    _touch(a)
    session.flush()
    audit.record(session, actor, _event("update", a))
    return a


def update_appraisal(session: Session, actor: Actor, code: str, data: AppraisalIn) -> AppraisalRead:
    """Replace a draft's header (the asset never changes); the version goes up."""
    return _read(session, actor, _update(session, actor, code, data))


def _check_magnitude(value_fen: int, what: str, field: str) -> None:
    if abs(value_fen) > MAX_VALUE_FEN:
        raise InvalidReport(
            f"{what} {core.fen_text(value_fen)} 超出合理范围（至多 {core.fen_text(MAX_VALUE_FEN)}）", field=field
        )


def _store(session: Session, actor: Actor, a: AssetAppraisal, method: str, raw: dict[str, Any] | None) -> None:
    """Compute the method from ``raw`` (refused whole when out of range: nothing changes) and store
    the input and its result; the reconciliation, computed from the old results, is cleared."""
    results = dict(a.results or {})
    if raw is None:
        results.pop(method, None)
    else:
        result, attachments = compute.compute(method, raw)
        _check_magnitude(result.value_fen, f"{METHODS[method]}的结果", method)
        results[method] = compute.result_json(result, attachments)
    setattr(a, f"{method}_input", raw)
    a.results = results
    a.reconciliation, a.concluded_value_fen = None, None
    _touch(a)
    session.flush()
    value = results[method]["value_fen"] if raw is not None else None
    audit.record(session, actor, _event(method if raw is not None else "clear", a, method=method, value_fen=value))


def _dump(model: Any) -> dict[str, Any]:
    return model.model_dump(mode="json", exclude_none=True)  # type: ignore[no-any-return]


# --- the cost method: δ from the quality report --------------------------------------------------


def _quality_dimensions(session: Session, actor: Actor, resource_id: str) -> tuple[dict[str, Any], QualityProposal]:
    try:
        tq = quality.table_quality(session, actor, resource_id)
    except (NotFound, Forbidden):
        tq = None
    report = tq.report if tq is not None else None
    if tq is None or not report:
        raise NoQualityReport(
            "该资产的数据表没有可读取的质量评价报告，不能由质量评价得出价值调整系数 δ：请直接给定或按剩余经济寿命计算",
            field="cost.adjustment",
        )
    scored = [(k, d) for k, d in report.get("dimensions", {}).items() if d.get("score") is not None and d.get("weight")]
    if not scored:
        raise NoQualityReport("质量评价报告中没有已评分的维度", field="cost.adjustment")
    total = sum(int(d["weight"]) for _, d in scored)
    weights = [Fraction(int(d["weight"]), total) for _, d in scored]
    # a weight whose share of the total is not a terminating decimal is rounded to 4 places and the
    # last dimension takes the rest, so the weights sum to exactly one (said in the evidence)
    exact_shares = [Decimal(w.numerator) / Decimal(w.denominator) for w in weights]
    shown = [d.quantize(Decimal("0.0001")) for d in exact_shares]
    shown[-1] = Decimal(1) - sum(shown[:-1], Decimal(0))
    rounded = any(Fraction(d) != w for d, w in zip(shown, weights, strict=True))
    note = "（按已评分维度重新归一，四舍五入到 4 位，尾差计入最后一个维度）" if rounded else ""
    ref = f"{tq.name} 第 {tq.current_version} 版质量评价报告（测量于 {report.get('measured_at', '')}）"
    words = {d["name"]: d["text"] for d in tq.dimensions}
    dims: list[dict[str, Any]] = []
    for (key, d), w in zip(scored, shown, strict=True):
        score = (Decimal(str(d["score"])) / 100).normalize()
        label = str(d.get("label") or key)
        said = words.get(key, "")
        score_evidence = f"{ref}：{label}得分 {d['score']} 分（满分 100）" + (f"；{said}" if said else "")
        weight_evidence = f"{ref}：{label}的权重 {d['weight']} / 已评分维度权重合计 {total}{note}"
        dims.append(
            {
                "name": label,
                "score": {"value": format(score, "f"), "evidence": score_evidence},
                "weight": {"value": format(w, "f"), "evidence": weight_evidence},
            }
        )
    delta = sum((Fraction(x["weight"]["value"]) * Fraction(x["score"]["value"]) for x in dims), Fraction(0))
    proposal = QualityProposal(
        resource_id=resource_id, version=tq.current_version, measured_at=report.get("measured_at"),
        dimensions=[{"name": x["name"], "score": x["score"]["value"], "weight": x["weight"]["value"],
                     "evidence": x["score"]["evidence"]} for x in dims],
        delta=compute.decimal_text(delta), report_ref=ref,
    )  # fmt: skip
    adjustment = {"kind": "quality", "dimensions": dims, "report_ref": ref, "derived_from": "quality_report"}
    return adjustment, proposal


def quality_proposal(session: Session, actor: Actor, code: str) -> QualityProposal:
    """The asset's current quality report as δ would use it (the agency's preview)."""
    a = _own(session, actor, code)
    _, _, resource_id = _asset(session, actor, a.registration_code)
    return _quality_dimensions(session, actor, resource_id)[1]


@_refusals_audited("appraisal.cost")
def _cost(session: Session, actor: Actor, code: str, data: CostIn) -> AssetAppraisal:
    a = _own(session, actor, code)
    raw = _dump(data)
    if data.adjustment.kind == "quality_report":
        _, _, resource_id = _asset(session, actor, a.registration_code)
        raw["adjustment"] = _quality_dimensions(session, actor, resource_id)[0]
    _store(session, actor, a, "cost", raw)
    return a


def record_cost(session: Session, actor: Actor, code: str, data: CostIn) -> AppraisalRead:
    """成本法 P = C × δ. δ is given, weighted from quality dimensions, derived from the asset's
    measured quality report (``{"kind": "quality_report"}``: its scores and weights are stored as
    the evidence) or from the remaining economic life. Out of range (δ ≤ 0 or > 1.5, a negative
    component, C = 0, a score outside [0, 1], weights not summing to one, remaining life ≤ 0, a
    figure without evidence): ``InvalidAppraisal`` naming every field, nothing stored."""
    return _read(session, actor, _cost(session, actor, code, data))


@_refusals_audited("appraisal.income")
def _income(session: Session, actor: Actor, code: str, data: IncomeIn) -> AssetAppraisal:
    a = _own(session, actor, code)
    _store(session, actor, a, "income", _dump(data))
    return a


def record_income(session: Session, actor: Actor, code: str, data: IncomeIn) -> AppraisalRead:
    """收益法 P = Σ Fₜ / (1 + i)ᵗ. Refused, nothing stored: i ≤ 0, n ≤ 0 or not whole, n longer than
    the shortest limit, K outside (0, 1], a list of years of another length than n, a result ≤ 0."""
    return _read(session, actor, _income(session, actor, code, data))


# --- the market method: comparables from settled transactions ------------------------------------


def _transaction_evidence(t: SettledTransaction) -> str:
    return (
        f"本平台已结算交易 {t.reference}：数据产品 {t.product_code}「{t.product_title}」（{t.product_kind}，"
        f"场景 {t.scenario}），成交金额 {core.fen_text(t.amount_fen)}，数量 {t.quantity}，结算日 {t.settled_on}"
    )


def _check_dates(raw: dict[str, Any], valuation_date: date) -> None:
    problems = [
        {
            "field": f"market.comparables[{j}].transaction_ref",
            "message": f"可比交易 {c['transaction_ref']} 结算于 {c['transaction']['settled_on']}，"
            f"晚于评估基准日 {valuation_date}",
        }
        for j, c in enumerate(raw["comparables"])
        if date.fromisoformat(c["transaction"]["settled_on"]) > valuation_date
    ]  # fmt: skip
    _raise(problems, UnknownTransaction)


@_refusals_audited("appraisal.market")
def _market(
    session: Session, actor: Actor, code: str, data: MarketIn, transactions: TransactionLookup
) -> AssetAppraisal:
    a = _own(session, actor, code)
    problems: list[dict[str, str]] = []
    comps: list[dict[str, Any]] = []
    seen: set[str] = set()
    for j, c in enumerate(data.comparables):
        field = f"market.comparables[{j}].transaction_ref"
        ref = c.transaction_ref.strip()
        if ref in seen:
            problems.append(_p(field, f"可比交易重复：{ref}"))
            continue
        seen.add(ref)
        t = transactions(session, ref)
        if t is None:
            problems.append(_p(field, f"第 {j + 1} 个可比案例的交易编号 {ref} 不是本平台已结算的交易"))
            continue
        if t.settled_on > a.valuation_date:
            problems.append(_p(field, f"可比交易 {ref} 结算于 {t.settled_on}，晚于评估基准日 {a.valuation_date}"))
            continue
        item = _dump(c)
        item["name"] = (c.name or "").strip() or f"{t.product_title}（{t.reference}）"
        item["transaction_ref"] = t.reference
        item["price"] = {"value": t.amount_fen, "evidence": _transaction_evidence(t)}
        item["transaction"] = {
            "reference": t.reference, "product_id": t.product_id, "product_code": t.product_code,
            "product_title": t.product_title, "product_kind": t.product_kind, "scenario": t.scenario,
            "amount_fen": t.amount_fen, "quantity": t.quantity, "settled_on": t.settled_on.isoformat(),
        }  # fmt: skip
        comps.append(item)
    _raise(problems, UnknownTransaction)
    raw: dict[str, Any] = {"comparables": comps}
    if data.weights is not None:
        raw["weights"] = [_dump(w) for w in data.weights]
    _store(session, actor, a, "market", raw)
    return a


def record_market(
    session: Session, actor: Actor, code: str, data: MarketIn, *, transactions: TransactionLookup
) -> AppraisalRead:
    """市场法 Pᵢ = Qᵢ × X1…X5 over comparables that are the platform's settled transactions: each
    names its transaction ``reference`` (looked up through ``transactions``); its amount is Qᵢ and its
    facts are stored as Qᵢ's evidence. Refused, nothing stored: an unknown reference, one settled
    after the valuation date, a reference twice (``UnknownTransaction``); a factor ≤ 0, weights not
    summing to one (``InvalidAppraisal``)."""
    return _read(session, actor, _market(session, actor, code, data, transactions))


@_refusals_audited("appraisal.clear")
def _clear(session: Session, actor: Actor, code: str, method: str) -> AssetAppraisal:
    a = _own(session, actor, code)
    if method not in METHODS:
        raise InvalidReport(f"评估方法必须是 cost、income 或 market 之一：{method!r}", field="method")
    _store(session, actor, a, method, None)
    return a


def clear_method(session: Session, actor: Actor, code: str, method: str) -> AppraisalRead:
    """Remove a method's input and result from a draft (the reconciliation is cleared)."""
    return _read(session, actor, _clear(session, actor, code, method))


# --- conclusion, classification, signature -------------------------------------------------------


def _results(a: AssetAppraisal) -> list[core.MethodResult]:
    """The methods' results recomputed from their stored inputs (the same figures the report shows)."""
    out = []
    for m in compute.METHOD_ORDER:
        raw = getattr(a, f"{m}_input")
        if raw is not None:
            out.append(compute.compute(m, raw)[0])
    return out


@_refusals_audited("appraisal.reconcile")
def _reconcile(session: Session, actor: Actor, code: str, data: ReconcileIn) -> AssetAppraisal:
    a = _own(session, actor, code)
    results = _results(a)
    if not results:
        raise Incomplete("还没有任何评估方法的结果：请先录入成本法、收益法或市场法的参数")
    weights = None
    attachments: dict[str, str] = {}
    if data.weights is not None:
        computed = [r.method for r in results]
        extra = [METHODS[m] for m in data.weights if m not in computed]
        missing = [METHODS[m] for m in computed if m not in data.weights]
        problems = []
        if extra:
            problems.append(
                {"field": "reconcile.weights", "message": "给出了未计算的评估方法的权重：" + "、".join(extra)}
            )
        if missing:
            problems.append(
                {"field": "reconcile.weights", "message": "缺少已计算的评估方法的权重：" + "、".join(missing)}
            )
        _raise(problems)
        weights = []
        for j, m in enumerate(computed):
            w = data.weights[m]  # type: ignore[index]
            if w.attachment:
                attachments[f"reconcile.weights[{j}]"] = w.attachment
            weights.append(core.Figure(w.value, w.evidence))
    rec = core.reconcile(results, weights, conclusion_method=data.conclusion_method, reason=data.reason)
    _check_magnitude(rec.value_fen, "评估结论", "reconcile")
    a.reconciliation = {
        "weights": {m: _dump(w) for m, w in data.weights.items()} if data.weights is not None else None,
        "conclusion_method": data.conclusion_method, "reason": (data.reason or "").strip() or None,
        "result": compute.reconciliation_json(rec, attachments),
    }  # fmt: skip
    a.concluded_value_fen = rec.value_fen
    _touch(a)
    session.flush()
    audit.record(session, actor, _event("reconcile", a, value_fen=rec.value_fen, method=data.conclusion_method))
    return a


def reconcile(session: Session, actor: Actor, code: str, data: ReconcileIn) -> AppraisalRead:
    """The concluded value from the computed methods: a weight per computed method (each in [0, 1],
    summing to exactly one, its evidence the reason) or the one method adopted with the reason.
    Refused: no method computed (``Incomplete``); a weight for a method not computed or none for one
    that is, both or neither of weights and a method, no reason (``InvalidReport``/``InvalidAppraisal``)."""
    return _read(session, actor, _reconcile(session, actor, code, data))


@_refusals_audited("appraisal.classify")
def _classify(session: Session, actor: Actor, code: str, data: ClassifyIn) -> AssetAppraisal:
    a = _own(session, actor, code)
    c = core.classify(
        data.holding_purpose, data.expected_benefits_probable, data.cost_reliably_measurable, data.controlled
    )
    a.holding_purpose = data.holding_purpose
    a.expected_benefits_probable = data.expected_benefits_probable
    a.cost_reliably_measurable = data.cost_reliably_measurable
    a.controlled = data.controlled
    a.classification_category, a.classification_standard, a.classification_reason = c.category, c.standard, c.reason
    _touch(a)
    session.flush()
    audit.record(session, actor, _event("classify", a, category=c.category))
    return a


def classify(session: Session, actor: Actor, code: str, data: ClassifyIn) -> AppraisalRead:
    """How the asset would be presented under 财会〔2023〕11号 (无形资产, 存货 or not recognised),
    with the rule applied."""
    return _read(session, actor, _classify(session, actor, code, data))


@_refusals_audited("appraisal.sign")
def _sign(session: Session, actor: Actor, code: str) -> AssetAppraisal:
    a = _own(session, actor, code)
    people = _appraisers(session, [a.id])[a.id]
    missing = []
    if not a.results:
        missing.append("评估方法的结果")
    if a.reconciliation is None or a.concluded_value_fen is None:
        missing.append("评估结论（各方法的权重或采用的方法）")
    if a.classification_category is None:
        missing.append("会计处理分类（财会〔2023〕11号）")
    if missing:
        raise Incomplete("评估报告尚不完整，不能签署：缺少" + "、".join(missing))
    if actor.user_id not in {p.user_id for p in people}:
        raise NotAgency("只有报告上署名的评估人员可以签署该报告")
    _asset(session, actor, a.registration_code)  # still in force
    a.signed_by, a.signed_at = actor.user_id, utcnow()
    a.state = "signed"
    a.updated_at = utcnow()
    a.content_hash = _content_hash(a, people)
    session.flush()
    audit.record(session, actor, _event("sign", a, value_fen=a.concluded_value_fen, content_hash=a.content_hash))
    return a


def sign(session: Session, actor: Actor, code: str) -> AppraisalRead:
    """An appraiser named on the draft signs it: the report is sealed (``content_hash``) and never
    changes again. Refused: a report with no method result, no reconciliation or no classification
    (``Incomplete``); a signer not named on it (``NotAgency``); an asset no longer in force."""
    return _read(session, actor, _sign(session, actor, code))


@_refusals_audited("appraisal.withdraw")
def _withdraw(session: Session, actor: Actor, code: str, reason: str) -> AssetAppraisal:
    a = _own(session, actor, code, state="signed")
    text = reason.strip() if isinstance(reason, str) else ""
    if not text or len(text) > 2000:
        raise InvalidReport("撤回评估报告须写明理由（至多 2000 字）", field="reason")
    a.state, a.withdrawn_by, a.withdrawn_at, a.withdraw_reason = "withdrawn", actor.user_id, utcnow(), text
    a.updated_at = utcnow()
    session.flush()
    event = _event("withdraw", a)
    event.reason = text
    audit.record(session, actor, event)
    return a


def withdraw(session: Session, actor: Actor, code: str, reason: str) -> AppraisalRead:
    """The agency withdraws a signed report with a reason; its content (and seal) stay as signed."""
    return _read(session, actor, _withdraw(session, actor, code, reason))
