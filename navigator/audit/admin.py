"""The audit trail in the admin: to read, never to add, edit or delete."""

from django.contrib import admin

from config.admin import ReadOnlyAdmin
from navigator.audit.models import AccessEvent


@admin.register(AccessEvent)
class AccessEventAdmin(ReadOnlyAdmin):
    list_display = ["at", "username", "role", "action", "route", "status_code", "patient_count"]
    list_filter = ["action", "role"]
    search_fields = ["username", "route", "request_id"]
    date_hierarchy = "at"
