"""Thin views over the accounts services and selectors."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView
from rest_framework_simplejwt import views as jwt_views

from apps.accounts import selectors, services
from apps.accounts.conf import accounts_settings
from apps.accounts.models import Membership, Scope
from apps.accounts.permissions import request_user
from apps.accounts.serializers import (
    AccountsApiKeyCreatedSerializer,
    AccountsApiKeyInputSerializer,
    AccountsApiKeySerializer,
    AccountsMemberInputSerializer,
    AccountsMembershipSerializer,
    AccountsRegisterInputSerializer,
    AccountsUserSerializer,
    AccountsWorkspaceDetailSerializer,
    AccountsWorkspaceInputSerializer,
    AccountsWorkspaceSerializer,
)
from apps.core.errors import PermissionDeniedError


class RegisterView(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list[Any] = []
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "auth"

    @extend_schema(request=AccountsRegisterInputSerializer,
                   responses={201: AccountsUserSerializer}, tags=["auth"])
    def post(self, request: Request) -> Response:
        if not accounts_settings.REGISTRATION_OPEN:
            raise PermissionDeniedError("Registration is closed.")
        data = AccountsRegisterInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = services.user_register(**data.validated_data)
        return Response(AccountsUserSerializer(user).data, status=status.HTTP_201_CREATED)


class TokenObtainView(jwt_views.TokenObtainPairView):
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "auth"


class TokenRefreshView(jwt_views.TokenRefreshView):
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "auth"


class MeView(APIView):
    @extend_schema(responses=AccountsUserSerializer, tags=["auth"])
    def get(self, request: Request) -> Response:
        return Response(AccountsUserSerializer(request.user).data)


class ApiKeyListCreateView(APIView):
    """API keys are managed with a login (JWT or session) or an admin-scoped key only."""

    required_scope = Scope.ADMIN

    @extend_schema(responses=AccountsApiKeySerializer(many=True), tags=["auth"])
    def get(self, request: Request) -> Response:
        keys = selectors.api_key_list(user=request_user(request))
        return Response(AccountsApiKeySerializer(keys, many=True).data)

    @extend_schema(request=AccountsApiKeyInputSerializer,
                   responses={201: AccountsApiKeyCreatedSerializer}, tags=["auth"])
    def post(self, request: Request) -> Response:
        data = AccountsApiKeyInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        issued = services.api_key_create(user=request_user(request), **data.validated_data)
        body = dict(AccountsApiKeySerializer(issued.key).data, key=issued.token)
        return Response(body, status=status.HTTP_201_CREATED)


class ApiKeyDetailView(APIView):
    required_scope = Scope.ADMIN

    @extend_schema(responses={204: OpenApiResponse(description="Revoked")}, tags=["auth"])
    def delete(self, request: Request, key_id: str) -> Response:
        services.api_key_revoke(user=request_user(request), key_id=key_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


def _roles(user: Any) -> dict[Any, str]:
    return dict(Membership.objects.filter(user=user).values_list("workspace_id", "role"))


class WorkspaceListCreateView(APIView):
    @extend_schema(responses=AccountsWorkspaceSerializer(many=True), tags=["workspaces"])
    def get(self, request: Request) -> Response:
        workspaces = selectors.workspace_list(user=request_user(request))
        context = {"roles": _roles(request_user(request))}
        return Response(AccountsWorkspaceSerializer(workspaces, many=True, context=context).data)

    @extend_schema(request=AccountsWorkspaceInputSerializer,
                   responses={201: AccountsWorkspaceDetailSerializer}, tags=["workspaces"])
    def post(self, request: Request) -> Response:
        data = AccountsWorkspaceInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        workspace = services.workspace_create(user=request_user(request), **data.validated_data)
        context = {"roles": _roles(request_user(request))}
        return Response(AccountsWorkspaceDetailSerializer(workspace, context=context).data,
                        status=status.HTTP_201_CREATED)


class WorkspaceDetailView(APIView):
    @extend_schema(responses=AccountsWorkspaceDetailSerializer, tags=["workspaces"])
    def get(self, request: Request, workspace_id: str) -> Response:
        workspace = selectors.workspace_get(user=request_user(request), workspace_id=workspace_id)
        context = {"roles": _roles(request_user(request))}
        return Response(AccountsWorkspaceDetailSerializer(workspace, context=context).data)


class WorkspaceMembersView(APIView):
    @extend_schema(request=AccountsMemberInputSerializer,
                   responses={201: AccountsMembershipSerializer}, tags=["workspaces"])
    def post(self, request: Request, workspace_id: str) -> Response:
        workspace = selectors.workspace_get(user=request_user(request), workspace_id=workspace_id)
        data = AccountsMemberInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        membership = services.membership_add(workspace=workspace, actor=request_user(request),
                                             **data.validated_data)
        return Response(AccountsMembershipSerializer(membership).data,
                        status=status.HTTP_201_CREATED)


class WorkspaceMemberDetailView(APIView):
    @extend_schema(responses={204: OpenApiResponse(description="Removed")}, tags=["workspaces"])
    def delete(self, request: Request, workspace_id: str, user_id: str) -> Response:
        actor = request_user(request)
        workspace = selectors.workspace_get(user=actor, workspace_id=workspace_id)
        services.membership_remove(workspace=workspace, actor=actor, user_id=user_id)
        return Response(status=status.HTTP_204_NO_CONTENT)
