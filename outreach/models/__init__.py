"""The outreach app's models; import them from `outreach.models`.

Contact attempts, reminders, protocols, message templates, patient messages,
reminder and task rules, tasks, opt-outs and inbound texts are here; interpreter
requests are in `interpreters.py`, call guides in `call_guides.py` (re-exported).
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

from navigator.audit.history import history_track, never_deleted
from navigator.audit.recording import AuditedRead


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


class Purpose(models.TextChoices):
    OUTREACH = "outreach", "Outreach"
    PREP_CALL = "prep_call", "Prep call before an appointment"
    RESULT_FOLLOW_UP = "result_follow_up", "Result follow-up"
    OTHER = "other", "Other"


# Outcomes after which the patient was not reached, for the outreach protocol.
UNSUCCESSFUL_OUTCOMES = frozenset(
    {
        Outcome.NO_ANSWER,
        Outcome.LEFT_VOICEMAIL,
        Outcome.WRONG_NUMBER,
        Outcome.DISCONNECTED,
        Outcome.CALL_BLOCKED,
        Outcome.LANGUAGE_BARRIER,
    }
)


class InterpretedBy(models.TextChoices):
    """Who interpreted a contact with the patient. An ad hoc interpreter (a family
    member or untrained staff) is flagged: ad hoc interpreters make about twice as many
    errors of potential clinical consequence as professional ones (Flores et al., Ann
    Emerg Med 2012;60:545–553)."""

    QUALIFIED_INTERPRETER = "qualified_interpreter", "Qualified interpreter"
    BILINGUAL_NAVIGATOR = "bilingual_navigator", "Qualified bilingual navigator"
    AD_HOC = "ad_hoc", "Ad hoc interpreter (family member or untrained staff)"
    NONE = "none", "No interpreter"
    # Attempts logged before the question was asked, with "interpreter used" ticked:
    # someone interpreted, but nobody recorded who.
    NOT_RECORDED = "not_recorded", "Interpreter used, kind not recorded"


# Interpretation by someone trained for it: what language access counts as met.
QUALIFIED_INTERPRETATION = frozenset(
    {InterpretedBy.QUALIFIED_INTERPRETER, InterpretedBy.BILINGUAL_NAVIGATOR}
)


class ContactAttempt(models.Model):
    case = models.ForeignKey(
        "navigator.NavigationCase", on_delete=models.PROTECT, related_name="attempts"
    )
    attempted_at = models.DateTimeField(default=timezone.now)
    channel = models.CharField(max_length=16, choices=Channel.choices)
    direction = models.CharField(
        max_length=8, choices=Direction.choices, default=Direction.OUTBOUND
    )
    outcome = models.CharField(max_length=24, choices=Outcome.choices)
    purpose = models.CharField(max_length=24, choices=Purpose.choices, default=Purpose.OUTREACH)
    # A number an attempt was made to outlives being replaced: deleting it would
    # rewrite the attempt (a clinical record).
    phone = models.ForeignKey(
        "patients.PatientPhone",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="The number called or texted.",
    )
    interpreted_by = models.CharField(
        max_length=24,
        choices=InterpretedBy.choices,
        default=InterpretedBy.NONE,
        help_text="Who interpreted: a qualified interpreter, a qualified bilingual "
        "navigator, an ad hoc interpreter (flagged), or nobody.",
    )
    note = models.TextField(blank=True)
    # Empty for what the patient sent us (an inbound text arrives through a webhook).
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True
    )

    class Meta:
        ordering = ["-attempted_at", "-pk"]
        indexes = [models.Index(fields=["case", "-attempted_at"])]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} attempt: {self.get_outcome_display()}"

    @property
    def interpreter_used(self) -> bool:
        """Somebody interpreted, whoever it was (derived from `interpreted_by`)."""
        return self.interpreted_by != InterpretedBy.NONE

    @property
    def ad_hoc_interpreter(self) -> bool:
        return self.interpreted_by == InterpretedBy.AD_HOC


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


class OutreachProtocol(models.Model):
    """A program's outreach cadence, as data a manager can change."""

    program = models.OneToOneField(
        "patients.ScreeningProgram", on_delete=models.CASCADE, related_name="outreach_protocol"
    )
    unreachable_after_attempts = models.PositiveSmallIntegerField(
        default=4, help_text="Unsuccessful attempts before the case is proposed for closing."
    )
    unreachable_after_days = models.PositiveSmallIntegerField(
        default=14, help_text="…made over at least this many days."
    )
    reached_follow_up_days = models.PositiveSmallIntegerField(
        default=7, help_text="Next follow-up after the patient was reached."
    )
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Outreach protocol for {self.program}"


