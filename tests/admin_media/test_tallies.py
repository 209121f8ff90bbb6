"""``total`` and the tables behind it stay exact, however ``admin_media`` is written.

``MediaCategoryEntry`` and ``MediaTally`` are kept by PostgreSQL triggers; the list's
pages and totals read them. After random writes through the API, the ORM (``create``,
``bulk_create``, ``.update()``, ``.delete()``, ``save()``), raw SQL and rolled-back
transactions, both tables equal what the ``admin_media`` rows say, and the API's pages
and totals for every mix of filters equal a count made directly from the rows.
"""

from __future__ import annotations

import itertools
import random
import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection, connections, transaction
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test
from rest_framework.test import APIClient

from admin_media.models import Media, MediaCategoryEntry, MediaTally
from tests.admin_media.helpers import (
    T0,
    ZH,
    actual_entries,
    actual_tallies,
    assert_derived_tables_exact,
    expected_tallies,
    get,
    ids_of,
    listed,
    media_row,
    ok,
    send,
)

pytestmark = pytest.mark.django_db

CATEGORIES = ["a", "b", "c", "人像"]
KINDS = [("image", "image/jpeg"), ("image", "image/png"), ("video", "video/mp4")]
RATIOS = ["16/9", "4/3", None]
USERS = ["u1", "u2", None]
RECORDS = ["r1", "r2"]
TIMES = [T0 + timedelta(minutes=k) for k in range(8)]  # few: many ties on created_at
MAX_ROWS = 70


# -- what the API must answer, computed from the rows -----------------------------------

QUERY_NAMES = {"type": "type", "mediaType": "media_type", "aspectRatio": "aspect_ratio",
               "supabaseId": "supabase_id", "recordId": "record_id"}


def _matches(row: Any, query: dict[str, str]) -> bool:
    for name, value in query.items():
        if name == "category":
            if value not in row["category"]:
                return False
        elif name == "createdFrom":
            if row["created_at"] < TIMES[int(value)]:
                return False
        elif name == "createdTo":
            if row["created_at"] > TIMES[int(value)]:
                return False
        elif row[QUERY_NAMES[name]] != value:
            return False
    return True


def _api_query(query: dict[str, str]) -> dict[str, str]:
    """TIMES indexes become the ISO date-times sent."""
    return {name: TIMES[int(value)].isoformat() if name.startswith("created") else value
            for name, value in query.items()}


def tallied_queries() -> list[dict[str, str]]:
    """Every mix of the filters the tallies serve (and the category entries page)."""
    out = []
    for mime, media_type, category, ratio in itertools.product(
            [None, *{k[1] for k in KINDS}, "image/gif"], [None, "image", "video"],
            [None, *CATEGORIES], [None, "16/9", "4/3"]):
        query = {"type": mime, "mediaType": media_type, "category": category,
                 "aspectRatio": ratio}
        out.append({k: v for k, v in query.items() if v is not None})
    return out


def counted_queries() -> list[dict[str, str]]:
    """Mixes with a filter the tallies do not serve (an exact COUNT)."""
    out = []
    for user, record, created, other in itertools.product(
            [None, "u1", "u2"], [None, "r1"], [None, ("createdFrom", "3"), ("createdTo", "4")],
            [{}, {"category": "a"}, {"mediaType": "video"}, {"aspectRatio": "16/9"},
             {"category": "b", "mediaType": "image"}]):
        query: dict[str, str] = dict(other)
        if user:
            query["supabaseId"] = user
        if record:
            query["recordId"] = record
        if created:
            query[created[0]] = created[1]
        if set(query) & {"supabaseId", "recordId", "createdFrom", "createdTo"}:
            out.append(query)
    return out


ALL_QUERIES = tallied_queries() + counted_queries()


def check_api(staff: APIClient, queries: list[dict[str, str]]) -> None:
    rows = {row["id"]: row for row in Media.objects.values()}
    order = list(Media.objects.filter(is_delete=False).order_by("-created_at", "-id")
                 .values_list("id", flat=True))
    for query in queries:
        expected = [i for i in order if _matches(rows[i], query)]
        data = listed(get(staff, {**_api_query(query), "pageSize": 100}))
        assert data["total"] == len(expected), query
        assert ids_of(data) == expected, query
        if len(expected) > 3:  # a later page too: the page's slice of the same order
            page = listed(get(staff, {**_api_query(query), "pageSize": 3, "page": 2}))
            assert ids_of(page) == expected[3:6], query
            assert page["total"] == len(expected), query


