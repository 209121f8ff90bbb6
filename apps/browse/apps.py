"""The media browser: HTML pages only; it reads and writes through the public APIs."""

from django.apps import AppConfig


class BrowseConfig(AppConfig):
    name = "apps.browse"
    label = "browse"
    verbose_name = "Media browser"
