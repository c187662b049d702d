"""Dependencies of portal pages: who is looking (as a ``Viewer`` of plain values) on top of the
shared actor resolution of ``api.deps`` (API token or the ``pubdata_session`` cookie)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from pubdata.api.deps import current_actor
from pubdata.authz import Actor
from pubdata.web.templating import Viewer


def page_viewer(request: Request, actor: Actor = Depends(current_actor)) -> Viewer:
    """Resolve the viewer once per request and keep it on ``request.state`` so error pages, which
    run after the database session has closed, can still show who is signed in."""
    login = getattr(request.state, "login", None)
    if login is not None and actor.via == "session":
        user = login.user
        org = user.organisation
        viewer = Viewer(
            actor=actor,
            display_name=user.display_name or user.username,
            organisation_name=org.name if org else "",
            organisation_kind=org.kind if org else "",
            roles=tuple(user.role_list),
            csrf_token=login.csrf_token,
        )
    elif actor.user_id is not None:  # an API token used on a page: read-only, no forms
        viewer = Viewer(actor=actor, display_name=actor.username or "", roles=tuple(sorted(actor.roles)))
    else:
        viewer = Viewer(actor=actor)
    request.state.viewer = viewer
    return viewer


ViewerDep = Annotated[Viewer, Depends(page_viewer)]
