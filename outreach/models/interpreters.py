"""Interpreter requests: an interpreter arranged for a planned call, an appointment or a
coaching session."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from patients.languages import language_name


class InterpreterModality(models.TextChoices):
    IN_PERSON = "in_person", "In person"
    VIDEO = "video", "Video"
    PHONE = "phone", "Phone"


class InterpreterRequestStatus(models.TextChoices):
    REQUESTED = "requested", "Requested"
    CONFIRMED = "confirmed", "Confirmed"
    DONE = "done", "Done"
    CANCELLED = "cancelled", "Cancelled"


class InterpreterRequest(models.Model):
    """An interpreter asked for a planned call, an appointment or an individual coaching
    session (never both of the last two). Its status moves
    requested → confirmed → done; any but a done one can be cancelled
    (`outreach.services.interpreters`)."""

    case = models.ForeignKey(
        "navigator.NavigationCase", on_delete=models.PROTECT, related_name="interpreter_requests"
    )
    appointment = models.ForeignKey(
        "navigator.Appointment",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="interpreter_requests",
        help_text="Empty (and no coaching session): for a planned call.",
    )
    coaching_session = models.ForeignKey(
        "navigator.CoachingSession",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="interpreter_requests",
    )
    language = models.CharField(max_length=8, help_text="ISO 639 code.")
    modality = models.CharField(max_length=16, choices=InterpreterModality.choices)
    needed_at = models.DateTimeField()
    status = models.CharField(
        max_length=16,
        choices=InterpreterRequestStatus.choices,
        default=InterpreterRequestStatus.REQUESTED,
    )
    provider = models.CharField(
        "vendor or interpreter", max_length=200, blank=True, help_text="Who will interpret."
    )
    note = models.TextField(blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["needed_at", "pk"]
        indexes = [models.Index(fields=["case", "status", "needed_at"])]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(appointment__isnull=True)
                | models.Q(coaching_session__isnull=True),
                name="interpreter_for_one_thing",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_modality_display()} interpreter ({self.language}), {self.status}"

    @property
    def language_name(self) -> str:
        return language_name(self.language)

    @property
    def is_final(self) -> bool:
        return self.status in {InterpreterRequestStatus.DONE, InterpreterRequestStatus.CANCELLED}
