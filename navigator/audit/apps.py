from django.apps import AppConfig


class AuditConfig(AppConfig):
    """The audit trail: its own app (label `audit`) so its tables, triggers and
    retention stand apart from the records they watch."""

    name = "navigator.audit"
    label = "audit"
    verbose_name = "Audit trail"
    default_auto_field = "django.db.models.BigAutoField"
