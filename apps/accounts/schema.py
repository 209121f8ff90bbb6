"""OpenAPI descriptions of the platform's bearer credentials (drf-spectacular)."""

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class ApiSecretKeyScheme(OpenApiAuthenticationExtension):
    target_class = "apps.accounts.authentication.ApiSecretKeyAuthentication"
    name = "apiSecretKey"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {"type": "http", "scheme": "bearer",
                "description": "The platform's API_SECRET_KEY (admin credential)."}


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "apps.accounts.authentication.ApiKeyAuthentication"
    name = "apiKey"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {"type": "http", "scheme": "bearer", "bearerFormat": "mpk_<prefix>_<secret>",
                "description": "A personal API key, created at /api/auth/api-keys/."}
