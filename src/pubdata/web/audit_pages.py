"""The audit trail viewer: the records ``audit.search`` lets the viewer see (the regulator all, a
publishing department every use of its data, anyone else its organisation's actions), filtered and
paged; for the regulator the chain's verification and the export links."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from pubdata.api.deps import DB
from pubdata.audit import service as audit
from pubdata.authz import Permission
from pubdata.errors import Invalid
from pubdata.web.access_forms import NO_STORE, Names, form_error, login_redirect, optional_date
from pubdata.web.deps import ViewerDep
from pubdata.web.templating import SHANGHAI, render

router = APIRouter(include_in_schema=False)

# Every action the code records, with the label the viewer shows and the filter lists. A new
# ``audit.Event`` action needs a line here: tests/web/test_chinese_labels.py scans the source for them.
AUDIT_ACTIONS = {
    "rows.read": "读取数据行",
    "sql.read": "SQL 查询",
    "sql.query": "SQL 语句检查",
    "download.csv": "下载 CSV",
    "download.parquet": "下载 Parquet",
    "download.jsonl": "下载 JSON Lines",
    "sandbox.query": "沙箱聚合查询",
    "datastore.info": "查看数据表信息",
    "rejects.read": "下载拒收明细",
    "access.request": "提交申请",
    "access.review": "审核申请",
    "access.approve": "审核同意",
    "access.narrow": "审核同意（收窄）",
    "access.reject": "审核驳回",
    "access.withdraw": "撤回申请",
    "access.revoke": "撤销授权",
    "zone.apply": "申请加入专区",
    "zone.admit": "专区准入",
    "zone.reject": "专区驳回",
    "zone.add_entry": "专区目录加入数据",
    "facts.build": "生成企业事实",
    "facts.read": "查看企业事实",
    "facts.supply": "企业填报事实",
    "facts.supplied_read": "查看企业填报的事实",
    "facts.source_read": "读取事实来源数据",
    "policy.match": "政策匹配",
    "policy.matches_read": "查看政策匹配结果",
    "policy.apply": "发起政策申报",
    "policy.create": "创建申报",
    "policy.update": "修改申报信息",
    "policy.material": "上传申报材料",
    "policy.material_read": "查看申报材料",
    "policy.submit": "提交申报",
    "policy.resubmit": "重新提交申报",
    "policy.withdraw": "撤回申报",
    "policy.approve": "核准申报",
    "policy.reject": "驳回申报",
    "policy.return": "退回补充材料",
    "policy.disburse": "拨付资金",
    "policy.reviewer_set": "设置审核部门",
    "consent.grant": "授权银行查询信用报告",
    "consent.revoke": "撤销信用报告授权",
    "credit.report_read": "查询信用报告（授权）",
    "credit.score": "信用评分",
    "credit.read": "查看信用评分",
    "credit.fit": "拟合评分卡",
    "loan.product_create": "创建贷款产品",
    "loan.product_update": "修改贷款产品",
    "loan.product_published": "发布贷款产品",
    "loan.product_withdrawn": "下架贷款产品",
    "loan.apply": "申请贷款",
    "loan.step": "办理贷款申请",
    "loan.received": "贷款申请已受理",
    "loan.reviewing": "贷款申请审查",
    "loan.approved": "批准贷款",
    "loan.declined": "拒绝贷款",
    "loan.disbursed": "放款",
    "loan.repaid": "贷款结清",
    "loan.defaulted": "贷款违约",
    "loan.withdrawn": "撤回贷款申请",
    "ledger.account_open": "开设账户",
    "ledger.post": "记账",
    "ledger.reverse": "冲销记账",
    "market.product_create": "创建数据产品",
    "market.product_update": "修改数据产品",
    "market.plan_add": "添加价格计划",
    "market.plan_update": "修改价格计划",
    "market.plan_deactivate": "停用价格计划",
    "market.product_submit": "提交上架审核",
    "market.product_review": "审核数据产品",
    "market.product_list": "上架数据产品",
    "market.product_suspend": "暂停数据产品",
    "market.product_resume": "恢复数据产品",
    "market.product_delist": "下架数据产品",
    # orders, payments, settlement and verification (market.orders / settlement / verification ACTIONS)
    "market.order_place": "订购数据产品",
    "market.order_review": "审核订单用途",
    "market.order_cancel": "取消订单",
    "market.payment_submit": "提交付款凭证",
    "market.payment_decide": "确认或退回付款",
    "market.refund": "退款",
    "market.entitlement_start": "开通数据产品授权",
    "market.entitlement_end": "终止数据产品授权",
    "market.settle": "月度结算",
    # the platform's background jobs (pubdata.jobs.service)
    "jobs.requeue": "后台任务重新排队",
    "jobs.enqueue": "提交后台任务",
    "market.verify": "核验服务查询",
    # report products' files (market.reports ACTIONS)
    "market.report_upload": "上传数据报告文件",
    "market.report_remove": "删除数据报告文件",
    "market.report_download": "下载数据报告",
    "access.market_grant": "数据产品订购授权",
    "registry.apply": "申请数据登记",
    "registry.resubmit": "补正后重新提交登记",
    "registry.accept": "受理数据登记",
    "registry.reject": "不予受理数据登记",
    "registry.return": "退回补正",
    "registry.formal_review": "形式审核通过并公示",
    "registry.object": "提出登记异议",
    "registry.resolve": "处理登记异议",
    "registry.objection_upheld": "异议成立，不予登记",
    "registry.register": "数据登记赋码",
    "registry.supersede": "登记已变更",
    "registry.cancel": "注销数据登记",
    "registry.verify": "核验登记证书",
    "registry.fingerprint": "计算数据指纹",
    "appraisal.create": "新建数据资产评估报告",
    "appraisal.update": "修改评估报告基本信息",
    "appraisal.cost": "录入成本法参数",
    "appraisal.income": "录入收益法参数",
    "appraisal.market": "录入市场法参数",
    "appraisal.clear": "移除评估方法",
    "appraisal.reconcile": "确定评估结论",
    "appraisal.classify": "说明会计处理分类",
    "appraisal.sign": "签署评估报告",
    "appraisal.withdraw": "撤回评估报告",
    "asset_trust.create": "设立数据信托",
    "asset_trust.update": "修改数据信托",
    "asset_trust.approve": "数据信托生效",
    "asset_trust.terminate": "终止数据信托",
    "asset_trust.end": "数据信托结束",
    "asset_trust.distribute": "信托收益分配",
    "auth.login": "登录",
    "auth.token": "令牌校验",
    "sharing.auth": "共享凭证校验",
    "sharing.query": "Delta Sharing 查询",
    "sharing.describe": "Delta Sharing 表信息",
    "sharing.profile_issue": "签发共享凭证",
    "sharing.profile_revoke": "吊销共享凭证",
    "auth.client": "客户端认证",
}
RESULT_LABELS = {audit.ALLOWED: "允许", audit.REFUSED: "拒绝"}
AUDIT_PAGE_SIZE = 50
AUDIT_MAX_PAGE = 1000


def _audit_query(params: dict[str, str]) -> tuple[audit.AuditQuery, int]:
    """The search from the page's query string; ``Invalid`` naming a bad parameter."""
    result = params.get("result") or None
    if result is not None and result not in RESULT_LABELS:
        raise Invalid(f"结果“{result}”无效（可选：允许、拒绝）", field="result")
    since = optional_date(params.get("since"), "since") if params.get("since") else None
    until = optional_date(params.get("until"), "until") if params.get("until") else None
    if since and until and until < since:
        raise Invalid("结束日期早于开始日期", field="until")
    page_text = params.get("page") or "1"
    if not page_text.isdecimal() or not 1 <= int(page_text) <= AUDIT_MAX_PAGE:
        raise Invalid(f"页码应为 1 到 {AUDIT_MAX_PAGE} 之间的整数：{page_text}", field="page")
    page = int(page_text)
    q = audit.AuditQuery(
        action=params.get("action") or None,
        result=result,
        entry_code=params.get("entry") or None,
        # dates are Beijing days: from the start of ``since`` to the end of ``until``
        since=datetime.combine(since, time(), SHANGHAI) if since else None,
        until=datetime.combine(until + timedelta(days=1), time(), SHANGHAI) if until else None,
        limit=AUDIT_PAGE_SIZE,
        offset=(page - 1) * AUDIT_PAGE_SIZE,
    )
    return q, page


