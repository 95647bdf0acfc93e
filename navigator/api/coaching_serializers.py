"""The coaching API's JSON (issue 16): individual coaching sessions and their goals,
group class series with their sessions, enrolments and attendance; and the inputs of
each change. Every object a request names is looked up among those the user may see
(`navigator.selectors.coaching`, `cases_visible_to`): one outside their scope is
"does not exist" on its field (400), as a phone number of another caseload is.
The services check the rest (capacity, legal moves, dates) and say which field."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from navigator.cases import MAX_DAYS_AHEAD, TOO_FAR_AHEAD
from navigator.models import (
    MAX_SESSION_MINUTES,
    AttendanceStatus,
    CoachingGoal,
    CoachingSession,
    CoachingSessionStatus,
    GoalOutcome,
    GroupAttendance,
    GroupEnrolment,
    GroupSeries,
    GroupSession,
    Role,
    SelfCareBehaviour,
    User,
)
from navigator.selectors.coaching import (
    coaching_sessions_visible_to,
    group_enrolments_visible_to,
    group_series_visible_to,
)
from navigator.selectors.visibility import cases_visible_to
from outreach.models import InterpreterModality

NOTE_MAX_LENGTH = 2000
# What became of a session (its status once it is no longer scheduled).
SESSION_OUTCOMES = [
    (value, label)
    for value, label in CoachingSessionStatus.choices
    if value != CoachingSessionStatus.SCHEDULED
]


def _user_name(user: User | None) -> str:
    return "" if user is None else user.get_full_name() or user.username


class CoachingGoalSerializer(serializers.ModelSerializer):
    behaviour_label = serializers.CharField(source="get_behaviour_display", read_only=True)
    set_in = serializers.PrimaryKeyRelatedField(read_only=True)
    reviewed_in = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)
    outcome = serializers.CharField(
        read_only=True, help_text="met, partly_met or not_met once reviewed; empty while open."
    )

    class Meta:
        model = CoachingGoal
        fields = ["id", "case", "text", "behaviour", "behaviour_label", "set_in", "reviewed_in",
                  "outcome", "created_at"]  # fmt: skip
        read_only_fields = fields


class CoachingSessionSerializer(serializers.ModelSerializer):
    """An individual session; its topics are ADCES7 self-care behaviours."""

    coach_name = serializers.SerializerMethodField()
    topic_labels = serializers.ListField(child=serializers.CharField(), read_only=True)
    language_name = serializers.CharField(read_only=True)
    status_label = serializers.CharField(source="get_status_display", read_only=True)

    class Meta:
        model = CoachingSession
        fields = ["id", "case", "coach", "coach_name", "scheduled_at", "duration_minutes",
                  "status", "status_label", "topics", "topic_labels", "language",
                  "language_name", "minutes_spent", "note", "created_at"]  # fmt: skip
        read_only_fields = fields

    def get_coach_name(self, session) -> str:
        return _user_name(session.coach)


class CoachingSessionDetailSerializer(CoachingSessionSerializer):
    goals_set = CoachingGoalSerializer(many=True, read_only=True)
    goals_reviewed = CoachingGoalSerializer(many=True, read_only=True)

    class Meta(CoachingSessionSerializer.Meta):
        fields = [*CoachingSessionSerializer.Meta.fields, "goals_set", "goals_reviewed"]
        read_only_fields = fields


class GroupSessionSerializer(serializers.ModelSerializer):
    class Meta:
        model = GroupSession
        fields = ["id", "number", "starts_at", "duration_minutes", "topics"]
        read_only_fields = fields


class GroupSeriesSerializer(serializers.ModelSerializer):
    """A class series, with its dates and seats (from the selector's annotations)."""

    program = serializers.SlugRelatedField(slug_field="code", read_only=True)
    facilitator_name = serializers.SerializerMethodField()
    language_name = serializers.CharField(read_only=True)
    first_start = serializers.DateTimeField(read_only=True, allow_null=True)
    last_start = serializers.DateTimeField(read_only=True, allow_null=True)
    session_count = serializers.IntegerField(read_only=True)
    seats_taken = serializers.IntegerField(read_only=True)
    video_link = serializers.CharField(read_only=True, help_text="A URL, or empty.")

    class Meta:
        model = GroupSeries
        fields = ["id", "program", "name", "curriculum", "language", "language_name",
                  "facilitator", "facilitator_name", "location", "video_link", "capacity",
                  "seats_taken", "session_count", "first_start", "last_start"]  # fmt: skip
        read_only_fields = fields

    def get_facilitator_name(self, series) -> str:
        return _user_name(series.facilitator)


class GroupSeriesDetailSerializer(GroupSeriesSerializer):
    sessions = GroupSessionSerializer(many=True, read_only=True)

    class Meta(GroupSeriesSerializer.Meta):
        fields = [*GroupSeriesSerializer.Meta.fields, "sessions"]
        read_only_fields = fields


class GroupAttendanceSerializer(serializers.ModelSerializer):
    class Meta:
        model = GroupAttendance
        fields = ["id", "session", "enrolment", "status", "minutes", "makeup_for",
                  "recorded_at"]  # fmt: skip
        read_only_fields = fields


class GroupEnrolmentSerializer(serializers.ModelSerializer):
    """A roster row: the patient's case, the series, and their attendance so far."""

    attendance = GroupAttendanceSerializer(many=True, read_only=True)

    class Meta:
        model = GroupEnrolment
        fields = ["id", "series", "case", "status", "enrolled_at", "ended_at", "attendance"]
        read_only_fields = fields


# --- Input ---------------------------------------------------------------------------


class _VisibleField(serializers.PrimaryKeyRelatedField):
    """An object by id, among those the requesting user may see."""

    def visible(self, user: User):  # pragma: no cover - each subclass says
        raise NotImplementedError

    def get_queryset(self):
        return self.visible(self.context["request"].user)


@extend_schema_field(OpenApiTypes.INT)
class VisibleCaseField(_VisibleField):
    def visible(self, user):
        return cases_visible_to(user)


@extend_schema_field(OpenApiTypes.INT)
class VisibleCoachingSessionField(_VisibleField):
    def visible(self, user):
        return coaching_sessions_visible_to(user)


@extend_schema_field(OpenApiTypes.INT)
class VisibleSeriesField(_VisibleField):
    def visible(self, user):
        return group_series_visible_to(user)


@extend_schema_field(OpenApiTypes.INT)
class VisibleEnrolmentField(_VisibleField):
    def visible(self, user):
        return group_enrolments_visible_to(user).select_related("series")


@extend_schema_field(OpenApiTypes.INT)
class VisibleGroupSessionField(_VisibleField):
    def visible(self, user):
        return GroupSession.objects.filter(series__in=group_series_visible_to(user))


class VersionedSerializer(serializers.Serializer):
    """A change to a case's coaching; with `version`, refused (409) if the case changed."""

    version = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=2**31 - 1,
        help_text="The case version the change was made from (from GET /api/cases/<id>/); "
        "if the case has changed since, the change is refused with 409 and nothing is saved.",
    )


