"""What every app's admin shares."""

from __future__ import annotations

from django.contrib import admin


class ReadOnlyAdmin(admin.ModelAdmin):
    """Records to look at, never to edit here: they are written by the services (and
    their pages and API), which check every value, lock what they change and record
    who changed what on the case's timeline. An edit or a delete in the admin would
    skip all three."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
