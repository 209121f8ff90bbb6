"""The admin base for rows the platform derives or records itself (audit logs, counters,
vectors, reservations): operators look at them, only the services write them."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest


class ReadOnlyAdmin(admin.ModelAdmin):
    """No add, change or delete: an edit here would bypass the service that keeps the
    row consistent with the others (a tag count with its tags, a ledger with its files).
    ``deletable`` admits deleting rows that nothing else counts on."""

    deletable = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.deletable and super().has_delete_permission(request, obj)
