"""apps.core.compiled: a statement compiled once answers later calls with their own
values, exactly as the queryset built afresh would, and wrong uses fail at compile."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.db import connection
from django.db.models import F, QuerySet
from django.test.utils import CaptureQueriesContext

from apps.accounts.models import Workspace
from apps.core import compiled as compiled_module
from apps.core.compiled import compiled
from media_library.models import Category, SavedLink, Template


def _templates(workspace_id: Any, name: str) -> QuerySet[Any]:
    return (Template.objects.filter(workspace_id=workspace_id, name=name)
            .annotate(category_name=F("category__name"))
            .order_by("id").values("id", "name", "content", "category_name"))


@pytest.fixture
def two_workspaces(db: None) -> list[Workspace]:
    spaces = [Workspace.objects.create(name=f"W{i}") for i in range(2)]
    for ws in spaces:
        category = Category.objects.create(workspace=ws, name=f"cat of {ws.name}",
                                           type="template")
        for i in range(3):
            Template.objects.create(workspace=ws, name="Launch" if i < 2 else "Other",
                                    category=category if i == 0 else None,
                                    content={"body": f"{ws.name}-{i}", "n": i})
    return spaces


def test_later_calls_get_their_own_rows(two_workspaces: list[Workspace]) -> None:
    for ws in two_workspaces:
        got = compiled(("test", "templates"), _templates, workspace_id=ws.pk,
                       name="Launch").dicts()
        assert got == list(_templates(ws.pk, "Launch"))
        assert len(got) == 2
        assert {row["content"]["body"] for row in got} == {f"{ws.name}-0", f"{ws.name}-1"}
    other = compiled(("test", "templates"), _templates, workspace_id=two_workspaces[0].pk,
                     name="Other").dicts()
    assert [row["name"] for row in other] == ["Other"]


def test_the_shape_is_compiled_once(two_workspaces: list[Workspace]) -> None:
    built: list[Any] = []

    def build(**given: Any) -> QuerySet[Any]:
        built.append(given)
        return _templates(**given)

    for ws in two_workspaces:
        with CaptureQueriesContext(connection) as ctx:
            statement = compiled(("test", "once"), build, workspace_id=ws.pk, name="Launch")
            records = statement.records()
        assert len(ctx.captured_queries) == 1
        assert all(r.category_name in (None, f"cat of {ws.name}") for r in records)
    assert len(built) == 1
    assert built[0]["workspace_id"] not in {ws.pk for ws in two_workspaces}  # a stand-in


def test_the_cache_is_bounded(two_workspaces: list[Workspace],
                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(compiled_module, "CACHE_SIZE", 3)
    for i in range(6):
        compiled(("test", "bounded", i), _templates, workspace_id=two_workspaces[0].pk,
                 name="Launch")
    assert len(compiled_module._shapes) <= 3


def test_a_rewritten_value_is_refused(db: None) -> None:
    def build(**given: Any) -> QuerySet[Any]:
        return SavedLink.objects.filter(name__icontains=given["needle"]).values("id")

    with pytest.raises(ValueError, match="unchanged"):
        compiled(("test", "icontains"), build, needle="x")


def test_a_value_without_a_stand_in_belongs_in_the_key(db: None) -> None:
    with pytest.raises(TypeError, match="key"):
        compiled(("test", "flag"), lambda **g: SavedLink.objects.filter(
            is_starred=g["flag"]).values("id"), flag=True)


def test_only_values_querysets(db: None) -> None:
    with pytest.raises(ValueError, match="values"):
        compiled(("test", "models"), lambda **g: SavedLink.objects.filter(
            workspace_id=g["workspace_id"]), workspace_id=uuid.uuid4())
