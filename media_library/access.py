"""Who may do what in a workspace's library: the base view every endpoint extends.

The workspace comes from the URL and the caller's membership decides: not a member (or
no such workspace) is 404, so ids of other workspaces reveal nothing; ``viewer`` reads,
``member`` and above write, and only ``admin``/``owner`` delete for good (permanent
deletes, emptying the bin, bulk ``permanentDelete``).
"""

from __future__ import annotations

from typing import Any

from rest_framework.request import Request
from rest_framework.views import APIView

from apps.accounts.models import Membership, Role, User, Workspace
from apps.accounts.permissions import request_user
from apps.accounts.selectors import membership_get
from apps.core.errors import PermissionDeniedError
from media_library.errors import WorkspaceNotFound

READ, WRITE, PURGE = Role.VIEWER, Role.MEMBER, Role.ADMIN
FORBIDDEN = "Forbidden resource"  # NestJS's words for a failed guard


def require_role(membership: Membership, minimum: str) -> None:
    if not membership.has_role(minimum):
        raise PermissionDeniedError(FORBIDDEN)


class WorkspaceView(APIView):
    """Resolves ``self.workspace``, ``self.membership`` and ``self.user`` before the
    handler runs and checks the role the method needs (``roles`` overrides by method)."""

    roles: dict[str, str] = {}
    workspace: Workspace
    membership: Membership
    user: User

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)  # authentication, permissions, throttles
        self.user = request_user(request)
        membership = membership_get(user=self.user, workspace_id=kwargs.get("workspace_id"))
        if membership is None:
            raise WorkspaceNotFound()
        self.membership, self.workspace = membership, membership.workspace
        method = request.method or "GET"
        require_role(membership, self.roles.get(method, READ if method in (
            "GET", "HEAD", "OPTIONS") else WRITE))
