"""Input and output serializers of the accounts endpoints (private to this app)."""

from __future__ import annotations

from rest_framework import serializers

from apps.accounts.models import ApiKey, Membership, Role, Scope, User, Workspace


class AccountsRegisterInputSerializer(serializers.Serializer):
    username = serializers.RegexField(r"^[\w.@+-]+\Z", max_length=150)
    password = serializers.CharField(max_length=128, write_only=True, trim_whitespace=False)
    email = serializers.EmailField(required=False, allow_blank=True, default="")


class AccountsUserSerializer(serializers.ModelSerializer):
    # blank when the user gave none, so not documented as format "email"
    email = serializers.CharField(read_only=True)

    class Meta:
        model = User
        fields = ["id", "username", "email", "is_staff", "date_joined"]
        read_only_fields = fields


class AccountsApiKeyInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    scopes = serializers.ListField(
        child=serializers.ChoiceField(choices=Scope.choices), min_length=1, max_length=3,
        default=lambda: [Scope.READ])
    expires_at = serializers.DateTimeField(required=False, allow_null=True, default=None)


class AccountsApiKeySerializer(serializers.ModelSerializer):
    is_active = serializers.BooleanField(read_only=True)

    class Meta:
        model = ApiKey
        fields = ["id", "name", "prefix", "scopes", "created_at", "expires_at",
                  "last_used_at", "revoked_at", "is_active"]
        read_only_fields = fields


class AccountsApiKeyCreatedSerializer(AccountsApiKeySerializer):
    key = serializers.CharField(read_only=True, help_text="The secret. Shown once; store it now.")

    class Meta(AccountsApiKeySerializer.Meta):
        fields = [*AccountsApiKeySerializer.Meta.fields, "key"]
        read_only_fields = fields


class AccountsWorkspaceInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)


class AccountsMembershipSerializer(serializers.ModelSerializer):
    user_id = serializers.UUIDField(source="user.id", read_only=True)
    username = serializers.CharField(source="user.username", read_only=True)

    class Meta:
        model = Membership
        fields = ["user_id", "username", "role", "created_at"]
        read_only_fields = fields


class AccountsWorkspaceSerializer(serializers.ModelSerializer):
    role = serializers.SerializerMethodField()

    class Meta:
        model = Workspace
        fields = ["id", "name", "created_at", "role"]
        read_only_fields = fields

    def get_role(self, workspace: Workspace) -> str | None:
        roles: dict = self.context.get("roles", {})
        return roles.get(workspace.pk)


class AccountsWorkspaceDetailSerializer(AccountsWorkspaceSerializer):
    members = AccountsMembershipSerializer(source="memberships", many=True, read_only=True)

    class Meta(AccountsWorkspaceSerializer.Meta):
        fields = [*AccountsWorkspaceSerializer.Meta.fields, "members"]
        read_only_fields = fields


class AccountsMemberInputSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    role = serializers.ChoiceField(choices=Role.choices, default=Role.MEMBER)