# -- the writes --------------------------------------------------------------------------


class Walk:
    def __init__(self, rng: random.Random, staff: APIClient) -> None:
        self.rng = rng
        self.staff = staff
        self.serial = itertools.count(1)

    # helpers

    def fields(self) -> dict[str, Any]:
        rng = self.rng
        media_type, mime = rng.choice(KINDS)
        created = rng.choice(TIMES)
        category = rng.sample(CATEGORIES, rng.randint(0, 3))
        if category and rng.random() < 0.2:
            category.append(category[0])  # a repeated value, as raw writes may store
        return {"id": f"w{next(self.serial):03d}", "media_type": media_type, "type": mime,
                "aspect_ratio": rng.choice(RATIOS), "supabase_id": rng.choice(USERS),
                "record_id": rng.choice(RECORDS), "category": category,
                "is_delete": rng.random() < 0.15, "created_at": created,
                "updated_at": created, "url": f"https://example.com/{rng.random()}.jpg"}

    def some_ids(self, live_only: bool = False, extra: bool = True) -> list[str]:
        rows = Media.objects.filter(is_delete=False) if live_only else Media.objects.all()
        ids = list(rows.values_list("id", flat=True))
        picked = self.rng.sample(ids, min(len(ids), self.rng.randint(1, 6)))
        if extra and self.rng.random() < 0.3:
            picked += ["unknown-id", *picked[:1]]
        self.rng.shuffle(picked)
        return picked

    def live(self, ids: list[str]) -> list[str]:
        alive = set(Media.objects.filter(pk__in=ids, is_delete=False).values_list("id",
                                                                                  flat=True))
        return [i for i in dict.fromkeys(ids) if i in alive]

    # operations

    def orm_create(self) -> None:
        Media.objects.create(**self.fields())

    def orm_bulk_create(self) -> None:
        Media.objects.bulk_create([Media(**self.fields())
                                   for _ in range(self.rng.randint(1, 5))])

    def api_patch(self) -> None:
        ids = self.some_ids()
        categories = self.rng.sample(CATEGORIES, self.rng.randint(0, 3))
        expected = self.live(ids)
        data = ok(send(self.staff, "PATCH", {"mediaIds": ids, "category": categories}),
                  ZH.updated(len(expected)))
        assert data["updatedIds"] == expected

    def api_put(self) -> None:
        ids = self.some_ids(live_only=True, extra=False)
        if not ids:
            return
        body: dict[str, Any] = {"id": ids[0]}
        choices = {"category": self.rng.sample(CATEGORIES, self.rng.randint(0, 2)),
                   "aspectRatio": self.rng.choice(["16/9", "4/3", "1/1"]),
                   "supabaseId": self.rng.choice(["u1", "u2"])}
        for name in self.rng.sample(list(choices), self.rng.randint(1, 3)):
            body[name] = choices[name]
        if Media.objects.get(pk=ids[0]).media_type == "video" and self.rng.random() < 0.5:
            body["posterUrl"] = "https://example.com/poster.jpg"
        ok(send(self.staff, "PUT", body), ZH.UPDATED)

    def api_delete(self) -> None:
        ids = self.some_ids()
        expected = self.live(ids)
        data = ok(send(self.staff, "DELETE", {"mediaIds": ids}), ZH.deleted(len(expected)))
        assert data["deletedIds"] == expected

    def orm_update(self) -> None:
        ids = self.some_ids(extra=False)
        media_type, mime = self.rng.choice(KINDS)
        changes: list[dict[str, Any]] = [
            {"is_delete": False}, {"is_delete": True}, {"media_type": media_type, "type": mime},
            {"media_type": self.rng.choice(["image", "video"])},  # alone: a correction
            {"aspect_ratio": self.rng.choice(RATIOS)},
            {"category": self.rng.sample(CATEGORIES, self.rng.randint(0, 4))},
            {"created_at": self.rng.choice(TIMES)}, {"supabase_id": self.rng.choice(USERS)},
            {"url": "https://example.com/moved.jpg", "meta": {"k": 1}},  # keys no tally
        ]
        change = self.rng.choice(changes)
        Media.objects.filter(pk__in=ids).update(**change)

    def orm_update_everything(self) -> None:
        Media.objects.filter(media_type="image").update(
            aspect_ratio=self.rng.choice(RATIOS[:2]))

    def orm_delete(self) -> None:
        Media.objects.filter(pk__in=self.some_ids(extra=False)[:3]).delete()

    def instance_save(self) -> None:
        ids = self.some_ids(extra=False)
        media = Media.objects.get(pk=ids[0])
        media.category = [*media.category, self.rng.choice(CATEGORIES)]
        media.is_delete = not media.is_delete if self.rng.random() < 0.3 else media.is_delete
        media.save()

    def raw_sql(self) -> None:
        ids = self.some_ids(extra=False)
        statement = self.rng.choice([
            "UPDATE admin_media SET category = array_append(category, 'c') WHERE id = ANY(%s)",
            "UPDATE admin_media SET category = array_remove(category, 'a') WHERE id = ANY(%s)",
            "UPDATE admin_media SET id = id || 'x' WHERE id = ANY(%s)",
            "UPDATE admin_media SET is_delete = NOT is_delete, "
            "created_at = created_at + interval '1 minute' WHERE id = ANY(%s)",
            "UPDATE admin_media SET type = 'image/png', media_type = 'image', "
            "aspect_ratio = NULL WHERE id = ANY(%s)",
            "DELETE FROM admin_media WHERE id = ANY(%s)",
        ])
        with connection.cursor() as cursor:
            cursor.execute(statement, [ids])

    def raw_insert(self) -> None:
        f = self.fields()
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO admin_media (id, supabase_id, record_id, task_id, url, type, "
                "media_type, aspect_ratio, upload_source, category, meta, is_delete, "
                "created_at, updated_at) VALUES (%s, %s, %s, NULL, %s, %s, %s, %s, NULL, %s, "
                "'{}'::jsonb, %s, %s, %s)",
                [f["id"], f["supabase_id"], f["record_id"], f["url"], f["type"],
                 f["media_type"], f["aspect_ratio"], f["category"], f["is_delete"],
                 f["created_at"], f["updated_at"]])

    def rolled_back(self) -> None:
        with pytest.raises(RuntimeError), transaction.atomic():
            Media.objects.update(category=["rolled-back"], is_delete=False)
            Media.objects.create(**self.fields())
            raise RuntimeError("roll back")
        assert not MediaCategoryEntry.objects.filter(category="rolled-back").exists()

    def step(self) -> str:
        count = Media.objects.count()
        creations = [self.orm_create, self.orm_bulk_create, self.raw_insert]
        others = [self.api_patch, self.api_put, self.api_delete, self.orm_update,
                  self.orm_delete, self.instance_save, self.raw_sql, self.rolled_back,
                  self.orm_update_everything]
        if count < 8:
            operation = self.rng.choice(creations)
        elif count > MAX_ROWS:
            operation = self.rng.choice(others)
        else:
            operation = self.rng.choice(creations + others * 2)
        operation()
        return operation.__name__


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_writes_keep_entries_tallies_and_totals_exact(staff: APIClient,
                                                             seed: int) -> None:
    rng = random.Random(seed)
    walk = Walk(rng, staff)
    done = []
    for n in range(70):
        done.append(walk.step())
        assert actual_entries() == set(_entries_from_rows()), done[-5:]
        assert actual_tallies() == expected_tallies(), done[-5:]
        if n % 10 == 9:
            check_api(staff, rng.sample(ALL_QUERIES, 25))
    assert len(set(done)) >= 10  # the walk did try most kinds of write
    assert_derived_tables_exact()
    check_api(staff, ALL_QUERIES)


