from django.contrib import admin

from outreach.models import ContactAttempt, FollowUpReminder


@admin.register(ContactAttempt)
class ContactAttemptAdmin(admin.ModelAdmin):
    list_display = ["case", "attempted_at", "channel", "direction", "outcome",
                    "interpreter_used", "created_by"]  # fmt: skip
    list_filter = ["channel", "direction", "outcome", "interpreter_used"]
    search_fields = ["case__patient__mrn", "note"]
    date_hierarchy = "attempted_at"
    raw_id_fields = ["case"]
    list_select_related = ["created_by"]


@admin.register(FollowUpReminder)
class FollowUpReminderAdmin(admin.ModelAdmin):
    list_display = ["case", "navigator", "due_on", "emailed_at", "dismissed_at"]
    list_filter = ["due_on", "navigator"]
    search_fields = ["case__pk"]
    raw_id_fields = ["case"]
    list_select_related = ["navigator__user"]