def _minutes(**kwargs) -> serializers.IntegerField:
    return serializers.IntegerField(min_value=1, max_value=MAX_SESSION_MINUTES, **kwargs)


def _topics(**kwargs) -> serializers.ListField:
    return serializers.ListField(
        child=serializers.ChoiceField(choices=SelfCareBehaviour.choices),
        max_length=len(SelfCareBehaviour.values) * 2,
        help_text="ADCES7 self-care behaviours.",
        **kwargs,
    )


class CoachingSessionBookSerializer(VersionedSerializer):
    case = VisibleCaseField(help_text="The case whose patient is coached (its id).")
    scheduled_at = serializers.DateTimeField()
    duration_minutes = _minutes(required=False, default=60)
    topics = _topics(required=False, default=list)
    language = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=8,
        help_text="ISO 639 code; the patient's spoken language if left out.",
    )  # fmt: skip
    coach = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.filter(is_active=True, role__in=[Role.NAVIGATOR, Role.MANAGER]),
        required=False, allow_null=True, default=None,
        help_text="Who coaches (a user's id); left out: the one booking.",
    )  # fmt: skip
    interpreter_modality = serializers.ChoiceField(
        choices=InterpreterModality.choices, required=False, default=InterpreterModality.PHONE,
        help_text="How an interpreter joins, where the patient needs one.",
    )  # fmt: skip
    note = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=NOTE_MAX_LENGTH
    )

    def validate_scheduled_at(self, value: dt.datetime) -> dt.datetime:
        # Checked here too, before any time-zone arithmetic on a date near year 9999.
        now = timezone.now()
        if value <= now:
            raise serializers.ValidationError("A session must be in the future.")
        if value - now > dt.timedelta(days=MAX_DAYS_AHEAD + 1):
            raise serializers.ValidationError(TOO_FAR_AHEAD)
        return value


class CoachingSessionStatusSerializer(VersionedSerializer):
    status = serializers.ChoiceField(choices=SESSION_OUTCOMES)
    minutes_spent = _minutes(
        required=False, allow_null=True, default=None,
        help_text="Attended only: the minutes of education given (the session's length if "
        "left out).",
    )  # fmt: skip
    topics = _topics(required=False, allow_null=True, default=None)


class CoachingGoalSetSerializer(VersionedSerializer):
    text = serializers.CharField(max_length=300)
    behaviour = serializers.ChoiceField(choices=SelfCareBehaviour.choices)


class CoachingGoalReviewSerializer(VersionedSerializer):
    session = VisibleCoachingSessionField(
        help_text="The later attended session of the same case the goal is reviewed in."
    )
    outcome = serializers.ChoiceField(choices=GoalOutcome.choices)


class GroupEnrolSerializer(VersionedSerializer):
    case = VisibleCaseField(help_text="The case whose patient is enrolled (its id).")
    series = VisibleSeriesField(help_text="The class series (its id).")


class GroupWithdrawSerializer(VersionedSerializer):
    pass


class GroupAttendanceRecordSerializer(serializers.Serializer):
    enrolment = VisibleEnrolmentField(help_text="The patient's roster row (its id).")
    status = serializers.ChoiceField(choices=AttendanceStatus.choices)
    minutes = serializers.IntegerField(
        min_value=0, max_value=MAX_SESSION_MINUTES, required=False, allow_null=True,
        default=None,
        help_text="Attended only: the minutes of education (the session's length if left out).",
    )  # fmt: skip
    makeup_for = VisibleGroupSessionField(
        required=False, allow_null=True, default=None,
        help_text="A make-up: the session of the patient's own series it makes up.",
    )  # fmt: skip
