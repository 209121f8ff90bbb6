from django.apps import AppConfig


class ProcessingConfig(AppConfig):
    name = "apps.processing"
    label = "processing"
    verbose_name = "Processing"
    error_dialect = "problem"

    def ready(self) -> None:
        from apps.core.metrics import register_collector
        from apps.processing import health, steps  # noqa: F401  (register checks and steps)
        from apps.processing.metrics import QueueDepthCollector

        register_collector(QueueDepthCollector())
