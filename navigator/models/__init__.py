"""The navigator app's models; import them from `navigator.models`.

Users and roles, navigator profiles, cases and their timeline, barriers, appointments,
covers, rebalances, kits and result follow-ups are here; coaching (individual sessions
and goals, group class series, rosters and attendance) is in `coaching.py`
(re-exported at the end).
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils import timezone
from phonenumber_field.modelfields import PhoneNumberField

from navigator.audit.history import history_track, never_deleted, never_rewritten
from navigator.audit.recording import AuditedRead
from patients.languages import language_name


class Role(models.TextChoices):
    NAVIGATOR = "navigator", "Navigator"
    # Works a caseload exactly as a navigator does (issue 16, part 6), and is preferred
    # for a control programme's cases (navigator.assignment_rules): individual and group
    # self-management coaching. "Health coach", not "diabetes educator": the label claims
    # no credential (CDCES) and no programme accreditation (Medicare DSMT, 42 CFR 410.144).
    COACH = "coach", "Health coach"
    MANAGER = "manager", "Program manager"
    CLINIC_STAFF = "clinic_staff", "Clinic staff"
    ADMIN = "admin", "Administrator"
    # Reads the audit trail (who looked at which patient, what a user looked at) and
    # nothing else: no patient page, list or report (HIPAA 45 CFR 164.308(a)(1)(ii)(D),
    # information system activity review).
    COMPLIANCE = "compliance", "Compliance officer"


# The roles whose members work a caseload: a worklist of their own cases and the cases of
# colleagues they cover, the case page and every write on a case, covering, assignment.
# Every check for "a staff member who works cases" reads this (or `User.works_caseload`),
# never Role.NAVIGATOR alone, so a coach is never left out by a navigator-only check
# (tests/project/test_casework_roles.py fails on one).
CASEWORK_ROLES: tuple[str, ...] = (Role.NAVIGATOR, Role.COACH)


class User(AbstractUser):
    """A person who signs in. What they may see follows from `role`."""

    role = models.CharField(max_length=16, choices=Role.choices, default=Role.NAVIGATOR)
    clinic = models.ForeignKey(
        "patients.Clinic",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="staff",
        help_text="The clinic a clinic-staff user refers for.",
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(role="clinic_staff") | models.Q(clinic__isnull=False),
                name="clinic_staff_has_clinic",
            )
        ]

    @property
    def works_caseload(self) -> bool:
        """A navigator or a coach: sees their caseload and the cases they cover today."""
        return self.role in CASEWORK_ROLES

    @property
    def is_manager(self) -> bool:
        return self.role == Role.MANAGER

    @property
    def is_clinic_staff(self) -> bool:
        return self.role == Role.CLINIC_STAFF

    @property
    def is_compliance_officer(self) -> bool:
        return self.role == Role.COMPLIANCE

    @property
    def is_program_admin(self) -> bool:
        return self.role == Role.ADMIN or self.is_superuser

    @property
    def sees_all_cases(self) -> bool:
        return self.is_manager or self.is_program_admin


class NavigatorProfile(models.Model):
    """The caseload of a staff member who works one (`CASEWORK_ROLES`: a navigator or a
    coach, despite the name): languages, capacity, clinics. Cases, covers, reminders and
    rebalances point here, whichever of the two roles the user has."""

    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="navigator_profile")
    languages = models.JSONField(
        default=list, help_text="ISO 639 codes of the languages this navigator speaks."
    )
    caseload_capacity = models.PositiveSmallIntegerField(default=150)
    clinics = models.ManyToManyField(
        "patients.Clinic",
        blank=True,
        related_name="navigators",
        help_text="Clinics this navigator works with; assignment prefers their patients.",
    )
    active = models.BooleanField(default=True)
    # How a referring clinic reaches the navigator (their referral pages show it).
    work_phone = PhoneNumberField(blank=True, region="US")

    class Meta:
        ordering = ["user__last_name", "user__first_name"]

    def __str__(self) -> str:
        return self.user.get_full_name() or self.user.username

    @property
    def language_names(self) -> list[str]:
        return [language_name(code) for code in self.languages]


class CaseStatus(models.TextChoices):
    NEW = "new", "New"
    ASSIGNED = "assigned", "Assigned"
    CONTACTING = "contacting", "Contacting"
    SCHEDULED = "scheduled", "Scheduled"
    # The screening test was done and its result calls for a next step
    # (FollowUpPathway): the loop is still open.
    FOLLOW_UP_NEEDED = "follow_up_needed", "Diagnostic follow-up needed"
    REPEAT_NEEDED = "repeat_needed", "Repeat test needed"
    # The loop closed: a normal result, or the follow-up done and its result recorded.
    COMPLETED = "completed", "Screening complete"
    CLOSED = "closed", "Closed: screening complete"
    # A diagnosis (cancer, or precancer needing treatment) handed to treatment
    # navigation: the screening loop closed with that outcome.
    TREATMENT = "treatment", "Closed: handed to treatment navigation"
    # Closed with an unresolved result, for a reason from FollowUpCloseReason,
    # confirmed by a manager (the safety net).
    FOLLOW_UP_CLOSED = "follow_up_closed", "Closed: follow-up not done"
    CLOSED_UNREACHABLE = "closed_unreachable", "Closed: unreachable"
    DECLINED = "declined", "Declined"
    INELIGIBLE = "ineligible", "Ineligible"


OPEN_STATUSES = frozenset(
    {
        CaseStatus.NEW,
        CaseStatus.ASSIGNED,
        CaseStatus.CONTACTING,
        CaseStatus.SCHEDULED,
        CaseStatus.FOLLOW_UP_NEEDED,
        CaseStatus.REPEAT_NEEDED,
        CaseStatus.COMPLETED,
    }
)
# An unresolved result: the case waits for a diagnostic or repeat test.
FOLLOW_UP_STATUSES = frozenset({CaseStatus.FOLLOW_UP_NEEDED, CaseStatus.REPEAT_NEEDED})
# The loop closed (what the completion figures count).
LOOP_CLOSED_STATUSES = frozenset({CaseStatus.COMPLETED, CaseStatus.CLOSED, CaseStatus.TREATMENT})
CLOSED_STATUSES = frozenset(set(CaseStatus) - OPEN_STATUSES)


class NavigationCase(AuditedRead, models.Model):
    """One patient's navigation toward one screening program."""

    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.PROTECT, related_name="navigation_cases"
    )
    program = models.ForeignKey("patients.ScreeningProgram", on_delete=models.PROTECT)
    navigator = models.ForeignKey(
        NavigatorProfile,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="cases",
    )
    # Only services.case_transition writes this field.
    status = models.CharField(max_length=24, choices=CaseStatus.choices, default=CaseStatus.NEW)
    needs_interpreter = models.BooleanField(default=False)
    next_follow_up = models.DateField(null=True, blank=True)
    next_channel = models.CharField(
        max_length=16,
        blank=True,
        help_text="The channel the outreach protocol proposes for the next follow-up.",
    )
    assignment_reason = models.CharField(max_length=300, blank=True)
    # Bumped by every change recorded on the timeline (services.event_record), so that
    # a form carrying the version it was drawn from can tell it has gone stale.
    version = models.PositiveIntegerField(default=1)
    # Set when the outreach protocol has run out of attempts; a manager confirms
    # (closes as unreachable) or dismisses (keeps trying).
    unreachable_proposed_at = models.DateTimeField(null=True, blank=True)
    opened_at = models.DateTimeField(default=timezone.now)
    completed_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-opened_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["patient", "program"],
                condition=models.Q(status__in=sorted(OPEN_STATUSES)),
                name="one_open_case_per_patient_program",
            )
        ]
        indexes = [
            models.Index(fields=["navigator", "status", "next_follow_up"]),
            models.Index(fields=["status", "next_follow_up"]),
            models.Index(fields=["opened_at"]),
            # "Was this patient navigated for this programme by then?" (the equity
            # dashboard's navigated-versus-not figure: an EXISTS per patient).
            models.Index(fields=["patient", "program", "opened_at"]),
        ]

    def __str__(self) -> str:
        return f"Case #{self.pk} ({self.program})"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    def follow_up_overdue(self, today) -> bool:
        return self.next_follow_up is not None and self.next_follow_up < today


