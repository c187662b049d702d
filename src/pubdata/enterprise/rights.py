"""Whose enterprise facts an actor may read: one rule, shared by the facts reads (``service``) and
the supplied facts (``supplied``)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from pubdata.authz import Actor, Permission
from pubdata.identity import service as identity


def own_uscc(session: Session, actor: Actor) -> str | None:
    """The credit code of the actor's organisation (None without one)."""
    org = identity.own_organisation(session, actor)
    return org.uscc if org is not None else None


def may_read(session: Session, actor: Actor, uscc: str) -> bool:
    """Whether the actor may read this enterprise's facts: any enterprise's with the read-any
    permission, otherwise only its own organisation's."""
    if actor.can(Permission.ENTERPRISE_FACTS_READ_ANY):
        return True
    return actor.can(Permission.ENTERPRISE_FACTS_READ) and own_uscc(session, actor) == uscc
