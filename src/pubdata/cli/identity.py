"""``pubdata org``, ``user``, ``token`` and ``client``: organisations, accounts and credentials."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from pubdata.authz import SYSTEM
from pubdata.cli.base import HomeOpt, JsonOpt, app, emit, fail, use_home
from pubdata.errors import PubdataError

org_app = typer.Typer(help="Organisations", no_args_is_help=True)
user_app = typer.Typer(help="Users", no_args_is_help=True)
token_app = typer.Typer(help="API tokens", no_args_is_help=True)
client_app = typer.Typer(help="OAuth2 clients of consumer systems", no_args_is_help=True)
app.add_typer(user_app, name="user")
app.add_typer(token_app, name="token")
app.add_typer(org_app, name="org")
app.add_typer(client_app, name="client")


@org_app.command("create")
def org_create(
    code: str,
    name: str,
    kind: Annotated[
        str,
        typer.Option(help="department, operator, enterprise, bank, data_merchant, appraisal_agency, regulator"),
    ],
    uscc: Annotated[str | None, typer.Option(help="Unified social credit code (enterprises)")] = None,
    district: Annotated[str | None, typer.Option()] = None,
    home: HomeOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Register an organisation."""
    use_home(home)
    from pydantic import ValidationError

    from pubdata.db import migrate as run
    from pubdata.db import session_scope
    from pubdata.identity import service
    from pubdata.identity.schemas import OrganisationCreate, OrganisationRead

    run()
    try:
        data = OrganisationCreate(code=code, name=name, kind=kind, uscc=uscc, district=district)  # type: ignore[arg-type]
    except ValidationError as exc:
        fail(_invalid(exc), as_json)
    try:
        with session_scope() as session:
            org = service.create_organisation(session, SYSTEM, data)
            out = OrganisationRead.model_validate(org).model_dump(mode="json")
    except PubdataError as exc:
        fail(exc, as_json)
    emit(out, as_json, f"已创建机构 {out['code']}（{out['name']}）")


def _invalid(exc: Any) -> PubdataError:
    from pubdata.api.errors import pydantic_message
    from pubdata.errors import Invalid

    first = exc.errors()[0]
    field = ".".join(str(p) for p in first["loc"])
    return Invalid(f"{field}：{pydantic_message(first)}", field=field)


@user_app.command("create")
def user_create(
    username: str,
    org: Annotated[str | None, typer.Option("--org", help="Organisation code")] = None,
    role: Annotated[
        list[str] | None,
        typer.Option("--role", help="Role (repeatable); defaults to the organisation kind's"),
    ] = None,
    display_name: Annotated[str | None, typer.Option("--name", help="Display name")] = None,
    password: Annotated[
        str | None, typer.Option(help="Password; prompted when omitted", envvar="PUBDATA_NEW_PASSWORD")
    ] = None,
    home: HomeOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Create a user (password hashed with argon2)."""
    use_home(home)
    from pydantic import ValidationError

    from pubdata.db import migrate as run
    from pubdata.db import session_scope
    from pubdata.identity import service
    from pubdata.identity.schemas import UserCreate, UserRead

    run()
    if password is None:
        password = typer.prompt("密码", hide_input=True, confirmation_prompt=True)
    try:
        data = UserCreate(
            username=username,
            display_name=display_name or username,
            password=password,
            organisation_code=org,
            roles=role or [],
        )
    except ValidationError as exc:
        fail(_invalid(exc), as_json)
    try:
        with session_scope() as session:
            user = service.create_user(session, SYSTEM, data)
            out = UserRead.model_validate(user).model_dump(mode="json")
    except PubdataError as exc:
        fail(exc, as_json)
    emit(out, as_json, f"已创建用户 {out['username']}，角色：{', '.join(out['roles']) or '无'}")


@token_app.command("create")
def token_create(
    username: str,
    name: Annotated[str, typer.Option(help="What the token is for")] = "cli",
    scope: Annotated[
        list[str] | None, typer.Option("--scope", help="read, catalog:write, tokens, access, policy, operate, admin")
    ] = None,
    days: Annotated[
        int | None, typer.Option(help="Days until it expires (PUBDATA_TOKEN_DAYS; at most PUBDATA_TOKEN_MAX_DAYS)")
    ] = None,
    home: HomeOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Issue an API token for a user. The token is printed once; only its hash is stored."""
    use_home(home)
    from pubdata.db import migrate as run
    from pubdata.db import session_scope
    from pubdata.identity import service

    run()
    try:
        with session_scope() as session:
            token, secret = service.create_token(
                session, SYSTEM, name=name, scopes=scope or ["read"], days=days, username=username
            )
            out = {
                "id": token.id,
                "token": secret,
                "scopes": token.scopes.split(),
                "expires_at": token.expires_at.isoformat(),
            }
    except PubdataError as exc:
        fail(exc, as_json)
    emit(out, as_json, f"{secret}\n（令牌只显示这一次；有效期至 {out['expires_at']}，范围：{token.scopes}）")


@client_app.command("create")
def client_create(
    username: str,
    name: Annotated[str, typer.Option(help="The consumer system's name")],
    scope: Annotated[list[str] | None, typer.Option("--scope", help="read, access, … (repeatable)")] = None,
    rate: Annotated[int | None, typer.Option(help="Calls per minute of its tokens")] = None,
    minutes: Annotated[int, typer.Option(help="Lifetime of the access tokens it gets")] = 60,
    home: HomeOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Register an OAuth2 client acting as USERNAME; the secret is printed once."""
    use_home(home)
    from pubdata.db import migrate as run
    from pubdata.db import session_scope
    from pubdata.identity import machines

    run()
    try:
        with session_scope() as session:
            client, secret = machines.create_client(
                session, SYSTEM, name=name, scopes=scope or ["read"], rate_per_minute=rate, token_minutes=minutes,
                username=username,
            )  # fmt: skip
            out = {"client_id": client.client_id, "client_secret": secret, "scopes": client.scopes.split()}
    except PubdataError as exc:
        fail(exc, as_json)
    emit(out, as_json, f"client_id: {out['client_id']}\nclient_secret: {secret}\n（密钥只显示这一次）")


@client_app.command("revoke")
def client_revoke(client_id: str, home: HomeOpt = None, as_json: JsonOpt = False) -> None:
    """Revoke an OAuth2 client and every access token it was issued."""
    use_home(home)
    from pubdata.db import session_scope
    from pubdata.identity import machines

    try:
        with session_scope() as session:
            client = machines.revoke_client(session, SYSTEM, client_id)
            out = {"client_id": client.client_id, "revoked": True}
    except PubdataError as exc:
        fail(exc, as_json)
    emit(out, as_json, f"已吊销客户端 {client_id} 及其访问令牌")


@token_app.command("revoke")
def token_revoke(token_id: int, home: HomeOpt = None, as_json: JsonOpt = False) -> None:
    """Revoke an API token at once."""
    use_home(home)
    from pubdata.db import session_scope
    from pubdata.identity import service

    try:
        with session_scope() as session:
            service.revoke_token(session, SYSTEM, token_id)
    except PubdataError as exc:
        fail(exc, as_json)
    emit({"id": token_id, "revoked": True}, as_json, f"令牌 {token_id} 已吊销")
