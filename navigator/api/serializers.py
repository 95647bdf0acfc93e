from __future__ import annotations

import datetime as dt

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from navigator.cases import manual_targets
from navigator.models import (
    Appointment,
    AppointmentPurpose,
    AppointmentStatus,
    BarrierStatus,
    BarrierType,
    CaseBarrier,
    CaseEvent,
    CaseStatus,
    FollowUpCloseReason,
    NavigationCase,
    NavigatorProfile,
    Rebalance,
    ResultFollowUp,
)
from navigator.selectors.visibility import cases_visible_to
from navigator.services.notes import NOTE_MAX_LENGTH
from outreach.models import (
    Channel,
    ContactAttempt,
    Direction,
    InterpretedBy,
    InterpreterModality,
    InterpreterRequest,
    InterpreterRequestStatus,
    Outcome,
)
from patients.api.serializers import PatientSerializer, ProgramBriefSerializer
from patients.languages import language_name
from patients.models import Patient, PatientPhone, ScreeningEvent


class NavigatorSerializer(serializers.ModelSerializer):
    name = serializers.CharField(source="__str__")
    language_names = serializers.ListField(child=serializers.CharField())
    role = serializers.CharField(source="user.role", read_only=True)
    role_label = serializers.CharField(source="user.get_role_display", read_only=True)

    class Meta:
        model = NavigatorProfile
        fields = ["id", "name", "role", "role_label", "languages", "language_names",
                  "caseload_capacity", "active"]  # fmt: skip


class NavigatorBriefSerializer(serializers.ModelSerializer):
    name = serializers.CharField(source="__str__")

    class Meta:
        model = NavigatorProfile
        fields = ["id", "name"]


class CasePatientSerializer(serializers.ModelSerializer):
    name = serializers.CharField(source="full_name")
    language_name = serializers.SerializerMethodField()

    class Meta:
        model = Patient
        fields = ["id", "mrn", "name", "birth_date", "preferred_language", "language_name",
                  "interpreter_needed"]  # fmt: skip

    def get_language_name(self, patient) -> str:
        return language_name(patient.preferred_language)


class CaseListSerializer(serializers.ModelSerializer):
    """A worklist or case-list row; the counts come from selector annotations."""

    patient = CasePatientSerializer()
    program = ProgramBriefSerializer()
    navigator = NavigatorBriefSerializer(allow_null=True)
    status_label = serializers.CharField(source="get_status_display")
    follow_up_overdue = serializers.BooleanField(source="follow_up_is_overdue")
    open_barrier_count = serializers.IntegerField()
    last_attempt_at = serializers.DateTimeField(allow_null=True)
    has_pending_reminder = serializers.BooleanField()

    class Meta:
        model = NavigationCase
        fields = [
            "id", "patient", "program", "navigator", "status", "status_label",
            "needs_interpreter", "next_follow_up", "follow_up_overdue", "open_barrier_count",
            "last_attempt_at", "has_pending_reminder", "opened_at", "completed_at", "closed_at",
        ]  # fmt: skip


class CaseEventSerializer(serializers.ModelSerializer):
    actor = serializers.CharField(source="actor.get_full_name", allow_null=True, default=None)

    class Meta:
        model = CaseEvent
        fields = ["id", "kind", "at", "actor", "summary", "data"]


class CaseBarrierSerializer(serializers.ModelSerializer):
    barrier_type = serializers.CharField(source="barrier_type.code")
    barrier_name = serializers.CharField(source="barrier_type.name")
    category = serializers.CharField(source="barrier_type.category.name")

    class Meta:
        model = CaseBarrier
        fields = ["id", "barrier_type", "barrier_name", "category", "status", "identified_on",
                  "action", "action_on", "resolved_on", "note"]  # fmt: skip


class AppointmentSerializer(serializers.ModelSerializer):
    modality = serializers.CharField(source="modality.code", allow_null=True, default=None)

    class Meta:
        model = Appointment
        fields = ["id", "scheduled_at", "site", "modality", "status", "note"]


