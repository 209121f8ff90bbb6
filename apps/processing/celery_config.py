"""Queues, routes and the beat schedule (imported by settings; no Django imports here)."""

from celery.schedules import crontab
from kombu import Queue

QUEUES = ("default", "media", "scan", "embeddings")
TASK_QUEUES = tuple(Queue(name, routing_key=name) for name in QUEUES)
TASK_ROUTES = {
    "processing.run_pipeline": {"queue": "media"},
    "processing.regenerate_variants": {"queue": "media"},
    "processing.link_preview": {"queue": "default"},
    "processing.scan": {"queue": "scan"},
    "processing.embed": {"queue": "embeddings"},
}
BEAT_SCHEDULE = {
    "purge-recycle-bin": {
        "task": "processing.purge_recycle_bin",
        "schedule": crontab(hour=3, minute=0),
    },
    "sweep-stuck": {
        "task": "processing.sweep_stuck",
        "schedule": 300.0,
    },
}