class ProtocolStep(models.Model):
    """Attempt number `order` (from 1) goes out on day `day` by `channel`."""

    protocol = models.ForeignKey(OutreachProtocol, on_delete=models.CASCADE, related_name="steps")
    order = models.PositiveSmallIntegerField()
    day = models.PositiveSmallIntegerField(help_text="Days after the first attempt.")
    channel = models.CharField(max_length=16, choices=Channel.choices)

    class Meta:
        ordering = ["protocol", "order"]
        constraints = [
            models.UniqueConstraint(fields=["protocol", "order"], name="protocol_step_order_unique")
        ]

    def __str__(self) -> str:
        return f"Attempt {self.order}: {self.get_channel_display()} on day {self.day}"


class TemplateKind(models.TextChoices):
    OUTREACH_LETTER = "outreach_letter", "Outreach letter"
    APPOINTMENT_REMINDER = "appointment_reminder", "Appointment reminder"
    PREP_INSTRUCTIONS = "prep_instructions", "Preparation instructions"
    KIT_RETURN = "kit_return", "Mailed kit return reminder"
    RECALL = "recall", "Test due again (recall)"
    OPT_OUT_CONFIRMATION = "opt_out_confirmation", "Opt-out confirmation"
    HELP_REPLY = "help_reply", "Reply to HELP"
    # Control programmes (issue 16): reminders before a coaching session or a group
    # class, worded as what they are (not "your appointment").
    COACHING_REMINDER = "coaching_reminder", "Coaching session reminder"
    GROUP_CLASS_REMINDER = "group_class_reminder", "Group class reminder"