class ContactAttemptSerializer(serializers.ModelSerializer):
    interpreter_used = serializers.BooleanField(read_only=True)

    class Meta:
        model = ContactAttempt
        fields = ["id", "attempted_at", "channel", "direction", "outcome", "interpreted_by",
                  "interpreter_used", "note"]  # fmt: skip


class InterpreterRequestSerializer(serializers.ModelSerializer):
    class Meta:
        model = InterpreterRequest
        fields = ["id", "appointment", "language", "modality", "needed_at", "status",
                  "provider", "note", "created_at"]  # fmt: skip


class ScreeningEventSerializer(serializers.ModelSerializer):
    modality = serializers.CharField(source="modality.code")
    category = serializers.SlugRelatedField(
        slug_field="code", read_only=True, allow_null=True,
        help_text="The program's result category (null for an EHR-reported test).",
    )  # fmt: skip
    result_words = serializers.CharField(help_text="The result in the program's words.")

    class Meta:
        model = ScreeningEvent
        fields = ["id", "modality", "performed_on", "result", "category", "result_words",
                  "resulted_on"]  # fmt: skip


class ResultFollowUpSerializer(serializers.ModelSerializer):
    """The next step a result called for, its dates, and what became of it."""

    screening = serializers.PrimaryKeyRelatedField(read_only=True)
    next_test = serializers.SlugRelatedField(
        source="next_modality", slug_field="code", read_only=True
    )
    answered_by = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)

    class Meta:
        model = ResultFollowUp
        fields = ["id", "screening", "kind", "next_step", "next_test", "result_on", "due_on",
                  "limit_on", "state", "answered_by", "done_on", "close_reason", "close_note",
                  "close_proposed_at", "closed_at"]  # fmt: skip


class FollowUpCloseProposeSerializer(serializers.Serializer):
    version = serializers.IntegerField(required=False, min_value=1)
    reason = serializers.ChoiceField(choices=FollowUpCloseReason.choices)
    note = serializers.CharField(max_length=1000)


class FollowUpCloseDecisionSerializer(serializers.Serializer):
    version = serializers.IntegerField(required=False, min_value=1)
    note = serializers.CharField(max_length=1000, required=False, allow_blank=True, default="")


class CaseDetailSerializer(serializers.ModelSerializer):
    patient = PatientSerializer()
    program = ProgramBriefSerializer()
    navigator = NavigatorBriefSerializer(allow_null=True)
    status_label = serializers.CharField(source="get_status_display")
    barriers = CaseBarrierSerializer(many=True)
    appointments = AppointmentSerializer(many=True)
    attempts = ContactAttemptSerializer(many=True)
    interpreter_requests = InterpreterRequestSerializer(many=True)
    screenings = ScreeningEventSerializer(many=True)
    follow_ups = ResultFollowUpSerializer(many=True)
    timeline = CaseEventSerializer(source="events", many=True)
    next_statuses = serializers.SerializerMethodField()

    class Meta:
        model = NavigationCase
        fields = [
            "id", "patient", "program", "navigator", "status", "status_label", "next_statuses",
            "needs_interpreter", "next_follow_up", "next_channel", "unreachable_proposed_at",
            "opened_at", "completed_at", "closed_at", "version", "barriers", "appointments",
            "attempts", "interpreter_requests", "screenings", "follow_ups", "timeline",
        ]  # fmt: skip

    def get_next_statuses(self, case: NavigationCase) -> list[str]:
        """The statuses POST .../transition/ accepts by hand now (by programme kind)."""
        return [value for value in CaseStatus.values if value in manual_targets(case)]


# --- Input -------------------------------------------------------------------------


class CaseChangeSerializer(serializers.Serializer):
    """A change to a case; with `version`, refused (409) if the case changed since."""

    version = serializers.IntegerField(
        required=False,
        min_value=1,
        help_text="The case version the change was made from (from GET /api/cases/<id>/); "
        "if the case has changed since, the change is refused with 409 and nothing is saved.",
    )


