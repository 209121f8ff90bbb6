from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "apps.accounts"
    label = "accounts"
    verbose_name = "Accounts"
    error_dialect = "problem"
    url_prefixes = ("/api/auth", "/api/workspaces")

    def ready(self) -> None:
        from apps.accounts import schema  # noqa: F401  (registers OpenAPI auth schemes)
