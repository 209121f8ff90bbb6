from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "apps.core"
    label = "core"
    verbose_name = "Core"
    error_dialect = "problem"

    def ready(self) -> None:
        from apps.core import lookups, task_signals  # noqa: F401  (connects the signals)

        lookups.register()
