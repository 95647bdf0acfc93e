"""Diabetes self-management coaching (issue 16): individual sessions with their goals,
and group class series with their sessions, rosters and attendance.

Rows are written by `navigator.services.coaching` and `navigator.services.group_classes`
only (status moves, capacity under a lock, the timeline); read through
`navigator.selectors.coaching` (who may see what, the next series with room, the
education hours against Medicare's allowance).

Topics are the ADCES7 Self-Care Behaviors (Association of Diabetes Care & Education
Specialists, "An Effective Model of Diabetes Care and Education: The ADCES7 Self-Care
Behaviors", The Science of Diabetes Self-Management and Care 2021;47(1):30-53).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from navigator.audit.history import history_track, never_deleted
from navigator.audit.recording import AuditedRead
from patients.languages import language_name


class SelfCareBehaviour(models.TextChoices):
    """The ADCES7 Self-Care Behaviors, in ADCES's order: a session's topics and a goal's
    behaviour are chosen from them."""

    HEALTHY_EATING = "healthy_eating", "Healthy eating"
    BEING_ACTIVE = "being_active", "Being active"
    MONITORING = "monitoring", "Monitoring"
    TAKING_MEDICATION = "taking_medication", "Taking medication"
    PROBLEM_SOLVING = "problem_solving", "Problem solving"
    HEALTHY_COPING = "healthy_coping", "Healthy coping"
    REDUCING_RISKS = "reducing_risks", "Reducing risks"


class CoachingSessionStatus(models.TextChoices):
    SCHEDULED = "scheduled", "Scheduled"
    ATTENDED = "attended", "Attended"
    MISSED = "missed", "Missed"
    CANCELLED = "cancelled", "Cancelled"


# The only legal moves of an individual session, as data (like the case's
# ALLOWED_TRANSITIONS): a scheduled session ends one way, and stays that way; a
# patient who wants another books another.
COACHING_SESSION_MOVES: dict[str, frozenset[str]] = {
    CoachingSessionStatus.SCHEDULED: frozenset(
        {
            CoachingSessionStatus.ATTENDED,
            CoachingSessionStatus.MISSED,
            CoachingSessionStatus.CANCELLED,
        }
    ),
    CoachingSessionStatus.ATTENDED: frozenset(),
    CoachingSessionStatus.MISSED: frozenset(),
    CoachingSessionStatus.CANCELLED: frozenset(),
}

# A session or class longer than this is a typing mistake (90 for 9 hours is not).
MAX_SESSION_MINUTES = 240


class CoachingSession(AuditedRead, models.Model):
    """One individual coaching session of a case's patient."""

    case = models.ForeignKey(
        "navigator.NavigationCase", on_delete=models.PROTECT, related_name="coaching_sessions"
    )
    # The case's patient, kept on the row so that the hours per patient and year (and
    # the change history) need no join through the case.
    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.PROTECT, related_name="coaching_sessions"
    )
    coach = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="coaching_sessions",
        help_text="Who coaches the patient in this session.",
    )
    scheduled_at = models.DateTimeField()
    duration_minutes = models.PositiveSmallIntegerField(default=60)
    status = models.CharField(
        max_length=16,
        choices=CoachingSessionStatus.choices,
        default=CoachingSessionStatus.SCHEDULED,
    )
    topics = models.JSONField(
        default=list, blank=True, help_text="SelfCareBehaviour values (ADCES7)."
    )
    language = models.CharField(max_length=8, help_text="ISO 639 code.")
    # The education actually given: what counts against the DSMT allowance.
    minutes_spent = models.PositiveSmallIntegerField(null=True, blank=True)
    note = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-scheduled_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(duration_minutes__gte=1)
                & models.Q(duration_minutes__lte=MAX_SESSION_MINUTES),
                name="coaching_session_duration_sane",
            ),
            # Minutes spent are known of an attended session only.
            models.CheckConstraint(
                condition=models.Q(minutes_spent__isnull=True)
                | (
                    models.Q(status="attended")
                    & models.Q(minutes_spent__gte=1)
                    & models.Q(minutes_spent__lte=MAX_SESSION_MINUTES)
                ),
                name="coaching_minutes_only_when_attended",
            ),
        ]
        indexes = [
            models.Index(fields=["patient", "status", "scheduled_at"]),
            models.Index(fields=["status", "scheduled_at"]),
        ]

    def __str__(self) -> str:
        return f"Coaching session {self.scheduled_at:%Y-%m-%d %H:%M} ({self.status})"

    @property
    def language_name(self) -> str:
        return language_name(self.language)

    @property
    def topic_labels(self) -> list[str]:
        return [SelfCareBehaviour(topic).label for topic in self.topics]