class CaseEventKind(models.TextChoices):
    OPENED = "opened", "Case opened"
    REFERRED = "referred", "Referral received"
    ASSIGNED = "assigned", "Assigned"
    STATUS_CHANGED = "status_changed", "Status changed"
    ATTEMPT_LOGGED = "attempt_logged", "Contact attempt"
    BARRIER_ADDED = "barrier_added", "Barrier identified"
    BARRIER_UPDATED = "barrier_updated", "Barrier updated"
    APPOINTMENT_BOOKED = "appointment_booked", "Appointment booked"
    APPOINTMENT_UPDATED = "appointment_updated", "Appointment updated"
    SCREENING_RECORDED = "screening_recorded", "Screening recorded"
    FOLLOW_UP_SET = "follow_up_set", "Follow-up date set"
    REMINDER_CREATED = "reminder_created", "Follow-up reminder"
    UNREACHABLE_PROPOSED = "unreachable_proposed", "Proposed for closing as unreachable"
    UNREACHABLE_DISMISSED = "unreachable_dismissed", "Kept open"
    PHONE_MARKED_BAD = "phone_marked_bad", "Phone number marked bad"
    LETTER_PRINTED = "letter_printed", "Letter printed"
    LETTER_MAILED = "letter_mailed", "Letter mailed"
    NOTE = "note", "Note"
    MESSAGE_SUPPRESSED = "message_suppressed", "Message not sent"
    MESSAGE_FAILED = "message_failed", "Message failed"
    INBOUND_MESSAGE = "inbound_message", "Message from the patient"
    SMS_OPT_OUT = "sms_opt_out", "Opted out of texts"
    SMS_OPT_IN = "sms_opt_in", "Opted back in to texts"
    KIT_MAILED = "kit_mailed", "Test kit mailed"
    TASK_CREATED = "task_created", "Task"
    TASK_DONE = "task_done", "Task done"
    PATIENT_MERGED = "patient_merged", "Patient records merged"
    FOLLOW_UP_OPENED = "follow_up_opened", "Follow-up needed"
    FOLLOW_UP_DONE = "follow_up_done", "Follow-up done"
    FOLLOW_UP_CLOSE_PROPOSED = "follow_up_close_proposed", "Closing proposed"
    FOLLOW_UP_CLOSE_DISMISSED = "follow_up_close_dismissed", "Closing not confirmed"
    FOLLOW_UP_CLOSED = "follow_up_closed", "Closed without follow-up"
    INTERPRETER_REQUESTED = "interpreter_requested", "Interpreter requested"
    INTERPRETER_UPDATED = "interpreter_updated", "Interpreter request updated"
    ELIGIBILITY_OVERRIDDEN = "eligibility_overridden", "Eligibility overridden"
    COACHING_BOOKED = "coaching_booked", "Coaching session booked"
    COACHING_UPDATED = "coaching_updated", "Coaching session updated"
    GOAL_SET = "goal_set", "Goal set"
    GOAL_REVIEWED = "goal_reviewed", "Goal reviewed"
    GROUP_ENROLLED = "group_enrolled", "Enrolled in a group class series"
    GROUP_ENROLMENT_UPDATED = "group_enrolment_updated", "Group class enrolment updated"
    GROUP_ATTENDANCE = "group_attendance", "Group class attendance"
    LAB_RECORDED = "lab_recorded", "Lab result entered"
    # A staff-entered lab put right: its own kinds, so that the timeline (and whoever
    # audits it) never reads a correction or a withdrawal as a new result.
    LAB_CORRECTED = "lab_corrected", "Lab result corrected"
    LAB_ENTERED_IN_ERROR = "lab_entered_in_error", "Lab result entered in error"