class MessageTemplate(models.Model):
    """Text sent or printed for a patient, per kind, language and (optionally) program."""

    kind = models.CharField(max_length=32, choices=TemplateKind.choices)
    language = models.CharField(max_length=8, help_text="ISO 639 code.")
    program = models.ForeignKey(
        "patients.ScreeningProgram",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        help_text="Empty: used for every program without one of its own.",
    )
    subject = models.CharField(max_length=200, blank=True)
    body = models.TextField(help_text="Placeholders in {braces}, e.g. {patient_name}.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["kind", "language", "program"]
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "language", "program"],
                name="message_template_unique",
            ),
            models.UniqueConstraint(
                fields=["kind", "language"],
                condition=models.Q(program__isnull=True),
                name="message_template_default_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.language})"


class MessageChannel(models.TextChoices):
    SMS = "sms", "SMS"
    EMAIL = "email", "Email"
    LETTER = "letter", "Letter"


class MessageState(models.TextChoices):
    SCHEDULED = "scheduled", "Scheduled"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    DELIVERED = "delivered", "Delivered"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"
    SUPPRESSED = "suppressed", "Suppressed"


# States a message can still leave; the others are final.
PENDING_MESSAGE_STATES = frozenset({MessageState.SCHEDULED, MessageState.SENDING})


class PatientMessage(AuditedRead, models.Model):
    """One message to a patient. The database is the source of truth: Celery only
    executes what these rows say, and the beat sweep finds any row whose task was lost.

    (rule_key, subject_key, slot) is unique, so two beat processes, or the sweep
    run twice at once, cannot create the same reminder twice; `idempotency_key`
    goes to the provider with every try, so a task that runs twice sends once.
    """

    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.PROTECT, related_name="messages"
    )
    case = models.ForeignKey(
        "navigator.NavigationCase",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="messages",
    )
    kind = models.CharField(max_length=32, choices=TemplateKind.choices)
    channel = models.CharField(max_length=8, choices=MessageChannel.choices)
    recipient = models.CharField(max_length=254, blank=True)
    language = models.CharField(max_length=8)
    template = models.ForeignKey(
        MessageTemplate, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    subject = models.CharField(max_length=200, blank=True)
    body = models.TextField(blank=True)
    rule_key = models.CharField(max_length=64, help_text="Which rule made it, e.g. appt-7d.")
    subject_key = models.CharField(
        max_length=64, help_text="What it is about, e.g. appointment:42."
    )
    slot = models.DateField(help_text="The patient's local day it is due on.")
    priority = models.PositiveSmallIntegerField(default=5)
    due_at = models.DateTimeField(help_text="When it may go out (UTC), after quiet hours.")
    state = models.CharField(
        max_length=12, choices=MessageState.choices, default=MessageState.SCHEDULED
    )
    state_reason = models.CharField(max_length=300, blank=True)
    reply = models.BooleanField(
        default=False,
        help_text="An answer the patient asked for (STOP, HELP): sent at once, "
        "whatever the consent, quiet hours or caps.",
    )
    idempotency_key = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    tries = models.PositiveSmallIntegerField(default=0)
    last_error = models.CharField(max_length=300, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    provider_id = models.CharField(max_length=64, blank=True, db_index=True)
    provider_status = models.CharField(
        max_length=16, blank=True, help_text="The provider's last delivery status."
    )
    sent_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    printed_on = models.DateField(
        null=True, blank=True, help_text="Letters: the day's batch it was printed in."
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["due_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["rule_key", "subject_key", "slot"], name="one_message_per_rule_subject_slot"
            )
        ]
        indexes = [
            # The sweep's two claims: what is due, and what a dead worker left.
            models.Index(fields=["state", "due_at"]),
            models.Index(fields=["state", "claimed_at"]),
            models.Index(fields=["patient", "state"]),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} by {self.get_channel_display()} ({self.state})"


class ReminderTrigger(models.TextChoices):
    BEFORE_APPOINTMENT = "before_appointment", "Days before an appointment"
    AFTER_KIT_MAILED = "after_kit_mailed", "Days after a test kit was mailed, until it is back"
    BEFORE_NEXT_DUE = "before_next_due", "Days before the next screening falls due (recall)"
    BEFORE_COACHING_SESSION = "before_coaching", "Days before an individual coaching session"
    BEFORE_GROUP_SESSION = "before_group", "Days before a group class (to each enrolled patient)"


class ReminderRule(models.Model):
    """A patient reminder a program sends, as data a manager can change: e.g. an SMS
    7 days and 1 day before every appointment, or colonoscopy prep instructions 3
    days before (diet) and the day before (prep start)."""

    program = models.ForeignKey(
        "patients.ScreeningProgram", on_delete=models.CASCADE, related_name="reminder_rules"
    )
    kind = models.CharField(max_length=32, choices=TemplateKind.choices)
    trigger = models.CharField(
        max_length=24, choices=ReminderTrigger.choices, default=ReminderTrigger.BEFORE_APPOINTMENT
    )
    days = models.PositiveSmallIntegerField(
        help_text="Before the appointment or the due date; after the kit was mailed."
    )
    at_time = models.TimeField(help_text="Local time in the patient's time zone.")
    channel = models.CharField(
        max_length=8, choices=MessageChannel.choices, default=MessageChannel.SMS
    )
    modality = models.ForeignKey(
        "patients.ScreeningModality",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        help_text="Only for appointments for this test (e.g. colonoscopy prep); empty: all.",
    )
    priority = models.PositiveSmallIntegerField(
        default=5, help_text="Higher goes first when the daily cap allows only one."
    )
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["program", "trigger", "-days", "at_time", "pk"]

    def __str__(self) -> str:
        when = "after" if self.trigger == ReminderTrigger.AFTER_KIT_MAILED else "before"
        return f"{self.get_kind_display()} {self.days} days {when}, {self.at_time:%H:%M}"

    @property
    def key(self) -> str:
        """Names this rule in PatientMessage.rule_key (one message per rule, subject, day)."""
        return f"rule:{self.pk}"


class TaskKind(models.TextChoices):
    # For the case's navigator.
    PREP_CALL = "prep_call", "Prep call before an appointment"
    NO_SHOW = "no_show", "No-show: re-book"
    RESULT_MISSING = "result_missing", "Result missing after the appointment"
    ABNORMAL_NO_FOLLOW_UP = "abnormal_no_follow_up", "Abnormal result, no follow-up booked"
    CALL_WITH_INTERPRETER = "call_with_interpreter", "Call with an interpreter"
    PATIENT_REPLIED = "patient_replied", "The patient sent a message"
    # Escalations, for program managers.
    NO_ATTEMPT = "no_attempt", "No contact attempt"
    MESSAGE_FAILED = "message_failed", "Message failed"


ESCALATION_KINDS = frozenset({TaskKind.NO_ATTEMPT, TaskKind.MESSAGE_FAILED})


class TaskRule(models.Model):
    """When a navigator task or a manager escalation comes due, as data a manager
    can change: e.g. a result still missing 7 days after the appointment."""

    program = models.ForeignKey(
        "patients.ScreeningProgram", on_delete=models.CASCADE, related_name="task_rules"
    )
    kind = models.CharField(max_length=32, choices=TaskKind.choices)
    days = models.PositiveSmallIntegerField(
        help_text="Prep call: days before the appointment. The others: days after "
        "what starts them (the appointment, the abnormal result, the last attempt)."
    )
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["program", "kind"]
        constraints = [
            models.UniqueConstraint(fields=["program", "kind"], name="one_task_rule_per_kind")
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.days} days)"


class CaseTask(models.Model):
    """Something a person must do about a case: a navigator's task, or an escalation
    to the program's managers. One per kind and subject (an appointment, a result, a
    message), however often the rules run: the unique constraint makes that true."""

    case = models.ForeignKey(
        "navigator.NavigationCase", on_delete=models.PROTECT, related_name="tasks"
    )
    kind = models.CharField(max_length=32, choices=TaskKind.choices)
    for_manager = models.BooleanField(default=False)
    subject_key = models.CharField(max_length=64)
    due_on = models.DateField()
    summary = models.CharField(max_length=300)
    created_at = models.DateTimeField(default=timezone.now)
    done_at = models.DateTimeField(null=True, blank=True)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    done_note = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["due_on", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "subject_key"], name="one_task_per_subject")
        ]
        indexes = [
            models.Index(fields=["for_manager", "done_at", "due_on"]),
            models.Index(fields=["case", "done_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} on case #{self.case_id}"

    @property
    def is_open(self) -> bool:
        return self.done_at is None


class SmsOptOut(models.Model):
    """A number that texted STOP: nothing more goes to it by SMS, whichever patient
    it belongs to now or later, until it texts START."""

    number = models.CharField(max_length=32, unique=True)
    keyword = models.CharField(max_length=32)
    opted_out_at = models.DateTimeField(default=timezone.now)
    # The patients whose SMS consent this STOP took away: START gives it back to
    # them, and to nobody else.
    consent_withdrawn_for = models.JSONField(default=list, blank=True)

    def __str__(self) -> str:
        return f"SMS opt-out ({self.keyword})"


class InboundSms(AuditedRead, models.Model):
    """A text from a patient (or anyone) to the program's number, as received."""

    provider_id = models.CharField(max_length=64, unique=True)
    from_number = models.CharField(max_length=32)
    to_number = models.CharField(max_length=32, blank=True)
    body = models.TextField(blank=True)
    intent = models.CharField(max_length=16)
    received_at = models.DateTimeField(default=timezone.now)
    patient = models.ForeignKey(
        "patients.Patient",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="inbound_texts",
    )
    case = models.ForeignKey(
        "navigator.NavigationCase",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="inbound_texts",
    )

    class Meta:
        ordering = ["-received_at", "-pk"]

    def __str__(self) -> str:
        return f"Inbound text ({self.intent}) at {self.received_at:%Y-%m-%d %H:%M}"


# Re-exported so that `from outreach.models import X` finds every model.
from outreach.models.call_guides import CallGuide, CallGuideVersion, CallStep  # noqa: E402
from outreach.models.interpreters import (  # noqa: E402
    InterpreterModality,
    InterpreterRequest,
    InterpreterRequestStatus,
)

# Clinical records: never deleted; every change kept by triggers (navigator.audit.history).
history_track(never_deleted(PatientMessage), patient_via="patient_id")
for _record in (ContactAttempt, CaseTask, InterpreterRequest):
    history_track(never_deleted(_record), patient_via="case_id")

__all__ = [
    "CallGuide",
    "CallGuideVersion",
    "CallStep",
    "InterpreterModality",
    "InterpreterRequest",
    "InterpreterRequestStatus",
]
