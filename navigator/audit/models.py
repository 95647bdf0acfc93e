"""The audit trail's tables: one row per access, and the patients each one touched.

Rows are written by `navigator.audit.recording` and the change trigger, and never
changed: on PostgreSQL triggers (migration 0003) refuse every UPDATE and TRUNCATE, and
every DELETE of a row younger than six years, whoever asks - there is no switch to turn
them off, so the retention purge (`navigator.audit.retention`) can only remove what the
law no longer requires. They hold
ids, names of routes and fields, never a patient's name, MRN, phone or birth date.
"""

from __future__ import annotations

from django.db import models


class AccessAction(models.TextChoices):
    """What was done. Reads and changes come from requests; the rest from sign-in."""

    VIEW = "view", "Viewed"
    LIST = "list", "Listed"
    EXPORT = "export", "Exported"
    CHANGE = "change", "Changed"
    SIGN_IN = "sign_in", "Signed in"
    SIGN_IN_FAILED = "sign_in_failed", "Sign-in failed"
    SIGN_OUT = "sign_out", "Signed out"
    LOCKOUT = "lockout", "Locked out"
    TOKEN_ISSUED = "token_issued", "API token issued"
    TOKEN_REVOKED = "token_revoked", "API token revoked"
    PASSWORD_CHANGED = "password_changed", "Password changed"
    TWO_FACTOR_ENROLLED = "two_factor_enrolled", "Two-factor device enrolled"
    TWO_FACTOR_FAILED = "two_factor_failed", "Two-factor code refused"
    RIGHT_OF_ACCESS_EXPORT = "right_of_access_export", "Right-of-access export"
    AUDIT_PURGE = "audit_purge", "Audit rows past retention purged"


class AccessEvent(models.Model):
    """One access: a request by a signed-in user (or an anonymous sign-in attempt)."""

    at = models.DateTimeField(db_index=True)
    # No foreign key constraint: an audit row outlives any change to the user table,
    # and `username` keeps who it was in words.
    user = models.ForeignKey(
        "navigator.User",
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        blank=True,
        related_name="+",
    )
    username = models.CharField(max_length=150, blank=True)
    role = models.CharField(max_length=16, blank=True)
    action = models.CharField(max_length=32, choices=AccessAction.choices)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=200, blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    method = models.CharField(max_length=8, blank=True)
    # The URL pattern's name and the path without its query string: ids only.
    route = models.CharField(max_length=120, blank=True)
    path = models.CharField(max_length=300, blank=True)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    patient_count = models.PositiveIntegerField(default=0)
    # Non-PHI particulars (an export's format, a token's id, a lockout's reason).
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["user", "-at"], name="audit_event_user_at")]

    def __str__(self) -> str:
        who = self.username or "anonymous"
        return f"{who} {self.action} {self.route} at {self.at:%Y-%m-%d %H:%M}"


class AccessedPatient(models.Model):
    """A patient whose data an access read or changed (50 rows for a 50-row list)."""

    event = models.ForeignKey(AccessEvent, on_delete=models.DO_NOTHING, related_name="patients")
    # No constraint: a merged-away patient's audit rows stay as they were.
    patient = models.ForeignKey(
        "patients.Patient",
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["event", "patient"], name="audit_patient_once")
        ]
        indexes = [models.Index(fields=["patient", "event"], name="audit_patient_event")]

    def __str__(self) -> str:
        return f"patient {self.patient_id} in access {self.event_id}"


class RowChange(models.Model):
    """One insert or update of a clinical record, written by the database's trigger
    (`navigator.audit.history.ChangeRecorded`): which columns changed, and the before
    and after of those that are ids; never another value."""

    at = models.DateTimeField(db_index=True)
    table_name = models.CharField(max_length=63)
    operation = models.CharField(max_length=8)
    row_id = models.BigIntegerField()
    patient_id = models.BigIntegerField(null=True, blank=True)
    fields = models.JSONField(default=list)
    ids_before = models.JSONField(default=dict)
    ids_after = models.JSONField(default=dict)
    user_id = models.BigIntegerField(null=True, blank=True)
    path = models.CharField(max_length=300, blank=True)
    request_id = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["patient_id", "-at"], name="audit_change_patient_at"),
            models.Index(fields=["table_name", "row_id"], name="audit_change_row"),
        ]

    def __str__(self) -> str:
        return f"{self.operation} {self.table_name} {self.row_id} at {self.at:%Y-%m-%d %H:%M}"
