from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class Channel(models.TextChoices):
    PHONE = "phone", "Phone"
    SMS = "sms", "SMS"
    LETTER = "letter", "Letter"
    EMAIL = "email", "Email"
    IN_PERSON = "in_person", "In person"
    PORTAL = "portal", "Patient portal"


class Direction(models.TextChoices):
    OUTBOUND = "outbound", "Outbound"
    INBOUND = "inbound", "Inbound"


class Outcome(models.TextChoices):
    REACHED = "reached", "Reached"
    NO_ANSWER = "no_answer", "No answer or busy"
    LEFT_VOICEMAIL = "left_voicemail", "Left voicemail"
    WRONG_NUMBER = "wrong_number", "Wrong number"
    DISCONNECTED = "disconnected", "Disconnected"
    CALL_BLOCKED = "call_blocked", "Call blocked"
    LANGUAGE_BARRIER = "language_barrier", "Language barrier"
    REFUSED = "refused", "Refused"
    SCREENED_ELSEWHERE = "screened_elsewhere", "Screened elsewhere"
    MOVED = "moved", "Moved"
    DECEASED = "deceased", "Deceased"
    OTHER = "other", "Other"


class ContactAttempt(models.Model):
    case = models.ForeignKey(
        "navigator.NavigationCase", on_delete=models.CASCADE, related_name="attempts"
    )
    attempted_at = models.DateTimeField(default=timezone.now)
    channel = models.CharField(max_length=16, choices=Channel.choices)
    direction = models.CharField(
        max_length=8, choices=Direction.choices, default=Direction.OUTBOUND
    )
    outcome = models.CharField(max_length=24, choices=Outcome.choices)
    interpreter_used = models.BooleanField(default=False)
    note = models.TextField(blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT)

    class Meta:
        ordering = ["-attempted_at", "-pk"]
        indexes = [models.Index(fields=["case", "-attempted_at"])]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} attempt: {self.get_outcome_display()}"


class FollowUpReminder(models.Model):
    """A navigator's reminder that a case's follow-up date has come.

    One per case and day, however often the daily task runs (the unique
    constraint is what makes that true, not the task's good behaviour).
    """

    case = models.ForeignKey(
        "navigator.NavigationCase", on_delete=models.CASCADE, related_name="follow_up_reminders"
    )
    navigator = models.ForeignKey(
        "navigator.NavigatorProfile", on_delete=models.CASCADE, related_name="reminders"
    )
    due_on = models.DateField()
    created_at = models.DateTimeField(default=timezone.now)
    emailed_at = models.DateTimeField(null=True, blank=True)
    dismissed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-due_on", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["case", "due_on"], name="one_reminder_per_case_day")
        ]
        indexes = [models.Index(fields=["navigator", "dismissed_at"])]

    def __str__(self) -> str:
        return f"Follow-up reminder for case #{self.case_id} on {self.due_on}"