def _entries_from_rows() -> list[tuple[Any, ...]]:
    return [(category, row["created_at"], row["id"], row["media_type"], row["type"],
             row["supabase_id"])
            for row in Media.objects.values() if not row["is_delete"]
            for category in set(row["category"])]


# -- targeted cases ----------------------------------------------------------------------


def test_every_kind_of_write_on_one_row(staff: APIClient, make_media: Callable[..., Media]
                                        ) -> None:
    media = make_media(id="one", category=["a", "b"], aspect_ratio="16/9")
    assert actual_tallies() == {("", "image", "image/jpeg", "16/9"): 1,
                                ("a", "image", "image/jpeg", "16/9"): 1,
                                ("b", "image", "image/jpeg", "16/9"): 1}
    ok(send(staff, "PUT", {"id": "one", "aspectRatio": "4/3", "category": ["b", "c"]}),
       ZH.UPDATED)
    assert actual_tallies() == {("", "image", "image/jpeg", "4/3"): 1,
                                ("b", "image", "image/jpeg", "4/3"): 1,
                                ("c", "image", "image/jpeg", "4/3"): 1}
    Media.objects.filter(pk="one").update(media_type="video", type="video/mp4",
                                          aspect_ratio=None)
    assert actual_tallies() == {("", "video", "video/mp4", ""): 1,
                                ("b", "video", "video/mp4", ""): 1,
                                ("c", "video", "video/mp4", ""): 1}
    assert actual_entries() == {("b", media.created_at, "one", "video", "video/mp4", "user_456"),
                                ("c", media.created_at, "one", "video", "video/mp4", "user_456")}
    ok(send(staff, "DELETE", {"mediaIds": ["one"]}), ZH.deleted(1))
    assert actual_tallies() == {} and actual_entries() == set()
    Media.objects.filter(pk="one").update(is_delete=False)  # undeleted by hand
    assert listed(get(staff, "category=c&mediaType=video"))["total"] == 1
    Media.objects.filter(pk="one").delete()
    assert actual_tallies() == {} and actual_entries() == set()
    assert listed(get(staff), ZH.NONE_FOUND)["total"] == 0


