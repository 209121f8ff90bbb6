"""Workspaces with a member of every role, and clients acting as each of them."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from rest_framework.test import APIClient

from apps.accounts.models import Membership, Role, User, Workspace
from tests.user_library.conftest import (  # noqa: F401 (fixtures: both storages, for uploads)
    local_storage,
    s3_bucket,
    storage,
)


@pytest.fixture
def workspace(db: None) -> Workspace:
    return Workspace.objects.create(name="Acme")


@pytest.fixture
def other_workspace(db: None) -> Workspace:
    return Workspace.objects.create(name="Elsewhere")


@pytest.fixture
def client_as(workspace: Workspace, make_user: Any) -> Callable[[str | None], APIClient]:
    """A client signed in as a member of ``workspace`` with ``role`` (None: no member)."""

    def make(role: str | None = Role.MEMBER, ws: Workspace | None = None) -> APIClient:
        user: User = make_user()
        if role is not None:
            Membership.objects.create(workspace=ws or workspace, user=user, role=role)
        client = APIClient()
        client.force_authenticate(user)
        return client

    return make


@pytest.fixture
def member(client_as: Callable[..., APIClient]) -> APIClient:
    return client_as(Role.MEMBER)


@pytest.fixture
def admin(client_as: Callable[..., APIClient]) -> APIClient:
    return client_as(Role.ADMIN)


@pytest.fixture
def viewer(client_as: Callable[..., APIClient]) -> APIClient:
    return client_as(Role.VIEWER)


@pytest.fixture
def base(workspace: Workspace) -> str:
    return f"/workspaces/{workspace.id}/media-library"


@pytest.fixture
def owner(client_as: Callable[..., APIClient]) -> APIClient:
    return client_as(Role.OWNER)


@pytest.fixture
def other_base(other_workspace: Workspace) -> str:
    return f"/workspaces/{other_workspace.id}/media-library"


@pytest.fixture
def library(workspace: Workspace) -> Any:
    """A category, a live and a binned object of each kind in ``workspace``."""
    from tests.media_library.routes import build_library

    return build_library(workspace)


@pytest.fixture
def other_library(other_workspace: Workspace) -> Any:
    """The same in ``other_workspace``: what no caller of ``workspace`` may reach."""
    from tests.media_library.routes import build_library

    return build_library(other_workspace)


@pytest.fixture
def page_server() -> Iterator[Any]:
    """An HTML server on 127.0.0.1 (pages.py) for the link-preview tests."""
    from tests.media_library.pages import PageServer

    running = PageServer().start()
    yield running
    running.stop()
