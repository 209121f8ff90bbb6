"""How feature apps hook into the shared worker without the worker importing them.

A feature app says, in its ``AppConfig.ready()``::

    registry.register_media_model(
        "user_library.LibraryItem", file_field="stored_file",
        steps=("probe", "thumbnails"), retention_days=30)

and the pipeline, the sweeper and the purge find its rows through model labels. Steps
are registered the same way by whoever provides them (``register_step``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.apps import apps
from django.db import models

from apps.storage.models import StoredFile

StepFunc = Callable[[StoredFile], None]
PurgeFunc = Callable[[Any], None]  # called with a row of the registered model


@dataclass(frozen=True)
class MediaModel:
    label: str  # "app_label.ModelName"
    file_field: str  # the ForeignKey/OneToOne to StoredFile; "" for rows without files
    steps: tuple[str, ...] = ("probe",)
    retention_days: int | None = None  # recycle-bin retention; None: no purge
    purge: PurgeFunc | None = None  # custom permanent delete; default: row then file
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def model(self) -> type[models.Model]:
        return apps.get_model(self.label)


@dataclass(frozen=True)
class Step:
    name: str
    func: StepFunc


@dataclass(frozen=True)
class LinkModel:
    """A model whose rows hold a URL and get its preview (media_library's saved links)."""

    label: str
    url_field: str = "url"
    preview_field: str = "preview"  # a JSONField

    @property
    def model(self) -> type[models.Model]:
        return apps.get_model(self.label)


_MEDIA_MODELS: dict[str, MediaModel] = {}
_LINK_MODELS: dict[str, LinkModel] = {}
_STEPS: dict[str, Step] = {}


def register_media_model(label: str, *, file_field: str, steps: tuple[str, ...] = ("probe",),
                         retention_days: int | None = None, purge: PurgeFunc | None = None,
                         **extra: Any) -> MediaModel:
    entry = MediaModel(label, file_field, tuple(steps), retention_days, purge, extra)
    _MEDIA_MODELS[label] = entry
    return entry


def register_link_model(label: str, *, url_field: str = "url",
                        preview_field: str = "preview") -> LinkModel:
    entry = LinkModel(label, url_field, preview_field)
    _LINK_MODELS[label] = entry
    return entry


def link_model(label: str) -> LinkModel:
    try:
        return _LINK_MODELS[label]
    except KeyError:
        raise LookupError(f"no link model {label!r} is registered") from None


def register_step(name: str, func: StepFunc) -> None:
    _STEPS[name] = Step(name, func)


def media_models() -> list[MediaModel]:
    return list(_MEDIA_MODELS.values())


def step(name: str) -> Step:
    try:
        return _STEPS[name]
    except KeyError:
        raise LookupError(f"no processing step named {name!r} is registered") from None


def steps_for(stored: StoredFile) -> tuple[str, ...]:
    """The steps of the first registered model that holds this file, else the defaults."""
    from apps.processing.conf import processing_settings

    for entry in _MEDIA_MODELS.values():
        if entry.file_field and entry.model._default_manager.filter(
                **{entry.file_field: stored}).exists():
            return entry.steps
    return tuple(processing_settings.DEFAULT_STEPS)


def unregister_media_model(label: str) -> None:
    """For tests."""
    _MEDIA_MODELS.pop(label, None)