@pytest.mark.parametrize("change", [{"media_type": "video"}, {"type": "image/png"},
                                    {"aspect_ratio": "4/3"}, {"aspect_ratio": None},
                                    {"created_at": T0}, {"category": ["portrait", "x"]},
                                    {"is_delete": True}, {"supabase_id": "someone"},
                                    {"supabase_id": None}])
def test_each_keyed_column_alone(staff: APIClient, change: dict[str, Any]) -> None:
    """An UPDATE of one column the tables key on, the others unchanged."""
    Media.objects.bulk_create([media_row(n) for n in range(1, 4)])
    Media.objects.filter(pk="bulk_0002").update(**change)
    assert_derived_tables_exact()
    check_api(staff, [{"category": "portrait"}, {"category": "portrait", "mediaType": "video"},
                      {"category": "portrait", "mediaType": "image"}, {"mediaType": "video"},
                      {"type": "image/png"}, {"aspectRatio": "4/3"}, {"category": "x"},
                      {"category": "portrait", "type": "image/png"},
                      {"category": "portrait", "supabaseId": "someone"}])


def test_duplicate_categories_count_once(staff: APIClient) -> None:
    Media.objects.bulk_create([media_row(1, category=["a", "a", "b"]),
                               media_row(2, category=["a"])])
    assert actual_tallies()[("a", "image", "image/jpeg", "16/9")] == 2
    assert listed(get(staff, "category=a"))["total"] == 2
    assert listed(get(staff, "category=a&mediaType=image"))["total"] == 2
    assert ids_of(listed(get(staff, "category=b"))) == ["bulk_0001"]
    Media.objects.filter(pk="bulk_0001").update(category=["b"])
    assert_derived_tables_exact()
    assert listed(get(staff, "category=a"))["total"] == 1


def test_bulk_create_of_deleted_rows_counts_nothing(staff: APIClient) -> None:
    Media.objects.bulk_create([media_row(n, is_delete=True) for n in range(1, 6)])
    assert actual_tallies() == {} and actual_entries() == set()
    assert listed(get(staff, "category=portrait"), ZH.NONE_FOUND)["total"] == 0


def test_updates_that_change_no_key_leave_the_tables(staff: APIClient) -> None:
    Media.objects.bulk_create([media_row(n) for n in range(1, 4)])
    before = (actual_tallies(), actual_entries())
    Media.objects.update(url="https://example.com/moved.jpg", meta={"k": 2},
                         record_id="elsewhere", updated_at=T0 + timedelta(days=9))
    assert (actual_tallies(), actual_entries()) == before
    assert listed(get(staff, "recordId=elsewhere&category=portrait"))["total"] == 3


def test_raw_sql_id_change_moves_the_entries(staff: APIClient) -> None:
    Media.objects.bulk_create([media_row(1), media_row(2)])
    with connection.cursor() as cursor:
        cursor.execute("UPDATE admin_media SET id = 'renamed' WHERE id = 'bulk_0001'")
    assert_derived_tables_exact()
    assert ids_of(listed(get(staff, "category=portrait"))) == ["renamed", "bulk_0002"]


