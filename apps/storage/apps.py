from django.apps import AppConfig


class StorageConfig(AppConfig):
    name = "apps.storage"
    label = "storage"
    verbose_name = "Storage"
    error_dialect = "problem"
    url_prefixes = ("/files",)

    def ready(self) -> None:
        from apps.core.metrics import register_collector
        from apps.storage import health  # noqa: F401  (registers the storage check)
        from apps.storage.metrics import StorageCollector

        register_collector(StorageCollector())