class CaseEvent(models.Model):
    """The case's timeline and audit trail: who did what, when, old and new values."""

    case = models.ForeignKey(NavigationCase, on_delete=models.PROTECT, related_name="events")
    kind = models.CharField(max_length=32, choices=CaseEventKind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True
    )
    at = models.DateTimeField(default=timezone.now)
    summary = models.CharField(max_length=300)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-at", "-pk"]
        indexes = [models.Index(fields=["case", "-at"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} on case #{self.case_id}"


class BarrierCategory(models.Model):
    """The Patient Navigation Research Program's barrier groups."""

    code = models.SlugField(max_length=32, unique=True)
    name = models.CharField(max_length=100, unique=True)
    order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["order", "name"]
        verbose_name_plural = "barrier categories"

    def __str__(self) -> str:
        return self.name


class BarrierType(models.Model):
    category = models.ForeignKey(BarrierCategory, on_delete=models.PROTECT, related_name="types")
    code = models.SlugField(max_length=48, unique=True)
    name = models.CharField(max_length=100, unique=True)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["category__order", "name"]

    def __str__(self) -> str:
        return self.name


class BarrierStatus(models.TextChoices):
    IDENTIFIED = "identified", "Identified"
    ACTION_TAKEN = "action_taken", "Action taken"
    RESOLVED = "resolved", "Resolved"


class CaseBarrier(models.Model):
    case = models.ForeignKey(NavigationCase, on_delete=models.PROTECT, related_name="barriers")
    barrier_type = models.ForeignKey(BarrierType, on_delete=models.PROTECT)
    status = models.CharField(
        max_length=16, choices=BarrierStatus.choices, default=BarrierStatus.IDENTIFIED
    )
    identified_on = models.DateField(default=timezone.localdate)
    action = models.TextField(blank=True, help_text="What was done about it.")
    action_on = models.DateField(null=True, blank=True)
    resolved_on = models.DateField(null=True, blank=True)
    note = models.TextField(blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT)

    class Meta:
        ordering = ["status", "-identified_on", "-pk"]

    def __str__(self) -> str:
        return f"{self.barrier_type} ({self.get_status_display()})"


class AppointmentStatus(models.TextChoices):
    BOOKED = "booked", "Booked"
    KEPT = "kept", "Kept"
    NO_SHOW = "no_show", "No-show"
    CANCELLED = "cancelled", "Cancelled"
    RESCHEDULED = "rescheduled", "Rescheduled"


class AppointmentPurpose(models.TextChoices):
    SCREENING = "screening", "Screening"
    DIAGNOSTIC = "diagnostic", "Diagnostic follow-up"


class Appointment(models.Model):
    case = models.ForeignKey(NavigationCase, on_delete=models.PROTECT, related_name="appointments")
    purpose = models.CharField(
        max_length=16, choices=AppointmentPurpose.choices, default=AppointmentPurpose.SCREENING
    )
    modality = models.ForeignKey(
        "patients.ScreeningModality", on_delete=models.PROTECT, null=True, blank=True
    )
    scheduled_at = models.DateTimeField()
    site = models.CharField(max_length=200)
    status = models.CharField(
        max_length=16, choices=AppointmentStatus.choices, default=AppointmentStatus.BOOKED
    )
    note = models.TextField(blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-scheduled_at", "-pk"]

    def __str__(self) -> str:
        return f"Appointment {self.scheduled_at:%Y-%m-%d %H:%M} at {self.site}"


class Coverage(models.Model):
    """A navigator away hands their caseload to a colleague for a date range."""

    absent = models.ForeignKey(
        NavigatorProfile, on_delete=models.PROTECT, related_name="coverages_given"
    )
    covering = models.ForeignKey(
        NavigatorProfile, on_delete=models.PROTECT, related_name="coverages_taken"
    )
    starts_on = models.DateField()
    ends_on = models.DateField()
    note = models.CharField(max_length=200, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT)
    created_at = models.DateTimeField(default=timezone.now)
    cancelled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-starts_on", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(starts_on__lte=models.F("ends_on")),
                name="coverage_dates_ordered",
            ),
            models.CheckConstraint(
                condition=~models.Q(absent=models.F("covering")),
                name="coverage_not_self",
            ),
        ]
        indexes = [models.Index(fields=["covering", "starts_on", "ends_on"])]

    def __str__(self) -> str:
        return f"{self.covering} covers {self.absent} {self.starts_on}–{self.ends_on}"


class Rebalance(models.Model):
    """One manager action that moved cases between navigators, atomically."""

    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT)
    at = models.DateTimeField(default=timezone.now)
    from_navigator = models.ForeignKey(
        NavigatorProfile, on_delete=models.PROTECT, related_name="rebalances"
    )
    requested = models.PositiveIntegerField(
        null=True, blank=True, help_text="How many cases to move; empty for all of them."
    )
    moved = models.PositiveIntegerField(default=0)
    deactivated = models.BooleanField(
        default=False, help_text="The navigator was leaving and was made inactive."
    )
    summary = models.TextField(blank=True)

    class Meta:
        ordering = ["-at", "-pk"]

    def __str__(self) -> str:
        return f"Rebalance #{self.pk}: {self.moved} cases from {self.from_navigator}"


