"""Portal pages (Simplified Chinese, server-rendered): the router the app mounts, and the error pages
the app's exception handlers render for non-API paths."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from pubdata.api.errors import pydantic_message
from pubdata.errors import PubdataError
from pubdata.web import (
    access_pages,
    account,
    application_pages,
    appraisal_pages,
    catalog_pages,
    credit_pages,
    enterprise_pages,
    finance_loan_pages,
    finance_pages,
    job_pages,
    market_order_pages,
    market_pages,
    market_report_pages,
    policy_match_pages,
    policy_pages,
    registry_pages,
    resource_pages,
    sandbox_pages,
    sharing_pages,
    store_pages,
    trust_pages,
    zone_pages,
)
from pubdata.web.templating import render

router = APIRouter(include_in_schema=False)
router.include_router(catalog_pages.router)
router.include_router(account.router)
router.include_router(sharing_pages.router)
router.include_router(job_pages.router)
router.include_router(resource_pages.router)
router.include_router(zone_pages.router)
router.include_router(policy_pages.router)
router.include_router(application_pages.router)
router.include_router(policy_match_pages.router)
router.include_router(enterprise_pages.router)
router.include_router(sandbox_pages.router)
router.include_router(store_pages.router)
router.include_router(access_pages.router)
router.include_router(finance_pages.router)
router.include_router(finance_loan_pages.router)
router.include_router(credit_pages.router)
router.include_router(market_pages.router)
router.include_router(market_order_pages.router)
router.include_router(market_report_pages.router)
router.include_router(appraisal_pages.router)
router.include_router(registry_pages.router)
router.include_router(trust_pages.router)

STATUS_TITLES: dict[int, str] = {
    400: "请求有误",
    401: "需要登录",
    403: "禁止访问",
    404: "页面不存在",
    405: "请求方法不允许",
    409: "操作冲突",
    422: "输入无效",
    413: "提交的内容过大",
    429: "请求过于频繁",
    500: "服务器内部错误",
    503: "服务器繁忙",
}
STATUS_MESSAGES: dict[int, str] = {
    400: "请求格式不正确。",
    401: "请先登录后再访问此页面。",
    403: "您没有权限访问此页面。",
    404: "您访问的页面不存在，可能已被删除或地址有误。",
    405: "此地址不支持该请求方法。",
    409: "操作与现有数据冲突。",
    422: "提交的内容无效。",
    413: "提交的内容超过了大小限制。",
    429: "请求过于频繁，请稍后再试。",
    500: "服务器出了点问题，请稍后再试。",
    503: "服务器繁忙，请稍后再试。",
}


def _page(request: Request, status: int, message: str, details: list[str] | None = None) -> HTMLResponse:
    headers = {"Cache-Control": "no-store"}
    return render(
        request,
        "error.html",
        {
            "status": status,
            "title": STATUS_TITLES.get(status, "出错了"),
            "message": message,
            "details": details or [],
            "login_url": "/user/login?next=" + request.url.path if status == 401 else None,
        },
        status_code=status,
        headers=headers,
    )


def error_page(request: Request, exc: PubdataError) -> HTMLResponse:
    """A domain error (not found, forbidden, invalid, conflict…) as a Chinese page with its status."""
    details = []
    if isinstance(exc.details, list):
        details = [f"{d.get('field', '')}：{d.get('message', '')}" for d in exc.details if isinstance(d, dict)]
    response = _page(request, exc.status, exc.message, details)
    if exc.retry_after is not None:  # rate limits, quotas, a saturated server
        response.headers["Retry-After"] = str(exc.retry_after)
    return response


def validation_error_page(request: Request, exc: RequestValidationError) -> HTMLResponse:
    problems: dict[str, str] = {}
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ()) if p not in ("query", "body", "path", "form")]
        problems.setdefault("、".join(loc) or "请求", pydantic_message(err))
    details = [f"参数 {name} 无效：{why}" for name, why in problems.items()]
    return _page(request, 422, "提交的参数无效，请检查后重试。", details)


def http_error_page(request: Request, exc: StarletteHTTPException) -> HTMLResponse:
    status = exc.status_code
    response = _page(request, status, STATUS_MESSAGES.get(status, "请求无法完成。"))
    for name, value in (exc.headers or {}).items():
        response.headers[name] = value
    return response
