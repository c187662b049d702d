"""Who is calling (the actor), named permissions, and the one table granting them to roles.

Every service function starts with ``require(actor, Permission.X)``; routes only resolve the actor.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from pubdata.errors import Forbidden, Unauthenticated


class Role(StrEnum):
    ADMIN = "admin"  # platform administrator
    OPERATOR = "operator"  # 运营方: curates the catalogue
    DEPARTMENT = "department"  # 数据提供方: publishes its own entries
    ENTERPRISE = "enterprise"
    BANK = "bank"
    DATA_MERCHANT = "data_merchant"
    APPRAISER = "appraiser"
    REGULATOR = "regulator"
    FINANCE = "finance"  # 运营方财务: confirms payments, refunds, runs the monthly settlement
    TRUSTEE = "trustee"  # a licensed trust company's staff (数据信托的受托人)


class Permission(StrEnum):
    CATALOG_ENTRY_READ = "catalog:entry:read"
    CATALOG_ENTRY_CREATE = "catalog:entry:create"
    CATALOG_ENTRY_UPDATE = "catalog:entry:update"  # own organisation's entries
    CATALOG_ENTRY_DELETE = "catalog:entry:delete"  # own organisation's entries
    CATALOG_ENTRY_CURATE = "catalog:entry:curate"  # any entry
    CATALOG_REVISION_READ = "catalog:revision:read"
    IDENTITY_ORG_READ = "identity:organisation:read"
    IDENTITY_ORG_MANAGE = "identity:organisation:manage"
    IDENTITY_USER_MANAGE = "identity:user:manage"
    IDENTITY_TOKEN_CREATE = "identity:token:create"
    IDENTITY_TOKEN_MANAGE_ANY = "identity:token:manage_any"
    PLATFORM_STATS_READ = "platform:stats:read"
    PLATFORM_JOBS_MANAGE = "platform:jobs:manage"  # every background job: list, see, re-queue, queue
    STORE_ROWS_READ = "store:rows:read"  # rows of tables the actor may read (open data, or its own)
    STORE_ROWS_READ_ANY = "store:rows:read_any"  # every table's rows, without a grant (the operator)
    # rows of tables that are not unconditionally open: one's own organisation's, or under a grant. Not
    # public, so that a token without the ``read`` scope (e.g. ``tokens`` only) reads open data at most
    STORE_ROWS_READ_GOVERNED = "store:rows:read_governed"
    ACCESS_REQUEST_CREATE = "access:request:create"  # ask for conditionally open data
    ACCESS_REQUEST_REVIEW = "access:request:review"  # the publishing department's review step
    ACCESS_GRANT_ISSUE = "access:grant:issue"  # the operator's step, which issues the grant
    ACCESS_REQUEST_READ = "access:request:read"  # one's organisation's requests and grants (all: operator, regulator)
    AUDIT_OWN_READ = "audit:own:read"  # audit records of one's own actions and of the uses of one's data
    AUDIT_TRAIL_READ = "audit:trail:read"  # the whole audit trail: search, export, verify
    ENTERPRISE_FACTS_READ = "enterprise:facts:read"  # one's own organisation's enterprise facts (一企一档)
    ENTERPRISE_FACTS_READ_ANY = "enterprise:facts:read_any"  # any enterprise's facts (oversight, services)
    ENTERPRISE_FACTS_BUILD = "enterprise:facts:build"  # build a new version of the facts table
    ENTERPRISE_FACTS_SUPPLY = "enterprise:facts:supply"  # supply one's own enterprise's enterprise-supplied facts
    POLICY_PACK_READ = "policy:pack:read"  # policies, their text and the calculator (everyone)
    POLICY_MATCH_RUN = "policy:match:run"  # match every active pack against every enterprise
    POLICY_MATCH_READ = "policy:match:read"  # which enterprises a pack matches, one by one (operator, departments)
    POLICY_REACH_READ = "policy:reach:read"  # how many enterprises each clause reaches and would pay (aggregates)
    POLICY_NOTICE_READ = "policy:notice:read"  # one's own organisation's proactive notices (主动推送)
    POLICY_APPLICATION_SUBMIT = "policy:application:submit"  # apply for a clause for one's own enterprise
    POLICY_APPLICATION_REVIEW = "policy:application:review"  # decide applications routed to one's organisation
    POLICY_APPLICATION_READ_ANY = "policy:application:read_any"  # every application (oversight; no materials)
    POLICY_DISBURSE = "policy:disbursement:create"  # record the payment of an application one's organisation approved
    POLICY_REVIEWER_MANAGE = "policy:reviewer:manage"  # which organisation reviews a duty in a district
    # credit scoring (金融专区). Banks hold none of these: a bank sees an enterprise's score only in a
    # credit report read under that enterprise's live consent (授权, FINANCE_REPORT_READ), never directly
    FINANCE_SCORE_RUN = "finance:score:run"  # score every enterprise with a scorecard (operator, system)
    FINANCE_SCORE_READ = "finance:score:read"  # one's own organisation's credit score, grade and reasons
    FINANCE_SCORE_READ_ANY = "finance:score:read_any"  # any enterprise's score; runs and model versions (operator)
    FINANCE_MODEL_FIT = "finance:model:fit"  # fit a scorecard on loan outcomes (operator, for a bank)
    FINANCE_CONSENT_GRANT = "finance:consent:grant"  # authorise a bank to read one's own credit report, revoke it
    FINANCE_CONSENT_READ = "finance:consent:read"  # one's organisation's consents, given or received, and their uses
    FINANCE_CONSENT_READ_ANY = "finance:consent:read_any"  # every consent and its uses (oversight)
    FINANCE_REPORT_READ = "finance:report:read"  # a bank: credit reports, only under a live consent
    FINANCE_PRODUCT_READ = "finance:product:read"  # published loan products (everyone)
    FINANCE_PRODUCT_MANAGE = "finance:product:manage"  # a bank of the finance zone: its own loan products
    FINANCE_LOAN_APPLY = "finance:loan:apply"  # apply for a loan for one's own enterprise, withdraw it
    FINANCE_LOAN_REVIEW = "finance:loan:review"  # a bank: work the applications to its own products
    FINANCE_LOAN_READ = "finance:loan:read"  # one's own organisation's loan applications
    FINANCE_LOAN_READ_ANY = "finance:loan:read_any"  # every loan application (oversight)
    FINANCE_DASHBOARD_READ = "finance:dashboard:read"  # the finance zone's aggregates of credit extended
    # the double-entry ledger of the data market (money in fen): postings come from the payment and
    # settlement flows (the system, the operator's finance staff); statements are per organisation
    LEDGER_POST = "ledger:post"  # post a balanced journal entry, open accounts
    LEDGER_READ = "ledger:read"  # the statements of one's own organisation's accounts
    LEDGER_READ_ANY = "ledger:read_any"  # every account, entry and the trial balance (oversight)
    # the data market: products built on catalogue entries, their price plans and listings
    MARKET_PRODUCT_READ = "market:product:read"  # listed products and the public price list (everyone)
    MARKET_PRODUCT_MANAGE = "market:product:manage"  # one's own organisation's products and plans (operator, merchant)
    MARKET_LISTING_REVIEW = "market:listing:review"  # review, notice, list, suspend, delist any product (operator)
    MARKET_ORDER_CREATE = "market:order:create"  # order for one's own organisation, pay, cancel, use what it bought
    MARKET_ORDER_READ = "market:order:read"  # one's organisation's orders, as buyer or provider
    MARKET_ORDER_READ_ANY = "market:order:read_any"  # every order, payment and settlement run (oversight)
    MARKET_PAYMENT_CONFIRM = "market:payment:confirm"  # the operator's finance staff: confirm vouchers, refund
    MARKET_SETTLE = "market:settlement:run"  # the operator's finance staff: run a month's settlement
    # data assets: registration (确权登记), appraisal (评估) and data trusts (数据信托)
    REGISTRY_APPLY = "registry:apply"  # apply to register one's own organisation's data resources or products
    REGISTRY_REVIEW = "registry:review"  # the registration body: accept, review, resolve objections, register
    APPRAISAL_WRITE = "appraisal:write"  # an appraisal agency: its own appraisal reports
    APPRAISAL_READ_ANY = "appraisal:read_any"  # every appraisal report (oversight)
    TRUST_MANAGE = "trust:manage"  # set up and edit a data trust as its settlor
    TRUST_REVIEW = "trust:review"  # the operator: approve and terminate trusts


_PUBLIC = {
    Permission.CATALOG_ENTRY_READ,
    Permission.IDENTITY_ORG_READ,
    Permission.CATALOG_REVISION_READ,
    Permission.STORE_ROWS_READ,
    Permission.POLICY_PACK_READ,
    Permission.FINANCE_PRODUCT_READ,
    Permission.MARKET_PRODUCT_READ,
}
_SIGNED_IN = _PUBLIC | {
    Permission.IDENTITY_TOKEN_CREATE,
    Permission.STORE_ROWS_READ_GOVERNED,
    Permission.ACCESS_REQUEST_READ,
    Permission.AUDIT_OWN_READ,
    Permission.ENTERPRISE_FACTS_READ,
    Permission.POLICY_NOTICE_READ,
    Permission.FINANCE_CONSENT_READ,
    Permission.FINANCE_LOAN_READ,
    Permission.LEDGER_READ,
    Permission.MARKET_ORDER_READ,
}

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.ADMIN: frozenset(Permission),
    Role.OPERATOR: frozenset(
        _SIGNED_IN
        | {
            Permission.CATALOG_ENTRY_CREATE,
            Permission.CATALOG_ENTRY_UPDATE,
            Permission.CATALOG_ENTRY_DELETE,
            Permission.CATALOG_ENTRY_CURATE,
            Permission.PLATFORM_STATS_READ,
            Permission.PLATFORM_JOBS_MANAGE,
            Permission.ACCESS_GRANT_ISSUE,
            Permission.STORE_ROWS_READ_ANY,
            Permission.ENTERPRISE_FACTS_READ_ANY,
            Permission.ENTERPRISE_FACTS_BUILD,
            Permission.POLICY_MATCH_RUN,
            Permission.POLICY_MATCH_READ,
            Permission.POLICY_REACH_READ,
            Permission.POLICY_APPLICATION_READ_ANY,
            Permission.POLICY_REVIEWER_MANAGE,
            Permission.FINANCE_CONSENT_READ_ANY,
            Permission.FINANCE_LOAN_READ_ANY,
            Permission.FINANCE_DASHBOARD_READ,
            Permission.FINANCE_SCORE_RUN,
            Permission.FINANCE_SCORE_READ_ANY,
            Permission.FINANCE_MODEL_FIT,
            Permission.LEDGER_POST,
            Permission.LEDGER_READ_ANY,
            Permission.MARKET_PRODUCT_MANAGE,
            Permission.MARKET_LISTING_REVIEW,
            Permission.MARKET_ORDER_READ_ANY,
            Permission.REGISTRY_APPLY,
            Permission.REGISTRY_REVIEW,
            Permission.APPRAISAL_READ_ANY,
            Permission.TRUST_MANAGE,
            Permission.TRUST_REVIEW,
        }
    ),
    Role.DEPARTMENT: frozenset(
        _SIGNED_IN
        | {
            Permission.CATALOG_ENTRY_CREATE,
            Permission.CATALOG_ENTRY_UPDATE,
            Permission.CATALOG_ENTRY_DELETE,
            Permission.ACCESS_REQUEST_CREATE,  # departments share with each other too
            Permission.ACCESS_REQUEST_REVIEW,
            Permission.ENTERPRISE_FACTS_READ_ANY,  # departments serve enterprises (policy review)
            Permission.POLICY_MATCH_READ,
            Permission.POLICY_REACH_READ,
            Permission.POLICY_APPLICATION_REVIEW,  # only applications routed to its own organisation
            Permission.POLICY_DISBURSE,  # only applications it approved
            Permission.MARKET_ORDER_CREATE,
            Permission.TRUST_MANAGE,
        }
    ),
    Role.ENTERPRISE: frozenset(
        _SIGNED_IN
        | {
            Permission.ACCESS_REQUEST_CREATE,
            Permission.POLICY_APPLICATION_SUBMIT,
            Permission.ENTERPRISE_FACTS_SUPPLY,
            Permission.FINANCE_CONSENT_GRANT,
            Permission.FINANCE_SCORE_READ,
            Permission.FINANCE_LOAN_APPLY,
            Permission.MARKET_ORDER_CREATE,
            Permission.REGISTRY_APPLY,
            Permission.TRUST_MANAGE,
        }
    ),
    Role.BANK: frozenset(
        _SIGNED_IN
        | {
            Permission.ACCESS_REQUEST_CREATE,
            Permission.FINANCE_REPORT_READ,
            Permission.FINANCE_PRODUCT_MANAGE,
            Permission.FINANCE_LOAN_REVIEW,
            Permission.FINANCE_DASHBOARD_READ,
            Permission.MARKET_ORDER_CREATE,
        }
    ),
    Role.DATA_MERCHANT: frozenset(
        _SIGNED_IN
        | {
            Permission.ACCESS_REQUEST_CREATE,
            Permission.MARKET_PRODUCT_MANAGE,
            Permission.MARKET_ORDER_CREATE,
            Permission.REGISTRY_APPLY,
            Permission.TRUST_MANAGE,
        }
    ),
    Role.APPRAISER: frozenset(
        _SIGNED_IN | {Permission.ACCESS_REQUEST_CREATE, Permission.MARKET_ORDER_CREATE, Permission.APPRAISAL_WRITE}
    ),
    Role.REGULATOR: frozenset(
        _SIGNED_IN
        | {
            Permission.PLATFORM_STATS_READ,
            Permission.AUDIT_TRAIL_READ,
            Permission.ENTERPRISE_FACTS_READ_ANY,
            Permission.POLICY_REACH_READ,
            Permission.POLICY_APPLICATION_READ_ANY,
            Permission.FINANCE_CONSENT_READ_ANY,
            Permission.FINANCE_LOAN_READ_ANY,
            Permission.FINANCE_DASHBOARD_READ,
            Permission.LEDGER_READ_ANY,
            Permission.MARKET_ORDER_READ_ANY,
            Permission.APPRAISAL_READ_ANY,
        }
    ),
    Role.FINANCE: frozenset(
        _SIGNED_IN
        | {
            Permission.LEDGER_POST,
            Permission.LEDGER_READ_ANY,
            Permission.MARKET_ORDER_READ_ANY,
            Permission.MARKET_PAYMENT_CONFIRM,
            Permission.MARKET_SETTLE,
        }
    ),
    Role.TRUSTEE: frozenset(_SIGNED_IN),
}

# API token scopes: a token may only narrow what its user can do.
SCOPES: dict[str, frozenset[Permission]] = {
    # reading: open data, one's own data, the audit records the role may see
    "read": frozenset(
        _PUBLIC
        | {
            Permission.AUDIT_OWN_READ,
            Permission.AUDIT_TRAIL_READ,
            Permission.STORE_ROWS_READ_ANY,
            Permission.STORE_ROWS_READ_GOVERNED,
            Permission.ENTERPRISE_FACTS_READ,
            Permission.ENTERPRISE_FACTS_READ_ANY,
            Permission.POLICY_MATCH_READ,
            Permission.POLICY_REACH_READ,
            Permission.POLICY_NOTICE_READ,
            Permission.POLICY_APPLICATION_READ_ANY,
            Permission.ACCESS_REQUEST_READ,
            Permission.FINANCE_CONSENT_READ,
            Permission.FINANCE_CONSENT_READ_ANY,
            Permission.FINANCE_REPORT_READ,
            Permission.FINANCE_LOAN_READ,
            Permission.FINANCE_LOAN_READ_ANY,
            Permission.FINANCE_DASHBOARD_READ,
            Permission.FINANCE_SCORE_READ,
            Permission.FINANCE_SCORE_READ_ANY,
            Permission.LEDGER_READ,
            Permission.LEDGER_READ_ANY,
            Permission.MARKET_ORDER_READ,
            Permission.MARKET_ORDER_READ_ANY,
            Permission.APPRAISAL_READ_ANY,
        }
    ),
    "catalog:write": frozenset(
        {
            Permission.CATALOG_ENTRY_CREATE,
            Permission.CATALOG_ENTRY_UPDATE,
            Permission.CATALOG_ENTRY_DELETE,
            Permission.CATALOG_ENTRY_CURATE,
        }
    ),
    "tokens": frozenset({Permission.IDENTITY_TOKEN_CREATE}),
    # access requests (ask, review, withdraw), grants (issue, revoke), zone membership
    "access": frozenset(
        {
            Permission.ACCESS_REQUEST_READ,
            Permission.ACCESS_REQUEST_CREATE,
            Permission.ACCESS_REQUEST_REVIEW,
            Permission.ACCESS_GRANT_ISSUE,
        }
    ),
    # 政策通 applications: apply, review, disburse, and the operator's reviewer routing; the facts
    # an enterprise supplies for policies and tiers (梯度培育)
    "policy": frozenset(
        {
            Permission.POLICY_APPLICATION_SUBMIT,
            Permission.ENTERPRISE_FACTS_SUPPLY,
            Permission.POLICY_APPLICATION_REVIEW,
            Permission.POLICY_DISBURSE,
            Permission.POLICY_REVIEWER_MANAGE,
        }
    ),
    # 银企直通车: an enterprise's consents and loan applications, a bank's products and pipeline
    "finance": frozenset(
        {
            Permission.FINANCE_CONSENT_GRANT,
            Permission.FINANCE_PRODUCT_MANAGE,
            Permission.FINANCE_LOAN_APPLY,
            Permission.FINANCE_LOAN_REVIEW,
        }
    ),
    # the data market: products and plans, the listing review, orders and payments, settlement
    "market": frozenset(
        {
            Permission.MARKET_PRODUCT_MANAGE,
            Permission.MARKET_LISTING_REVIEW,
            Permission.MARKET_ORDER_CREATE,
            Permission.MARKET_PAYMENT_CONFIRM,
            Permission.MARKET_SETTLE,
            Permission.LEDGER_POST,  # confirming a payment, refunding and settling post to the ledger
        }
    ),
    # data assets: registration applications and review, appraisal reports, trusts
    "assets": frozenset(
        {
            Permission.REGISTRY_APPLY,
            Permission.REGISTRY_REVIEW,
            Permission.APPRAISAL_WRITE,
            Permission.TRUST_MANAGE,
            Permission.TRUST_REVIEW,
        }
    ),
    # the operator's platform jobs: build the enterprise facts, run policy matching. The jobs read
    # every source table and every enterprise's facts, so a token running them carries `read` too
    "operate": frozenset(
        {
            Permission.PLATFORM_JOBS_MANAGE,
            Permission.ENTERPRISE_FACTS_BUILD,
            Permission.POLICY_MATCH_RUN,
            Permission.FINANCE_SCORE_RUN,
            Permission.FINANCE_MODEL_FIT,
            Permission.LEDGER_POST,
        }
    ),
    # every permission: only for platform administrators (Role.ADMIN), see scopes_available_to
    "admin": frozenset(Permission),
}


def scopes_available_to(roles: frozenset[Role] | set[Role]) -> frozenset[str]:
    """The scopes a token or client of a user with these roles may carry:

    * ``read`` — always (every user may at least read public data);
    * ``admin`` — only for platform administrators (``Role.ADMIN``);
    * any other scope — when the roles grant at least one of its non-public permissions.

    A scope outside this set would grant nothing today, but would silently grow if the user's roles
    grew; refusing it keeps what a credential says equal to what it can do."""
    granted: set[Permission] = set()
    for role in roles:
        granted |= ROLE_PERMISSIONS.get(role, frozenset())
    out = {"read"}
    for name, permissions in SCOPES.items():
        if name == "admin":
            if Role.ADMIN in roles:
                out.add(name)
        elif (permissions - _PUBLIC) & granted:
            out.add(name)
    return frozenset(out)


@dataclass(frozen=True)
class Actor:
    """The caller of a service: a user (with organisation and roles) or the anonymous public."""

    user_id: int | None = None
    username: str | None = None
    organisation_id: int | None = None
    organisation_kind: str | None = None
    roles: frozenset[Role] = frozenset()
    scopes: frozenset[str] | None = None  # None: a portal session or the CLI, no narrowing
    via: str = "anonymous"  # anonymous | session | token | cli | system
    token_id: int | None = None
    extra: dict[str, str] = field(default_factory=dict, compare=False)

    @property
    def is_authenticated(self) -> bool:
        return self.user_id is not None or self.via == "system"

    @property
    def permissions(self) -> frozenset[Permission]:
        if self.via == "system":
            return frozenset(Permission)
        granted: set[Permission] = set(_PUBLIC)
        for role in self.roles:
            granted |= ROLE_PERMISSIONS.get(role, frozenset())
        if self.scopes is not None:
            allowed: set[Permission] = set(_PUBLIC)
            for scope in self.scopes:
                allowed |= SCOPES.get(scope, frozenset())
            granted &= allowed
        return frozenset(granted)

    def can(self, permission: Permission) -> bool:
        return permission in self.permissions


ANONYMOUS = Actor()
SYSTEM = Actor(username="system", via="system")


def require(actor: Actor, permission: Permission) -> None:
    if actor.can(permission):
        return
    if not actor.is_authenticated:
        raise Unauthenticated(f"需要登录：此操作需要权限 {permission.value}", code="auth.login_required")
    raise Forbidden(f"没有权限：此操作需要权限 {permission.value}", code="auth.permission_denied")


def require_any(actor: Actor, *permissions: Permission, reason: str = "没有权限") -> None:
    """At least one of the permissions (for a step whose exact permission depends on the target's state,
    checked before the target is looked up). ``reason`` says in the domain's words who may."""
    if any(actor.can(p) for p in permissions):
        return
    names = " 或 ".join(p.value for p in permissions)
    if not actor.is_authenticated:
        raise Unauthenticated(f"需要登录：此操作需要权限 {names}", code="auth.login_required")
    raise Forbidden(f"{reason}：此操作需要权限 {names}", code="auth.permission_denied")
