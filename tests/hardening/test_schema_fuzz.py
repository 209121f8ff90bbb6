"""Schema fuzzing: every operation of the OpenAPI document, as four identities.

schemathesis generates requests from the platform's own document and checks each
response: no server error, a documented status code and content type, and a body that
matches the documented schema. The identities are a normal user (JWT), a workspace
member (an API key with read and write scopes), a staff user (JWT) and the operator's
``API_SECRET_KEY``; paths naming a workspace get the member's workspace, so the member
reaches the media library and the others are turned away from it. Fast tier: a few
examples per operation; ``make hardening``: many more.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections, transaction
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, settings
from hypothesis.stateful import run_state_machine_as_test
from rest_framework_simplejwt.tokens import RefreshToken
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from apps.accounts.models import Membership, Role, Scope, Workspace
from apps.accounts.services import api_key_create
from tests.hardening.figures import FULL, distinct, record

OPERATOR_SECRET = "hardening-operator-secret-0123456789abcdef"
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]
EXAMPLES = 60 if FULL else 4


def _document() -> dict[str, Any]:
    generated = SchemaGenerator().get_schema(request=None, public=True)
    return json.loads(json.dumps(generated, default=str))  # lazy strings to plain JSON


schemathesis.serializer.alias("application/offset+octet-stream", "application/octet-stream")  # tus
schema = schemathesis.openapi.from_dict(_document())
schema.app = get_wsgi_application()


@pytest.fixture
def identities(make_user: Any, settings: Any, clip_on: Any) -> Iterator[dict[str, Any]]:
    """Four callers, and the WSGI app's requests kept inside the test's transaction
    (Django closes connections around each request, as its own test client avoids)."""
    settings.API_SECRET_KEY = OPERATOR_SECRET
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    user = make_user("fuzz-user")
    member = make_user("fuzz-member")
    staff = make_user("fuzz-staff", is_staff=True, is_superuser=True)
    workspace = Workspace.objects.create(name="fuzzed", created_by=staff)
    Membership.objects.create(workspace=workspace, user=member, role=Role.MEMBER)
    member_key = api_key_create(user=member, name="fuzz", scopes=[Scope.READ, Scope.WRITE])

    def jwt(who: Any) -> dict[str, str]:
        return {"Authorization": f"Bearer {RefreshToken.for_user(who).access_token}"}

    yield {"user": jwt(user),
           "member": {"Authorization": f"Bearer {member_key.token}"},
           "staff": jwt(staff),
           "operator": {"Authorization": f"Bearer {OPERATOR_SECRET}"},
           "workspace_id": str(workspace.id)}
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.mark.django_db
@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, database=None,
          suppress_health_check=list(HealthCheck))
def test_every_operation_answers_as_documented(case: Any, identities: dict[str, Any]) -> None:
    distinct("FUZZ", operations=case.operation.label)
    if "workspace_id" in (case.path_parameters or {}):
        case.path_parameters["workspace_id"] = identities["workspace_id"]
    for name in ("user", "member", "staff", "operator"):
        checked(case, case.call(headers=identities[name]))


def checked(case: Any, response: Any) -> None:
    """Every check on one answer, counted: a failure is recorded, then raised."""
    record("FUZZ", examples=1)
    try:
        case.validate_response(response, checks=CHECKS)
    except BaseException:
        record("FUZZ", server_errors=int(response.status_code >= 500),
               violations=int(response.status_code < 500))
        raise


@pytest.mark.skipif(not FULL, reason="make hardening: the stateful walk of the links")
@pytest.mark.django_db
def test_create_read_update_delete_chains_follow_the_links(identities: dict[str, Any]) -> None:
    """The document's links (apps/core/openapi.add_links) walked by schemathesis's state
    machine as the workspace member: create, then read, update and delete what was
    created, every answer checked as above."""
    workspace_id = identities["workspace_id"]

    class Workflow(schema.as_state_machine()):  # type: ignore[misc]
        def setup(self) -> None:  # each scenario from the same database: replayable
            self.savepoint = transaction.savepoint()

        def teardown(self) -> None:
            transaction.savepoint_rollback(self.savepoint)

        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            if "workspace_id" in (case.path_parameters or {}):
                case.path_parameters["workspace_id"] = workspace_id
            return {"headers": identities["member"]}

        def validate_response(self, response: Any, case: Any, **kwargs: Any) -> None:
            distinct("FUZZ", operations=case.operation.label)
            checked(case, response)

    run_state_machine_as_test(Workflow, settings=settings(
        max_examples=40, stateful_step_count=8, deadline=None, database=None,
        suppress_health_check=list(HealthCheck)))
