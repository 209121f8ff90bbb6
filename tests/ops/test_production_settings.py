"""config.production: refuses to start half-configured, and passes `check --deploy`."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ENTRYPOINT = ROOT / "deploy" / "docker-entrypoint.sh"


def production_env(**overrides: str | None) -> dict[str, str]:
    """The environment a production container gets; the services need not answer, since
    the checks only read settings. None removes a variable."""
    env = {key: value for key, value in os.environ.items()
           if key not in ("DATABASE_URL", "REDIS_URL", "CLAMD_ADDRESS", "SECRET_KEY",
                          "ALLOWED_HOSTS", "STORAGE_BACKEND", "LOG_FORMAT", "REQUEST_LOG")}
    env.update({
        "DJANGO_SETTINGS_MODULE": "config.production",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "media.example.com",
        "DATABASE_URL": "postgresql://media:secret@127.0.0.1:1/media",
        "REDIS_URL": "redis://127.0.0.1:1/0",
        "CLAMD_ADDRESS": "tcp://127.0.0.1:1",
        "AWS_S3_ENDPOINT_URL": "http://127.0.0.1:1",
        "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}",
    })
    for key, value in overrides.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120, check=False)


def test_check_deploy_passes_with_the_production_settings() -> None:
    proc = manage("check", "--deploy", "--fail-level", "WARNING", env=production_env())
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "no issues" in proc.stdout


def test_the_image_entrypoint_runs_manage_commands_with_them() -> None:
    proc = subprocess.run([str(ENTRYPOINT), "manage", "check", "--deploy", "--fail-level",
                           "WARNING"], cwd=ROOT, env=production_env(), capture_output=True,
                          text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "no issues" in proc.stdout


def test_the_production_defaults_are_on() -> None:
    code = ("from django.conf import settings as s; print(s.DEBUG, s.SECURE_SSL_REDIRECT, "
            "s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_HSTS_SECONDS, "
            "s.STORAGES['default']['BACKEND'], s.SCAN_REQUIRED, s.LOG_FORMAT, s.REQUEST_LOG, "
            "s.SECURE_PROXY_SSL_HEADER)")
    proc = manage("shell", "-c", code, env=production_env(DEBUG="true"))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == (
        "False True True True 31536000 apps.storage.backends.S3Storage True json True "
        "('HTTP_X_FORWARDED_PROTO', 'https')")


def test_missing_services_or_secrets_stop_the_start_and_are_named() -> None:
    proc = manage("check", env=production_env(SECRET_KEY=None, REDIS_URL=None))
    assert proc.returncode != 0
    assert "production settings need SECRET_KEY, REDIS_URL" in proc.stderr
    # it refused before config.settings could start an embedded PostgreSQL
    proc = manage("check", env=production_env(DATABASE_URL=""))
    assert "production settings need DATABASE_URL" in proc.stderr


def test_a_weak_secret_key_is_refused() -> None:
    proc = manage("check", env=production_env(SECRET_KEY="short-and-guessable"))
    assert proc.returncode != 0
    assert "SECRET_KEY must be at least 50 random characters" in proc.stderr