class KitMailing(models.Model):
    """A home test kit (FIT, stool DNA) mailed to the patient: its return reminders
    run until the result is recorded."""

    case = models.ForeignKey(NavigationCase, on_delete=models.PROTECT, related_name="kits")
    modality = models.ForeignKey("patients.ScreeningModality", on_delete=models.PROTECT)
    mailed_on = models.DateField()
    returned_on = models.DateField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-mailed_on", "-pk"]

    def __str__(self) -> str:
        return f"Kit mailed {self.mailed_on}"


class FollowUpState(models.TextChoices):
    OPEN = "open", "Open"
    DONE = "done", "Done"
    CLOSED = "closed", "Closed without the follow-up"


class FollowUpCloseReason(models.TextChoices):
    """The only reasons a case may close with a result still unresolved."""

    DECLINED_INFORMED = "declined_informed", "Patient declined after an informed discussion"
    DONE_ELSEWHERE = "done_elsewhere", "Done elsewhere, with evidence"
    DECEASED = "deceased", "Patient deceased"
    MOVED = "moved", "Patient moved away"
    UNREACHABLE = "unreachable", "Unreachable after the outreach protocol"


class ResultFollowUp(models.Model):
    """The next step a result calls for (FollowUpPathway), from the result to its answer.

    Open until the pathway's test is recorded on the case (done), or a manager
    confirms closing without it for a reason from FollowUpCloseReason (closed).
    `next_step`, `kind` and the dates are copied from the pathway when the result
    is recorded, so that a later edit of the pathway does not rewrite history.
    """

    case = models.ForeignKey(NavigationCase, on_delete=models.PROTECT, related_name="follow_ups")
    screening = models.OneToOneField(
        "patients.ScreeningEvent", on_delete=models.PROTECT, related_name="follow_up"
    )
    pathway = models.ForeignKey("patients.FollowUpPathway", on_delete=models.PROTECT)
    kind = models.CharField(
        max_length=16, choices=[("diagnostic", "Diagnostic follow-up"), ("repeat", "Repeat test")]
    )
    next_step = models.CharField(max_length=200)
    next_modality = models.ForeignKey(
        "patients.ScreeningModality", on_delete=models.PROTECT, related_name="+"
    )
    result_on = models.DateField()
    due_on = models.DateField()
    limit_on = models.DateField(null=True, blank=True)
    state = models.CharField(
        max_length=8, choices=FollowUpState.choices, default=FollowUpState.OPEN
    )
    answered_by = models.OneToOneField(
        "patients.ScreeningEvent",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="answers",
    )
    done_on = models.DateField(null=True, blank=True)
    # The safety net: a proposal to close without the follow-up, then a manager's decision.
    close_reason = models.CharField(max_length=24, choices=FollowUpCloseReason.choices, blank=True)
    close_note = models.TextField(blank=True)
    close_proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    close_proposed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    closed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["due_on", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["case"],
                condition=models.Q(state="open"),
                name="one_open_follow_up_per_case",
            ),
            models.CheckConstraint(
                condition=~models.Q(state="done") | models.Q(answered_by__isnull=False),
                name="follow_up_done_has_answer",
            ),
            models.CheckConstraint(
                condition=~models.Q(state="closed")
                | (~models.Q(close_reason="") & models.Q(closed_by__isnull=False)),
                name="follow_up_closed_has_reason_and_manager",
            ),
            models.CheckConstraint(
                condition=models.Q(due_on__gte=models.F("result_on")),
                name="follow_up_due_after_result",
            ),
        ]
        indexes = [models.Index(fields=["state", "due_on"])]

    def __str__(self) -> str:
        return f"{self.next_step} by {self.due_on} ({self.get_state_display()})"

    @property
    def is_open(self) -> bool:
        return self.state == FollowUpState.OPEN

    def overdue(self, today) -> bool:
        return self.is_open and self.due_on < today

    def past_limit(self, today) -> bool:
        return self.is_open and self.limit_on is not None and self.limit_on < today


# Clinical records are never deleted, the timeline never rewritten, and every change
# to the rest is kept by database triggers (navigator.audit.history), whatever writes it.
history_track(never_deleted(NavigationCase), patient_via="patient_id")
for _record in (CaseBarrier, Appointment, ResultFollowUp, KitMailing):
    history_track(never_deleted(_record), patient_via="case_id")
never_rewritten(CaseEvent)

# Coaching (issue 16): its own module, re-exported so `navigator.models` names every model.
from navigator.models.coaching import (  # noqa: E402, F401
    COACHING_SESSION_MOVES,
    ENROLMENT_MOVES,
    GROUP_MAX_CAPACITY,
    GROUP_MIN_CAPACITY,
    MAX_SESSION_MINUTES,
    AttendanceStatus,
    CoachingGoal,
    CoachingSession,
    CoachingSessionStatus,
    EnrolmentStatus,
    GoalOutcome,
    GroupAttendance,
    GroupEnrolment,
    GroupSeries,
    GroupSession,
    SelfCareBehaviour,
)
