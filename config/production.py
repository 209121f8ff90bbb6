"""Production settings: ``DJANGO_SETTINGS_MODULE=config.production`` (the Dockerfile's).

The development defaults of ``config.settings`` (an embedded PostgreSQL, a filesystem
broker, a secret generated into var/, plain-text logs, cookies over HTTP) are what make
``make run`` work with no configuration; in production each of them is a mistake that
would go unnoticed. So this module refuses to start without the services a multi-machine
deployment shares (DATABASE_URL, REDIS_URL, S3, clamd) and an explicit SECRET_KEY and
ALLOWED_HOSTS, and turns on everything ``manage.py check --deploy`` asks for.
docs/deployment.md lists the variables.
"""

from __future__ import annotations

import os

from django.core.exceptions import ImproperlyConfigured

REQUIRED = ("SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL", "REDIS_URL", "CLAMD_ADDRESS")
_missing = [name for name in REQUIRED if not os.environ.get(name, "").strip()]
if _missing:  # checked before config.settings, which would start an embedded PostgreSQL
    raise ImproperlyConfigured(
        f"production settings need {', '.join(_missing)} in the environment "
        "(docs/deployment.md)")
# Production defaults, each still overridable from the environment.
for _name, _value in (("STORAGE_BACKEND", "s3"), ("SCAN_REQUIRED", "true"),
                      ("LOG_FORMAT", "json"), ("REQUEST_LOG", "true")):
    os.environ.setdefault(_name, _value)

from config.env import env_bool, env_int  # noqa: E402
from config.settings import *  # noqa: E402, F403
from config.settings import SECRET_KEY  # noqa: E402

if len(SECRET_KEY) < 50 or len(set(SECRET_KEY)) < 5:
    raise ImproperlyConfigured("SECRET_KEY must be at least 50 random characters")

DEBUG = False
# TLS ends at the load balancer, which says so in X-Forwarded-Proto.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
# Probes and scrapers reach the containers directly over HTTP.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^metrics$"]
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
