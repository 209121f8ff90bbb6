from django.apps import AppConfig


class TestAppConfig(AppConfig):
    """A stand-in feature app: models that use the shared core the way real apps do."""

    name = "tests.testapp"
    label = "testapp"
    error_dialect = "problem"

    def ready(self) -> None:
        from apps.processing import registry
        from tests.testapp.steps import hold

        registry.register_step("test.hold", hold)
        registry.register_link_model("testapp.Link")
        registry.register_media_model("testapp.Clip", file_field="stored_file",
                                      steps=("probe",), retention_days=30)
