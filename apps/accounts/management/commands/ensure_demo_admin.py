"""Make sure a superuser exists so that a fresh `make run` can log in to /admin/.

Takes DJANGO_SUPERUSER_USERNAME / DJANGO_SUPERUSER_PASSWORD when set; otherwise uses
"admin" with a random password kept in var/demo_admin_password (printed each time).
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from apps.accounts.models import User


class Command(BaseCommand):
    help = "Create (or report) the demo admin account used by `make run`."

    def handle(self, *args: Any, **options: Any) -> None:
        username = os.environ.get("DJANGO_SUPERUSER_USERNAME") or "admin"
        password = os.environ.get("DJANGO_SUPERUSER_PASSWORD") or self._stored_password()
        user = User.objects.filter(username=username).first()
        if user is None:
            user = User.objects.create_superuser(username=username, email="", password=password)
            verb = "Created"
        else:
            if not user.check_password(password):  # keep what we print true
                user.set_password(password)
                user.save(update_fields=["password"])
            verb = "Using"
        self.stdout.write(f"{verb} admin account: username={username} password={password}")

    @staticmethod
    def _stored_password() -> str:
        path = Path(settings.VAR_DIR) / "demo_admin_password"
        if path.exists():
            return path.read_text().strip()
        password = secrets.token_urlsafe(12)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(password)
        path.chmod(0o600)
        return password