class GoalOutcome(models.TextChoices):
    MET = "met", "Met"
    PARTLY_MET = "partly_met", "Partly met"
    NOT_MET = "not_met", "Not met"


class CoachingGoal(AuditedRead, models.Model):
    """A goal the patient set in a session, reviewed in a later one with its outcome."""

    case = models.ForeignKey(
        "navigator.NavigationCase", on_delete=models.PROTECT, related_name="coaching_goals"
    )
    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.PROTECT, related_name="coaching_goals"
    )
    text = models.CharField(max_length=300)
    behaviour = models.CharField(max_length=24, choices=SelfCareBehaviour.choices)
    set_in = models.ForeignKey(CoachingSession, on_delete=models.PROTECT, related_name="goals_set")
    reviewed_in = models.ForeignKey(
        CoachingSession,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="goals_reviewed",
    )
    outcome = models.CharField(max_length=16, choices=GoalOutcome.choices, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "pk"]
        constraints = [
            # Reviewed means reviewed in a session, with an outcome; open means neither.
            models.CheckConstraint(
                condition=(models.Q(reviewed_in__isnull=True) & models.Q(outcome=""))
                | (models.Q(reviewed_in__isnull=False) & ~models.Q(outcome="")),
                name="coaching_goal_reviewed_with_outcome",
            ),
            models.CheckConstraint(
                condition=~models.Q(reviewed_in=models.F("set_in")),
                name="coaching_goal_reviewed_later",
            ),
        ]

    def __str__(self) -> str:
        return f"Goal ({self.get_behaviour_display()})"

    @property
    def is_open(self) -> bool:
        return self.reviewed_in_id is None


# Medicare pays DSMT in groups of 2 to 20 (42 CFR 410.141(c)(1)(ii)).
GROUP_MIN_CAPACITY = 2
GROUP_MAX_CAPACITY = 20


class GroupSeries(models.Model):
    """A class series: the same group meets for a curriculum's sessions."""

    program = models.ForeignKey(
        "patients.ScreeningProgram", on_delete=models.PROTECT, related_name="group_series"
    )
    name = models.CharField(max_length=120)
    curriculum = models.SlugField(
        max_length=48,
        help_text="Series of one curriculum teach the same sessions: a missed one is made up "
        "in another series of it.",
    )
    language = models.CharField(max_length=8, help_text="ISO 639 code.")
    facilitator = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="group_series_led"
    )
    location = models.CharField(max_length=200, blank=True)
    video_link = models.URLField(blank=True)
    capacity = models.PositiveSmallIntegerField(default=12)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name", "pk"]
        verbose_name_plural = "group series"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(capacity__gte=GROUP_MIN_CAPACITY)
                & models.Q(capacity__lte=GROUP_MAX_CAPACITY),
                name="group_series_capacity_2_to_20",
            ),
            models.CheckConstraint(
                condition=~models.Q(location="") | ~models.Q(video_link=""),
                name="group_series_has_location_or_link",
            ),
        ]
        indexes = [models.Index(fields=["program", "language"])]

    def __str__(self) -> str:
        return self.name

    @property
    def language_name(self) -> str:
        return language_name(self.language)