class TransitionSerializer(CaseChangeSerializer):
    status = serializers.ChoiceField(choices=CaseStatus.choices)
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=250)


class AssignSerializer(CaseChangeSerializer):
    navigator = serializers.PrimaryKeyRelatedField(queryset=NavigatorProfile.objects.all())
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=200)


@extend_schema_field(OpenApiTypes.INT)
class VisiblePhoneField(serializers.PrimaryKeyRelatedField):
    """A patient's phone number, by id, among those of the cases the user may see."""

    def get_queryset(self):
        user = self.context["request"].user
        return PatientPhone.objects.filter(
            patient__navigation_cases__in=cases_visible_to(user)
        ).distinct()


class AttemptCreateSerializer(CaseChangeSerializer):
    channel = serializers.ChoiceField(choices=Channel.choices)
    phone = VisiblePhoneField(
        required=False,
        allow_null=True,
        default=None,
        help_text="The number called or texted (its id); a wrong or disconnected one is "
        "marked bad.",
    )
    direction = serializers.ChoiceField(choices=Direction.choices, default=Direction.OUTBOUND)
    outcome = serializers.ChoiceField(choices=Outcome.choices)
    interpreted_by = serializers.ChoiceField(
        choices=[
            (v, label) for v, label in InterpretedBy.choices if v != InterpretedBy.NOT_RECORDED
        ],
        required=False,
        default="",
        help_text="Who interpreted. A qualified bilingual navigator only in a language of "
        "the navigator's profile; an ad hoc interpreter (family, untrained staff) is flagged.",
    )
    interpreter_used = serializers.BooleanField(
        default=False, help_text="Older clients: somebody interpreted (who not said)."
    )
    note = serializers.CharField(required=False, allow_blank=True, default="")
    attempted_at = serializers.DateTimeField(required=False, default=None)
    next_follow_up = serializers.DateField(required=False, allow_null=True, default=None)


class BarrierCreateSerializer(CaseChangeSerializer):
    barrier_type = serializers.SlugRelatedField(
        slug_field="code", queryset=BarrierType.objects.filter(active=True)
    )
    note = serializers.CharField(required=False, allow_blank=True, default="")
    action = serializers.CharField(required=False, allow_blank=True, default="")


class BarrierUpdateSerializer(CaseChangeSerializer):
    status = serializers.ChoiceField(choices=BarrierStatus.choices)
    action = serializers.CharField(required=False, allow_blank=True, default="")


class AppointmentCreateSerializer(CaseChangeSerializer):
    scheduled_at = serializers.DateTimeField()
    site = serializers.CharField(max_length=200)
    modality = serializers.CharField(required=False, allow_blank=True, default="")
    note = serializers.CharField(required=False, allow_blank=True, default="")
    purpose = serializers.ChoiceField(
        choices=AppointmentPurpose.choices,
        required=False,
        help_text="The screening, or the follow-up a result calls for (the default while "
        "one is open).",
    )

    def validate_scheduled_at(self, value):
        if value <= timezone.now():
            raise serializers.ValidationError("An appointment must be in the future.")
        return value


class InterpreterRequestCreateSerializer(CaseChangeSerializer):
    language = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=8,
        help_text="ISO 639 code; the patient's spoken language if left out.",
    )  # fmt: skip
    modality = serializers.ChoiceField(choices=InterpreterModality.choices)
    needed_at = serializers.DateTimeField()
    appointment = serializers.IntegerField(
        required=False, allow_null=True, default=None,
        help_text="One of the case's appointments (its id); left out: a planned call.",
    )  # fmt: skip
    provider = serializers.CharField(required=False, allow_blank=True, default="", max_length=200)
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)


class InterpreterRequestUpdateSerializer(CaseChangeSerializer):
    status = serializers.ChoiceField(choices=InterpreterRequestStatus.choices)
    provider = serializers.CharField(
        required=False, allow_blank=True, allow_null=True, default=None, max_length=200,
        help_text="Who will interpret; left out: unchanged.",
    )  # fmt: skip