def test_truncate_empties_both_tables(staff: APIClient) -> None:
    Media.objects.bulk_create([media_row(n) for n in range(1, 4)])
    with connection.cursor() as cursor:
        # the FK to storage is deferred: its pending checks would forbid TRUNCATE
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("TRUNCATE admin_media")
    assert MediaTally.objects.count() == 0 and MediaCategoryEntry.objects.count() == 0
    Media.objects.bulk_create([media_row(9)])
    assert_derived_tables_exact()
    assert listed(get(staff, "category=portrait"))["total"] == 1


def test_rolled_back_writes_leave_no_trace(staff: APIClient) -> None:
    Media.objects.bulk_create([media_row(1)])
    before = (actual_tallies(), actual_entries())
    with pytest.raises(RuntimeError), transaction.atomic():
        Media.objects.bulk_create([media_row(n) for n in range(2, 6)])
        Media.objects.filter(pk="bulk_0001").update(category=["x"])
        raise RuntimeError("roll back")
    assert (actual_tallies(), actual_entries()) == before
    assert listed(get(staff, "category=portrait"))["total"] == 1


# -- hypothesis: the same writes, shrunk to the shortest failing sequence ----------------

CREATIONS = ["orm_create", "orm_bulk_create", "raw_insert"]
OTHERS = ["api_patch", "api_put", "api_delete", "orm_update", "orm_update_everything",
          "orm_delete", "instance_save", "raw_sql", "rolled_back"]


def test_stateful_writes_keep_entries_and_tallies_exact(staff: APIClient) -> None:
    class Writes(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            Media.objects.all().delete()
            self.walk = Walk(random.Random(0), staff)

        @rule(operation=st.sampled_from(CREATIONS + OTHERS), seed=st.integers(0, 2**16))
        def write(self, operation: str, seed: int) -> None:
            self.walk.rng = random.Random(seed)
            if operation in OTHERS and not Media.objects.exists():
                operation = "orm_bulk_create"
            getattr(self.walk, operation)()

        @invariant()
        def derived_tables_exact(self) -> None:
            assert actual_entries() == set(_entries_from_rows())
            assert actual_tallies() == expected_tallies()

        def teardown(self) -> None:
            check_api(staff, ALL_QUERIES[::9])

    run_state_machine_as_test(Writes, settings=settings(
        max_examples=12, stateful_step_count=15, deadline=None, database=None,
        suppress_health_check=list(HealthCheck)))


# -- concurrent console writes -------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_concurrent_writes_neither_deadlock_nor_drift(make_user: Callable[..., Any]) -> None:
    """Four consoles PATCH, PUT and DELETE overlapping batches at once: every request is
    answered (no deadlock, no 500) and the tables are exact afterwards."""
    user = make_user("ops", is_staff=True)
    ids = [row.pk for row in Media.objects.bulk_create(
        [media_row(n, category=["a", "b"][: n % 2 + 1]) for n in range(1, 41)])]
    barrier = threading.Barrier(4)
    statuses: list[int] = []
    failures: list[BaseException] = []

    def console(seed: int) -> None:
        rng = random.Random(seed)
        client = APIClient()
        client.force_authenticate(user)
        try:
            barrier.wait(timeout=10)
            for _ in range(12):
                picked = rng.sample(ids, 10)
                method = rng.choice(["PATCH", "PATCH", "PUT", "DELETE"])
                bodies: dict[str, dict[str, Any]] = {
                    "PATCH": {"mediaIds": picked, "category": rng.sample(CATEGORIES, 2)},
                    "PUT": {"id": picked[0], "aspectRatio": rng.choice(["4/3", "1/1"]),
                            "category": rng.sample(CATEGORIES, 1)},
                    "DELETE": {"mediaIds": picked[:2]}}
                statuses.append(send(client, method, bodies[method]).status_code)
        except BaseException as exc:  # reported by the main thread
            failures.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=console, args=(seed,)) for seed in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not failures and not any(thread.is_alive() for thread in threads)
    assert len(statuses) == 48 and set(statuses) <= {200, 404}
    assert_derived_tables_exact()
    staff = APIClient()
    staff.force_authenticate(user)
    check_api(staff, ALL_QUERIES[::5])