class GroupSession(models.Model):
    """One meeting of a series."""

    series = models.ForeignKey(GroupSeries, on_delete=models.PROTECT, related_name="sessions")
    number = models.PositiveSmallIntegerField(help_text="Its place in the curriculum: 1, 2, …")
    starts_at = models.DateTimeField()
    duration_minutes = models.PositiveSmallIntegerField(default=90)
    topics = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["starts_at", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["series", "number"], name="group_session_number"),
            models.CheckConstraint(
                condition=models.Q(duration_minutes__gte=1)
                & models.Q(duration_minutes__lte=MAX_SESSION_MINUTES),
                name="group_session_duration_sane",
            ),
        ]
        indexes = [models.Index(fields=["starts_at"])]

    def __str__(self) -> str:
        return f"{self.series} #{self.number} {self.starts_at:%Y-%m-%d %H:%M}"


class EnrolmentStatus(models.TextChoices):
    ENROLLED = "enrolled", "Enrolled"
    WITHDRAWN = "withdrawn", "Withdrawn"
    COMPLETED = "completed", "Completed"


ENROLMENT_MOVES: dict[str, frozenset[str]] = {
    EnrolmentStatus.ENROLLED: frozenset({EnrolmentStatus.WITHDRAWN, EnrolmentStatus.COMPLETED}),
    # Withdrawn: enrolling again takes a seat again (capacity checked again).
    EnrolmentStatus.WITHDRAWN: frozenset({EnrolmentStatus.ENROLLED}),
    EnrolmentStatus.COMPLETED: frozenset(),
}


class GroupEnrolment(AuditedRead, models.Model):
    """A patient (through their case) on a series' roster."""

    series = models.ForeignKey(GroupSeries, on_delete=models.PROTECT, related_name="enrolments")
    case = models.ForeignKey(
        "navigator.NavigationCase", on_delete=models.PROTECT, related_name="group_enrolments"
    )
    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.PROTECT, related_name="group_enrolments"
    )
    status = models.CharField(
        max_length=16, choices=EnrolmentStatus.choices, default=EnrolmentStatus.ENROLLED
    )
    enrolled_at = models.DateTimeField(default=timezone.now)
    enrolled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["series", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["series", "patient"], name="one_enrolment_per_series")
        ]
        indexes = [models.Index(fields=["series", "status"])]

    def __str__(self) -> str:
        return f"Enrolment in {self.series_id} ({self.status})"


class AttendanceStatus(models.TextChoices):
    ATTENDED = "attended", "Attended"
    ABSENT = "absent", "Absent"
    EXCUSED = "excused", "Excused"


class GroupAttendance(AuditedRead, models.Model):
    """Whether an enrolled patient came to a session.

    A make-up names the session of the patient's own series it makes up
    (`makeup_for`): attended in another series of the same curriculum, or marked on
    a session of their own series as making up one they missed.
    """

    session = models.ForeignKey(GroupSession, on_delete=models.PROTECT, related_name="attendance")
    enrolment = models.ForeignKey(
        GroupEnrolment, on_delete=models.PROTECT, related_name="attendance"
    )
    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.PROTECT, related_name="group_attendance"
    )
    status = models.CharField(max_length=16, choices=AttendanceStatus.choices)
    # Education given, for the DSMT hours: the session's length unless the patient
    # left early or came late.
    minutes = models.PositiveSmallIntegerField(default=0)
    makeup_for = models.ForeignKey(
        GroupSession,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="made_up_by",
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["session", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["session", "enrolment"], name="one_attendance_per_session"
            ),
            models.CheckConstraint(
                condition=models.Q(status="attended", minutes__gte=1)
                | (~models.Q(status="attended") & models.Q(minutes=0)),
                name="group_minutes_only_when_attended",
            ),
            models.CheckConstraint(
                condition=models.Q(makeup_for__isnull=True) | models.Q(status="attended"),
                name="group_makeup_is_attended",
            ),
        ]
        indexes = [models.Index(fields=["patient", "status"])]

    def __str__(self) -> str:
        return f"Attendance {self.status} at session {self.session_id}"


# Patients' records: never deleted, every change kept by the database, every row read
# in a request noted in the access trail (AuditedRead; navigator.audit).
for _record in (CoachingSession, CoachingGoal, GroupEnrolment, GroupAttendance):
    history_track(never_deleted(_record), patient_via="patient_id")
# Not tracked: GroupSeries and GroupSession are a class timetable (name, place, times,
# facilitator), no patient's information; their rows are written by managers through
# the services and name no patient.