@router.get("/audit", response_class=HTMLResponse)
def audit_page(request: Request, session: DB, viewer: ViewerDep) -> Response:
    if not viewer.signed_in:
        return login_redirect(request)
    params = {k: request.query_params.get(k, "").strip() for k in ("action", "result", "entry", "since", "until")}
    params["page"] = request.query_params.get("page", "1").strip()
    regulator = viewer.actor.can(Permission.AUDIT_TRAIL_READ)
    context: dict[str, Any] = {
        "nav": "audit",
        "form": params,
        "actions": AUDIT_ACTIONS,
        "results": RESULT_LABELS,
        "regulator": regulator,
        "publisher": viewer.actor.can(Permission.ACCESS_REQUEST_REVIEW),
        "error": None,
        "records": [],
        "total": 0,
        "page": 1,
        "pages": 0,
        "verification": None,
    }
    status = 200
    try:
        q, page = _audit_query(params)
    except Invalid as exc:
        context["error"] = form_error(exc)
        status = 400
    else:
        total, records = audit.search(session, viewer.actor, q)
        names = Names(session, viewer)
        kept = {k: v for k, v in params.items() if v and k != "page"}
        context.update(
            total=total,
            page=page,
            pages=(total + AUDIT_PAGE_SIZE - 1) // AUDIT_PAGE_SIZE,
            records=[
                {
                    "r": r,
                    "action_label": AUDIT_ACTIONS.get(r.action, r.action),
                    "result_label": RESULT_LABELS.get(r.result, r.result),
                    "org": names.org(r.actor_org_id) if r.actor_org_id else "",
                }
                for r in records
            ],
            prev_url="/audit?" + urlencode({**kept, "page": page - 1}) if page > 1 else None,
            next_url="/audit?" + urlencode({**kept, "page": page + 1})
            if page * AUDIT_PAGE_SIZE < total and page < AUDIT_MAX_PAGE
            else None,
        )
    if regulator and request.query_params.get("verify"):
        context["verification"] = audit.verify(session, viewer.actor)
    return render(request, "audit/audit.html", context, status_code=status, headers=NO_STORE)
