"""``search`` is a case-insensitive substring match, ILIKE on the bare columns (what the
trigram indexes serve), with the needle's wildcards taken literally."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from apps.accounts.models import Workspace
from tests.media_library.factories import make_item


@pytest.mark.parametrize(("needle", "expected"), [
    ("50%", ["50% off"]),
    ("a_b", ["a_b test"]),
    ("back\\slash", ["back\\slash"]),
    ("OFF", ["50% off", "500 off"]),
])
def test_wildcards_match_literally(member: APIClient, base: str, workspace: Workspace,
                                   needle: str, expected: list[str]) -> None:
    for name in ("50% off", "500 off", "a_b test", "axb test", "back\\slash", "backslash"):
        make_item(workspace, name)
    found = member.get(f"{base}/items", {"search": needle}).json()["items"]
    assert sorted(item["name"] for item in found) == sorted(expected)


def test_search_compiles_to_ilike(workspace: Workspace) -> None:
    from media_library.kinds import ITEMS
    from media_library.selectors import ListQuery, object_filter

    sql = str(object_filter(ITEMS, workspace=workspace, query=ListQuery(search="x")).query)
    assert "ILIKE" in sql and "UPPER" not in sql