class AppointmentStatusSerializer(CaseChangeSerializer):
    # "booked" is refused by the service: an outcome is kept, no-show or cancelled.
    status = serializers.ChoiceField(choices=AppointmentStatus.choices)


class ScreeningRecordSerializer(CaseChangeSerializer):
    modality = serializers.CharField()
    performed_on = serializers.DateField()
    result = serializers.CharField(
        max_length=32,
        help_text="The code of one of the program's result categories for this test "
        "(GET /api/programs/{code}/ lists them with what each calls for next).",
    )
    resulted_on = serializers.DateField(
        required=False, help_text="The day the result came back (today if left out)."
    )


class FollowUpSerializer(CaseChangeSerializer):
    next_follow_up = serializers.DateField(allow_null=True)


class NoteCreateSerializer(serializers.Serializer):
    """A note only adds to the timeline: it never conflicts, so it takes no version."""

    text = serializers.CharField(max_length=NOTE_MAX_LENGTH)


class BarrierTypeSerializer(serializers.ModelSerializer):
    category = serializers.CharField(source="category.name")

    class Meta:
        model = BarrierType
        fields = ["code", "name", "category"]


# Reports cover the program's life: no case predates this.
REPORT_EARLIEST = dt.date(2000, 1, 1)


class ReportQuerySerializer(serializers.Serializer):
    start = serializers.DateField()
    end = serializers.DateField()
    program = serializers.CharField(required=False, allow_blank=True, default="")

    def validate(self, attrs):
        if attrs["start"] > attrs["end"]:
            raise serializers.ValidationError({"end": "The end date is before the start date."})
        earliest, latest = REPORT_EARLIEST, timezone.localdate() + dt.timedelta(days=366)
        for field in ("start", "end"):
            if not earliest <= attrs[field] <= latest:
                raise serializers.ValidationError(
                    {field: f"Choose a date between {earliest} and {latest}."}
                )
        return attrs


class RebalanceRequestSerializer(serializers.Serializer):
    count = serializers.IntegerField(
        required=False, allow_null=True, default=None, min_value=1,
        help_text="How many open cases to move; omit to move all of them.",
    )  # fmt: skip
    to_navigators = serializers.PrimaryKeyRelatedField(
        queryset=NavigatorProfile.objects.all(), many=True, required=False, default=list,
        help_text="Navigators to move the cases to; omit for every other active navigator.",
    )  # fmt: skip
    deactivate = serializers.BooleanField(
        required=False, default=False,
        help_text="The navigator is leaving: move every case and make them inactive.",
    )  # fmt: skip


class RebalanceSerializer(serializers.ModelSerializer):
    from_navigator = serializers.CharField(source="from_navigator.__str__")
    actor = serializers.CharField(source="actor.username")

    class Meta:
        model = Rebalance
        fields = [
            "id", "at", "actor", "from_navigator", "requested", "moved", "deactivated", "summary",
        ]  # fmt: skip


class TeamRowSerializer(serializers.ModelSerializer):
    name = serializers.CharField(source="__str__")
    role = serializers.CharField(source="user.role", read_only=True)
    role_label = serializers.CharField(source="user.get_role_display", read_only=True)
    open_cases = serializers.IntegerField()
    overdue_follow_ups = serializers.IntegerField()
    attempts_this_week = serializers.IntegerField()
    reached_this_week = serializers.IntegerField()
    completed_this_week = serializers.IntegerField()
    covered_by = serializers.SerializerMethodField()

    class Meta:
        model = NavigatorProfile
        fields = [
            "id", "name", "role", "role_label", "active", "languages", "caseload_capacity",
            "open_cases", "overdue_follow_ups", "attempts_this_week", "reached_this_week",
            "completed_this_week", "covered_by",
        ]  # fmt: skip

    def get_covered_by(self, navigator) -> dict | None:
        coverage = getattr(navigator, "covered_by", None)
        if coverage is None:
            return None
        return {
            "navigator": coverage.covering_id,
            "name": str(coverage.covering),
            "until": coverage.ends_on.isoformat(),
        }
