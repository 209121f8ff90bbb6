"""Multipart uploads: ``initiate`` reserves the declared size; parts go to presigned S3
part URLs (moto server) or, on local storage, through this server; ``complete`` checks
the part list against what was uploaded and the reservation, then records one MediaFile;
``abort`` and the expiry task give everything back. The expiry covers tus sessions too.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any

import pytest
import requests
from django.utils import timezone
from rest_framework.test import APIClient

from apps.accounts.models import User
from apps.storage import quota
from apps.storage.models import QuotaLedger, QuotaReservation, StoredFile
from author_media import upload_sessions
from author_media.conf import QUOTA_BUCKET
from author_media.models import MediaFile, UploadProtocol, UploadSession
from author_media.upload_tasks import expire_uploads
from tests.apps.storage.helpers import s3_client
from tests.user_library.conftest import LibraryStorage
from tests.user_library.helpers import PNG

MIB = 1024 * 1024
PART = 5 * MIB  # S3's smallest part (but the last)
DATA = PNG + bytes(range(256)) * ((2 * PART + 3000 - len(PNG)) // 256) + b"end"
SIZES = [PART, PART, len(DATA) - 2 * PART]
BASE = "/v1/media/upload/multipart"


@pytest.fixture(autouse=True)
def _staging(settings: Any, tmp_path: Any) -> None:
    settings.AUTHOR_MEDIA = {**(getattr(settings, "AUTHOR_MEDIA", None) or {}),
                             "UPLOAD_STAGING_DIR": str(tmp_path / "uploads")}


def ledger(user: User) -> QuotaLedger:
    return quota.ledger_for(user, QUOTA_BUCKET)


def chunk(number: int, data: bytes = DATA) -> bytes:
    return data[(number - 1) * PART:number * PART]


def initiate(client: APIClient, data: bytes = DATA, **fields: Any) -> Any:
    body = {"filename": "poster.png", "mimeType": "image/png", "size": len(data), **fields}
    return client.post(f"{BASE}/initiate", body, format="json")


def put_part(client: APIClient, upload_id: str, number: int, data: bytes) -> str:
    """Ask where part ``number`` goes, send it there; its ETag."""
    answer = client.post(f"{BASE}/part", {"uploadId": upload_id, "partNumber": number},
                         format="json")
    assert answer.status_code == 200, answer.content
    target = answer.json()
    assert target["method"] == "PUT"
    if target["url"].startswith("http://testserver/"):
        sent = APIClient().put(target["url"], data, content_type="application/octet-stream")
        assert sent.status_code == 200, sent.content
        return str(sent["ETag"])
    response = requests.put(target["url"], data=data, timeout=60)
    assert response.status_code == 200, response.text
    return str(response.headers["ETag"])


def complete(client: APIClient, upload_id: str, parts: list[tuple[int, str]],
             capture: Any) -> Any:
    body = {"uploadId": upload_id,
            "parts": [{"partNumber": n, "etag": etag} for n, etag in parts]}
    with capture():
        return client.post(f"{BASE}/complete", body, format="json")


def session_of(upload_id: str) -> UploadSession:
    return UploadSession.objects.get(pk=upload_id)


def s3_uploads(storage: LibraryStorage, request: pytest.FixtureRequest) -> list[Any]:
    """The multipart uploads the moto bucket holds (none on local storage)."""
    if storage.name != "s3":
        return []
    client = s3_client(request.getfixturevalue("s3_endpoint"))
    listed = client.list_multipart_uploads(Bucket=request.getfixturevalue("s3_bucket"))
    return list(listed.get("Uploads", []))


def nothing_uploaded_remains(storage: LibraryStorage, session: UploadSession,
                             request: pytest.FixtureRequest) -> None:
    assert storage.stored_keys() == set()
    assert not upload_sessions.parts_dir(session).exists()
    assert s3_uploads(storage, request) == []


def test_parts_out_of_order_and_retried_make_one_file(
        client: APIClient, author: User, storage: LibraryStorage,
        django_capture_on_commit_callbacks: Any, request: pytest.FixtureRequest) -> None:
    started = initiate(client, folder="posters", tags=["big"])
    assert started.status_code == 201, started.content
    body = started.json()
    assert (body["partSize"], body["partCount"]) == (PART, 3)
    assert body["partUpload"] == ("presigned" if storage.name == "s3" else "api")
    assert ledger(author).reserved_bytes == len(DATA)
    upload_id = body["uploadId"]
    etags = {3: put_part(client, upload_id, 3, chunk(3))}
    put_part(client, upload_id, 1, b"\7" * PART)  # a part sent wrong ...
    etags[2] = put_part(client, upload_id, 2, chunk(2))
    etags[1] = put_part(client, upload_id, 1, chunk(1))  # ... and sent again
    assert etags[1] == f'"{hashlib.md5(chunk(1), usedforsecurity=False).hexdigest()}"'

    done = complete(client, upload_id, [(3, etags[3]), (1, etags[1]), (2, etags[2])],
                    django_capture_on_commit_callbacks)
    assert done.status_code == 201, done.content
    media = done.json()
    assert (media["fileSize"], media["mimeType"], media["folder"], media["tags"]) == (
        len(DATA), "image/png", "posters", ["big"])
    assert media["sha256"] == hashlib.sha256(DATA).hexdigest()
    row = MediaFile.objects.get(pk=media["id"])
    assert storage.read(row.storage_path) == DATA
    assert storage.stored_keys() == {row.storage_path}
    quota_row = ledger(author)
    assert (quota_row.used_bytes, quota_row.reserved_bytes) == (len(DATA), 0)
    session = session_of(upload_id)
    assert session.state == "completed" and session.media_file_id == row.pk
    assert not upload_sessions.parts_dir(session).exists()
    assert s3_uploads(storage, request) == []
    again = complete(client, upload_id, [(1, etags[1]), (2, etags[2]), (3, etags[3])],
                     django_capture_on_commit_callbacks)
    assert again.status_code == 200 and again.json()["id"] == media["id"]


def test_a_wrong_part_list_changes_nothing(client: APIClient, author: User,
                                           storage: LibraryStorage,
                                           django_capture_on_commit_callbacks: Any) -> None:
    upload_id = initiate(client).json()["uploadId"]
    etags = {n: put_part(client, upload_id, n, chunk(n)) for n in (1, 2, 3)}
    wrong_lists = [
        [(1, etags[1]), (2, etags[2])],  # a part missing
        [(1, etags[1]), (2, etags[1]), (3, etags[3])],  # an ETag that is not part 2's
        [(1, etags[1]), (2, etags[2]), (3, etags[3]), (4, etags[3])],  # no part 4
        [(1, etags[1]), (1, etags[1]), (2, etags[2]), (3, etags[3])],  # repeated
    ]
    for parts in wrong_lists:
        response = complete(client, upload_id, parts, django_capture_on_commit_callbacks)
        assert response.status_code == 400, (parts, response.content)
        assert "parts" in response.json()["errors"]
    assert session_of(upload_id).state == "open"
    assert ledger(author).reserved_bytes == len(DATA) and not StoredFile.objects.exists()
    done = complete(client, upload_id, sorted(etags.items()), django_capture_on_commit_callbacks)
    assert done.status_code == 201, done.content


def test_a_part_of_the_wrong_size_is_refused(client: APIClient, author: User,
                                             storage: LibraryStorage,
                                             django_capture_on_commit_callbacks: Any) -> None:
    upload_id = initiate(client).json()["uploadId"]
    etags = {n: put_part(client, upload_id, n, chunk(n)) for n in (2, 3)}
    short = chunk(1)[:-1]
    if storage.name == "local":  # the server takes exactly the part's size
        answer = client.post(f"{BASE}/part", {"uploadId": upload_id, "partNumber": 1},
                             format="json").json()
        sent = APIClient().put(answer["url"], short, content_type="application/octet-stream")
        assert sent.status_code == 422 and sent.json()["expectedBytes"] == PART
        longer = APIClient().put(answer["url"], chunk(1) + b"x",
                                 content_type="application/octet-stream")
        assert longer.status_code == 422
        assert not upload_sessions.part_path(session_of(upload_id), 1).exists()
    else:  # S3 takes any size: complete checks it
        etag = put_part(client, upload_id, 1, short)
        response = complete(client, upload_id, [(1, etag), (2, etags[2]), (3, etags[3])],
                            django_capture_on_commit_callbacks)
        assert response.status_code == 400
        assert any("Part 1 is" in m for m in response.json()["errors"]["parts"])
        assert session_of(upload_id).state == "open"
    etags[1] = put_part(client, upload_id, 1, chunk(1))
    done = complete(client, upload_id, sorted(etags.items()), django_capture_on_commit_callbacks)
    assert done.status_code == 201, done.content
    assert ledger(author).used_bytes == len(DATA)


def test_abort_releases_the_quota_and_drops_the_parts(
        client: APIClient, author: User, storage: LibraryStorage,
        django_capture_on_commit_callbacks: Any, request: pytest.FixtureRequest) -> None:
    upload_id = initiate(client).json()["uploadId"]
    etag = put_part(client, upload_id, 1, chunk(1))
    aborted = client.post(f"{BASE}/abort", {"uploadId": upload_id}, format="json")
    assert aborted.status_code == 204
    session = session_of(upload_id)
    assert session.state == "aborted" and session.reservation_id is None
    assert ledger(author).reserved_bytes == 0 and not QuotaReservation.objects.exists()
    nothing_uploaded_remains(storage, session, request)
    gone = client.post(f"{BASE}/part", {"uploadId": upload_id, "partNumber": 2},
                       format="json")
    assert gone.status_code == 410 and gone.json()["code"] == "upload_gone"
    assert complete(client, upload_id, [(1, etag)],
                    django_capture_on_commit_callbacks).status_code == 410
    assert client.post(f"{BASE}/abort", {"uploadId": upload_id},
                       format="json").status_code == 204  # idempotent


def test_abandoned_uploads_expire(client: APIClient, author: User, storage: LibraryStorage,
                                  request: pytest.FixtureRequest) -> None:
    upload_id = initiate(client).json()["uploadId"]
    put_part(client, upload_id, 2, chunk(2))
    UploadSession.objects.filter(pk=upload_id).update(
        expires_at=timezone.now() - timedelta(seconds=1))
    assert expire_uploads() == 1
    session = session_of(upload_id)
    assert session.state == "expired"
    assert ledger(author).reserved_bytes == 0 and not QuotaReservation.objects.exists()
    nothing_uploaded_remains(storage, session, request)
    assert expire_uploads() == 0


def test_expiry_closes_tus_sessions_too(author: User, local_storage: LibraryStorage) -> None:
    """The beat task expires sessions of every protocol: a tus upload's staged bytes
    (``staging_path``) go and its reservation is released."""
    session = upload_sessions.session_open(
        user=author, protocol=UploadProtocol.TUS,
        declared=upload_sessions.Declared("clip.mp4", "video/mp4", 5000, {}))
    staged = upload_sessions.staging_path(session)
    staged.parent.mkdir(parents=True, exist_ok=True)
    staged.write_bytes(b"\0" * 1200)
    assert ledger(author).reserved_bytes == 5000
    UploadSession.objects.filter(pk=session.pk).update(
        expires_at=timezone.now() - timedelta(seconds=1))
    assert expire_uploads() == 1
    assert not staged.exists() and ledger(author).reserved_bytes == 0
    assert session_of(str(session.pk)).state == "expired"


def test_part_numbers_and_part_sizes_are_checked(client: APIClient, author: User,
                                                 local_storage: LibraryStorage) -> None:
    upload_id = initiate(client).json()["uploadId"]
    for number in (0, 4):
        response = client.post(f"{BASE}/part", {"uploadId": upload_id, "partNumber": number},
                               format="json")
        assert response.status_code == 400, response.content
        assert "partNumber" in response.json()["errors"]
    for part_size in (1024, 6 * 1024**3):
        response = initiate(client, partSize=part_size)
        assert response.status_code == 400, response.content
        assert "partSize" in response.json()["errors"]
    assert UploadSession.objects.count() == QuotaReservation.objects.count() == 1


def test_too_many_parts_is_refused(client: APIClient, author: User,
                                   local_storage: LibraryStorage, settings: Any) -> None:
    settings.AUTHOR_MEDIA = {**settings.AUTHOR_MEDIA, "MAX_PARTS": 2}
    response = initiate(client, partSize=PART)  # three parts of PART
    assert response.status_code == 400 and "partSize" in response.json()["errors"]
    assert not UploadSession.objects.exists() and not QuotaReservation.objects.exists()
    chosen = initiate(client).json()  # without partSize: the smallest that fits
    assert (chosen["partCount"], chosen["partSize"]) == (2, -(-len(DATA) // 2))


def test_initiate_over_the_storage_limit_is_refused(client: APIClient, author: User,
                                                    storage: LibraryStorage,
                                                    settings: Any,
                                                    request: pytest.FixtureRequest) -> None:
    settings.AUTHOR_MEDIA = {**settings.AUTHOR_MEDIA, "TIERS": {
        "free": {"storage": len(DATA) - 1, "bandwidth": 10**12}}}
    response = initiate(client)
    assert response.status_code == 413 and response.json()["code"] == "storage_limit_exceeded"
    assert not UploadSession.objects.exists() and ledger(author).reserved_bytes == 0
    assert s3_uploads(storage, request) == []  # no S3 upload was started either


def test_local_parts_may_be_sent_to_the_part_endpoint(
        client: APIClient, author: User, local_storage: LibraryStorage,
        django_capture_on_commit_callbacks: Any) -> None:
    upload_id = initiate(client).json()["uploadId"]
    etags = {}
    for number in (2, 1, 3):
        sent = client.post(f"{BASE}/part?uploadId={upload_id}&partNumber={number}",
                           chunk(number), content_type="application/octet-stream")
        assert sent.status_code == 200, sent.content
        assert sent.json()["partNumber"] == number and sent.json()["size"] == SIZES[number - 1]
        etags[number] = sent.json()["etag"]
    done = complete(client, upload_id, sorted(etags.items()), django_capture_on_commit_callbacks)
    assert done.status_code == 201, done.content
    assert local_storage.read(MediaFile.objects.get().storage_path) == DATA


def test_dedup_at_complete(client: APIClient, author: User, upload: Any,
                           local_storage: LibraryStorage,
                           django_capture_on_commit_callbacks: Any) -> None:
    first = upload(DATA, filename="poster.png").json()
    upload_id = initiate(client).json()["uploadId"]
    etags = {n: put_part(client, upload_id, n, chunk(n)) for n in (1, 2, 3)}
    done = complete(client, upload_id, sorted(etags.items()), django_capture_on_commit_callbacks)
    assert done.status_code == 200, done.content
    assert done.json()["duplicateOf"] == first["id"]
    assert MediaFile.objects.count() == StoredFile.objects.count() == 1
    assert ledger(author).used_bytes == len(DATA) and ledger(author).reserved_bytes == 0
    assert not upload_sessions.parts_dir(session_of(upload_id)).exists()


def test_a_presigned_upload_is_not_a_multipart_one(client: APIClient,
                                                   local_storage: LibraryStorage) -> None:
    presigned = client.post("/v1/media/upload/presigned", {
        "filename": "a.png", "mimeType": "image/png", "size": len(PNG)}, format="json").json()
    response = client.post(f"{BASE}/part", {"uploadId": presigned["uploadId"],
                                            "partNumber": 1}, format="json")
    assert response.status_code == 404
