"""``pubdata audit``: verify, anchor and export the tamper-evident audit trail."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from pubdata.authz import SYSTEM
from pubdata.cli.base import HomeOpt, JsonOpt, app, emit, fail, use_home
from pubdata.errors import PubdataError
from pubdata.files import write_atomic

audit_app = typer.Typer(help="The tamper-evident audit trail", no_args_is_help=True)
app.add_typer(audit_app, name="audit")


@audit_app.command("verify")
def audit_verify(
    against: Annotated[
        list[Path] | None,
        typer.Option(
            "--against",
            exists=True,
            dir_okay=False,
            help="Signed checkpoint file (from `audit anchor --out`) the chain must extend; repeatable",
        ),
    ] = None,
    public_key: Annotated[
        str | None,
        typer.Option(
            "--public-key",
            help="Verify checkpoints with this public key (PEM file, or base64) instead of the local key",
        ),
    ] = None,
    trail: Annotated[
        Path | None,
        typer.Option(
            "--trail",
            exists=True,
            dir_okay=False,
            help="Verify this exported trail (`audit export FILE.jsonl`) instead of the database",
        ),
    ] = None,
    home: HomeOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Walk the hash chain, recomputing every hash; exit 4 and say where when a record was changed,
    inserted or deleted, or when the chain does not extend a checkpoint given with --against (or the
    checkpoint's signature fails)."""
    use_home(home, need_database=trail is None)
    from pubdata.audit import service
    from pubdata.db import session_scope

    key_text = public_key
    if public_key is not None and Path(public_key).is_file():
        key_text = Path(public_key).read_text(encoding="utf-8", errors="replace")
    points = [p.read_bytes() for p in against or []]
    try:
        if trail is not None:
            with open(trail, encoding="utf-8") as lines:
                result = service.verify_trail(SYSTEM, lines, against=points, public_key=key_text)
        else:
            with session_scope() as session:
                result = service.verify(session, SYSTEM, against=points, public_key=key_text)
    except PubdataError as exc:
        fail(exc, as_json)
    emit(result.as_json(), as_json, result.message)
    if not result.ok:
        raise typer.Exit(code=4)


@audit_app.command("anchor")
def audit_anchor(
    out: Annotated[
        Path | None,
        typer.Option("--out", dir_okay=False, help="Also write a signed checkpoint to this file, to keep elsewhere"),
    ] = None,
    home: HomeOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Write an anchor of the chain now and print it. With --out, verify the chain and write a signed
    checkpoint (JSON) for safekeeping outside the platform; exit 4 if the chain is broken."""
    use_home(home)
    from pubdata.audit import service
    from pubdata.audit.errors import ChainBroken
    from pubdata.db import session_scope

    if out is None:
        with session_scope() as session:
            made = service.anchor(session, SYSTEM)
            data = {"length": made.length, "head_hash": made.head_hash, "at": made.at} if made else None
        emit(data, as_json, f"锚点：第 {data['length']} 条，{data['head_hash']}" if data else "审计链为空，未写锚点")
        return
    try:
        with session_scope() as session:
            point = service.checkpoint(session, SYSTEM, record_anchor=True)
    except ChainBroken as exc:
        emit({"error": {"code": exc.code, "message": exc.message, "details": exc.details}}, as_json, exc.message)
        raise typer.Exit(code=4) from None
    except PubdataError as exc:
        fail(exc, as_json)
    write_atomic(out, point.dumps())  # never a half-written checkpoint
    emit(
        point.as_json(),
        as_json,
        f"已签署检查点：第 {point.length} 条，{point.head_hash}，{point.at}（密钥标识 {point.key_id[:16]}…）→ {out}",
    )


@audit_app.command("public-key")
def audit_public_key(
    out: Annotated[Path | None, typer.Option("--out", dir_okay=False, help="Write the PEM to this file")] = None,
    home: HomeOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Print the public key that verifies signed checkpoints (PEM), for the regulator to pin; the
    signing key is created on first use."""
    use_home(home)
    from pubdata.audit import service

    try:
        key = service.public_key()
    except PubdataError as exc:
        fail(exc, as_json)
    if out is not None:
        out.write_text(key["pem"], encoding="ascii")
        emit(key, as_json, f"公钥已写入 {out}（密钥标识 {key['key_id']}）")
    else:
        emit(key, as_json, key["pem"].rstrip("\n"))


@audit_app.command("export")
def audit_export(
    output: Annotated[Path, typer.Argument(help="File to write (.csv or .jsonl)")],
    home: HomeOpt = None,
) -> None:
    """Export the whole trail, oldest first, with each record's hashes (for the regulator)."""
    use_home(home)
    from pubdata.audit import service
    from pubdata.db import session_scope

    with (
        session_scope() as session,
        open(output, "w", encoding="utf-8-sig" if output.suffix == ".csv" else "utf-8") as fh,
    ):
        count = service.export(session, SYSTEM, fh, "csv" if output.suffix == ".csv" else "jsonl")
    typer.echo(f"已导出 {count} 条审计记录到 {output}")
