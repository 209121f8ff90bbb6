"""Test URLconf: one probe view per feature app, each raising the error it is asked for.

The views are declared as if they lived in each app's ``views`` module, so the exception
handler resolves the dialect exactly as it does for the apps' real views.
"""

from __future__ import annotations

from typing import Any

from django.urls import include, path
from rest_framework import exceptions, serializers
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import BaseThrottle
from rest_framework.views import APIView

from apps.core.errors import ConflictError

APPS = ["user_library", "media_library", "ai_media", "author_media", "admin_media"]


class _Body(serializers.Serializer):
    name = serializers.CharField(max_length=5)
    count = serializers.IntegerField(min_value=1)


class _AlwaysThrottled(BaseThrottle):
    def allow_request(self, request: Any, view: Any) -> bool:
        return False

    def wait(self) -> float:
        return 42.0


def _probe(app: str) -> type[APIView]:
    class Probe(APIView):
        permission_classes = [AllowAny]

        def get_permissions(self) -> list[Any]:
            if self.kwargs.get("kind") == "auth":
                return [IsAuthenticated()]
            return super().get_permissions()

        def get_throttles(self) -> list[Any]:
            return [_AlwaysThrottled()] if self.kwargs.get("kind") == "throttled" else []

        def post(self, request: Request, kind: str) -> Response:
            _Body(data=request.data).is_valid(raise_exception=True)
            return Response({"ok": True})

        def get(self, request: Request, kind: str) -> Response:
            if kind == "notfound":
                raise exceptions.NotFound("Item not found")
            if kind == "conflict":
                raise ConflictError("Already there")
            if kind == "crash":
                raise RuntimeError("SELECT secret FROM passwords -- boom")
            return Response({"ok": True})

    Probe.__module__ = f"{app}.views"
    Probe.__qualname__ = Probe.__name__ = f"{app}_probe"
    return Probe


urlpatterns = [
    path(f"probe/{app}/<str:kind>", _probe(app).as_view()) for app in APPS
] + [path("", include("config.urls"))]

handler404 = "apps.core.views.not_found"
handler500 = "apps.core.views.server_error"
