"""The Celery application shared by every app.

Configuration comes from Django settings (``CELERY_*``); tasks are discovered in every
installed app's ``tasks`` module. Queues: ``default``, ``media``, ``scan``, ``embeddings``.
"""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("media_platform")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
