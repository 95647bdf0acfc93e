"""The coaching API (issue 16): `/api/coaching-sessions/` (a case's individual sessions:
list, retrieve, book, set status, set a goal), `/api/coaching-goals/` (list, retrieve,
review), `/api/group-series/` (list, retrieve with its sessions),
`/api/group-enrolments/` (list, retrieve, enrol, withdraw) and
`/api/group-sessions/<id>/attendance/` (record).

Scoped as the pages are (`navigator.selectors.coaching`): navigators their caseload and
the caseload they cover, managers and administrators everything, clinic staff and the
compliance officer nothing (403, as the case API). Attendance is taken by the series'
facilitator or a manager: to anyone else the session is not found (404). Each change
validates its input (`coaching_serializers`) and calls one service; a service's refusal
is a 400 naming the field, a change from a stale case version a 409, and nothing is
saved either way.

A request sent again (a client retrying after a timeout) changes nothing more: a
booking of the case's time already booked is a 409 naming that session
(`existing_session`); an enrolment already made answers it with 200; attendance
recorded again with the same values changes nothing.
"""

from __future__ import annotations

from django import forms
from django.db.models import Prefetch
from django.http import Http404
from django.urls import reverse
from django_filters import rest_framework as filters
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.fields import DateTimeField
from rest_framework.generics import get_object_or_404
from rest_framework.response import Response
from rest_framework.serializers import as_serializer_error

from config.api import roles_allowed
from config.api_schema import CONFLICT, FIELD_ERRORS_REF
from navigator.api import coaching_serializers as s
from navigator.cases import StaleCaseError
from navigator.models import (
    CASEWORK_ROLES,
    CoachingGoal,
    CoachingSession,
    CoachingSessionStatus,
    EnrolmentStatus,
    GroupEnrolment,
    GroupSeries,
    GroupSession,
    Role,
)
from navigator.selectors.coaching import (
    coaching_goals_visible_to,
    coaching_sessions_visible_to,
    group_enrolments_visible_to,
    group_series_listed,
    group_series_visible_to,
)
from navigator.services import coaching, group_classes

COACHING_ROLES = roles_allowed(*CASEWORK_ROLES, Role.MANAGER)


def change(
    request_serializer,
    response_serializer,
    *,
    created: bool = False,
    conflict=CONFLICT,
    responses_also: dict | None = None,
    **kwargs,
):
    """The schema of a change: the object changed (201 when one was added); with a
    `version` in the request, 409 when the case changed since (`conflict`: its own
    description where the operation has more conflicts)."""
    responses: dict = {201 if created else 200: response_serializer, **(responses_also or {})}
    if "version" in request_serializer().fields:
        responses[409] = conflict
    return extend_schema(request=request_serializer, responses=responses, **kwargs)


BOOKING_CONFLICT = OpenApiResponse(
    FIELD_ERRORS_REF,
    description="The case changed since `version`; or it already has a session (not "
    "cancelled) at `scheduled_at`, the same booking sent again: `existing_session` names "
    "it (`id`, `url`, `status`, `scheduled_at`). Nothing was booked.",
)


class _CoachingViewSet(viewsets.GenericViewSet):
    permission_classes = [COACHING_ROLES]
    lookup_value_regex = r"[0-9]+"

    def handle_exception(self, exc):
        # A booking sent again (a retry): a conflict with the session it booked, which
        # the answer names so that the client can carry on with it.
        if isinstance(exc, coaching.DuplicateCoachingSessionError):
            existing = exc.existing
            body = {
                **as_serializer_error(exc),
                "existing_session": {
                    "id": existing.pk,
                    "url": reverse("api:coaching-session-detail", args=[existing.pk]),
                    "status": existing.status,
                    "scheduled_at": DateTimeField().to_representation(existing.scheduled_at),
                },
            }
            return Response(body, status=status.HTTP_409_CONFLICT)
        # A change made from an older version of the case: a conflict, not a bad request.
        if isinstance(exc, StaleCaseError):
            return Response(as_serializer_error(exc), status=status.HTTP_409_CONFLICT)
        return super().handle_exception(exc)

    def _valid(self, serializer_class) -> dict:
        serializer = serializer_class(data=self.request.data, context={"request": self.request})
        serializer.is_valid(raise_exception=True)
        return dict(serializer.validated_data)


# --- Individual sessions and goals ---------------------------------------------------------


class IdFilter(filters.NumberFilter):
    """An object's id: a whole number a database column can hold (a larger one is a
    400 on its parameter, never a database error)."""

    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs):
        super().__init__(*args, min_value=1, max_value=2**63 - 1, **kwargs)


class CoachingSessionFilter(filters.FilterSet):
    case = IdFilter(field_name="case_id")
    status = filters.MultipleChoiceFilter(choices=CoachingSessionStatus.choices)

    class Meta:
        model = CoachingSession
        fields = ["case", "status"]


class CoachingSessionViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, _CoachingViewSet):
    """Individual coaching sessions of the cases the user may see (`?case=` for one)."""

    filterset_class = CoachingSessionFilter

    def get_queryset(self):
        sessions = coaching_sessions_visible_to(self.request.user).select_related("coach")
        if self.action != "list":
            sessions = sessions.prefetch_related("goals_set", "goals_reviewed")
        return sessions.order_by("-scheduled_at", "-pk")

    def get_serializer_class(self):
        if self.action == "list":
            return s.CoachingSessionSerializer
        return s.CoachingSessionDetailSerializer

    def _answer(self, pk, code=status.HTTP_200_OK) -> Response:
        session = get_object_or_404(self.get_queryset(), pk=pk)
        return Response(s.CoachingSessionDetailSerializer(session).data, status=code)

    def _visible(self, pk) -> CoachingSession:
        return get_object_or_404(coaching_sessions_visible_to(self.request.user), pk=pk)

    @change(
        s.CoachingSessionBookSerializer,
        s.CoachingSessionDetailSerializer,
        created=True,
        conflict=BOOKING_CONFLICT,
    )
    def create(self, request):
        """Book a session; an interpreter is requested with it where the patient needs one,
        and the programme's reminders are scheduled. The same booking sent again (the
        case's session at that time, not cancelled) is a 409 naming that session: a
        client may retry a booking safely."""
        data = self._valid(s.CoachingSessionBookSerializer)
        session = coaching.coaching_session_book(
            case=data["case"],
            scheduled_at=data["scheduled_at"],
            actor=request.user,
            coach=data["coach"],
            duration_minutes=data["duration_minutes"],
            topics=data["topics"],
            language=data["language"],
            interpreter_modality=data["interpreter_modality"],
            note=data["note"],
            expected_version=data.get("version"),
        )
        return self._answer(session.pk, status.HTTP_201_CREATED)

    @change(
        s.CoachingSessionStatusSerializer,
        s.CoachingSessionDetailSerializer,
        operation_id="coaching_sessions_set_status",
    )
    @action(detail=True, methods=["post"], url_path="status")
    def set_status(self, request, pk=None):
        """Attended (with the minutes spent), missed or cancelled."""
        session = self._visible(pk)
        data = self._valid(s.CoachingSessionStatusSerializer)
        coaching.coaching_session_set_status(
            session=session,
            status=data["status"],
            actor=request.user,
            minutes_spent=data["minutes_spent"],
            topics=data["topics"],
            expected_version=data.get("version"),
        )
        return self._answer(session.pk)

    @change(s.CoachingGoalSetSerializer, s.CoachingGoalSerializer, created=True)
    @action(detail=True, methods=["post"])
    def goals(self, request, pk=None):
        """A goal the patient set in this (attended) session."""
        session = self._visible(pk)
        data = self._valid(s.CoachingGoalSetSerializer)
        goal = coaching.coaching_goal_set(
            session=session,
            text=data["text"],
            behaviour=data["behaviour"],
            actor=request.user,
            expected_version=data.get("version"),
        )
        return Response(s.CoachingGoalSerializer(goal).data, status=status.HTTP_201_CREATED)


class CoachingGoalFilter(filters.FilterSet):
    case = IdFilter(field_name="case_id")
    open = filters.BooleanFilter(field_name="reviewed_in", lookup_expr="isnull")

    class Meta:
        model = CoachingGoal
        fields = ["case", "open"]


class CoachingGoalViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, _CoachingViewSet):
    """Goals set in the coaching sessions of the cases the user may see."""

    serializer_class = s.CoachingGoalSerializer
    filterset_class = CoachingGoalFilter

    def get_queryset(self):
        return coaching_goals_visible_to(self.request.user).order_by("created_at", "pk")

    @change(s.CoachingGoalReviewSerializer, s.CoachingGoalSerializer)
    @action(detail=True, methods=["post"])
    def review(self, request, pk=None):
        """Met, partly met or not met, in a later attended session of the same case."""
        goal = get_object_or_404(self.get_queryset(), pk=pk)
        data = self._valid(s.CoachingGoalReviewSerializer)
        goal = coaching.coaching_goal_review(
            goal=goal,
            session=data["session"],
            outcome=data["outcome"],
            actor=request.user,
            expected_version=data.get("version"),
        )
        return Response(s.CoachingGoalSerializer(goal).data)


# --- Group classes ------------------------------------------------------------------------


class GroupSeriesFilter(filters.FilterSet):
    program = filters.CharFilter(field_name="program__code")
    language = filters.CharFilter(field_name="language")

    class Meta:
        model = GroupSeries
        fields = ["program", "language"]


class GroupSeriesViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, _CoachingViewSet):
    """Class series (a timetable: no patient), soonest first; one with its sessions."""

    filterset_class = GroupSeriesFilter

    def get_queryset(self):
        series = group_series_listed(user=self.request.user)
        if self.action != "list":
            series = series.prefetch_related(
                Prefetch("sessions", queryset=GroupSession.objects.order_by("number", "pk"))
            )
        return series

    def get_serializer_class(self):
        if self.action == "list":
            return s.GroupSeriesSerializer
        return s.GroupSeriesDetailSerializer


class GroupEnrolmentFilter(filters.FilterSet):
    series = IdFilter(field_name="series_id")
    case = IdFilter(field_name="case_id")
    status = filters.MultipleChoiceFilter(choices=EnrolmentStatus.choices)

    class Meta:
        model = GroupEnrolment
        fields = ["series", "case", "status"]


class GroupEnrolmentViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, _CoachingViewSet):
    """Roster rows the user may see: their caseload's, or a series' they facilitate."""

    serializer_class = s.GroupEnrolmentSerializer
    filterset_class = GroupEnrolmentFilter

    def get_queryset(self):
        return (
            group_enrolments_visible_to(self.request.user)
            .prefetch_related("attendance")
            .order_by("series_id", "pk")
        )

    def _answer(self, pk, code=status.HTTP_200_OK) -> Response:
        enrolment = get_object_or_404(self.get_queryset(), pk=pk)
        return Response(s.GroupEnrolmentSerializer(enrolment).data, status=code)

    @change(
        s.GroupEnrolSerializer,
        s.GroupEnrolmentSerializer,
        created=True,
        responses_also={200: s.GroupEnrolmentSerializer},
    )
    def create(self, request):
        """Enrol a case's patient in a series (refused when it is full); their reminders
        for its sessions ahead are scheduled. Already enrolled (the same request sent
        again): the enrolment, unchanged, with 200."""
        data = self._valid(s.GroupEnrolSerializer)
        case, series = data["case"], data["series"]
        # Only the answer's code depends on it: the service (under the series' lock)
        # decides, and enrols nobody twice (one enrolment per patient and series).
        already = GroupEnrolment.objects.filter(
            series=series, patient_id=case.patient_id, status=EnrolmentStatus.ENROLLED
        ).exists()
        enrolment = group_classes.group_enrol(
            case=case,
            series=series,
            actor=request.user,
            expected_version=data.get("version"),
        )
        return self._answer(
            enrolment.pk, status.HTTP_200_OK if already else status.HTTP_201_CREATED
        )

    @change(s.GroupWithdrawSerializer, s.GroupEnrolmentSerializer)
    @action(detail=True, methods=["post"])
    def withdraw(self, request, pk=None):
        """The patient leaves the series; their pending reminders stop."""
        enrolment = get_object_or_404(group_enrolments_visible_to(request.user), pk=pk)
        data = self._valid(s.GroupWithdrawSerializer)
        group_classes.group_enrolment_set_status(
            enrolment=enrolment,
            status=EnrolmentStatus.WITHDRAWN,
            actor=request.user,
            expected_version=data.get("version"),
        )
        return self._answer(enrolment.pk)


class GroupSessionViewSet(mixins.RetrieveModelMixin, _CoachingViewSet):
    """A series' meeting; its attendance is recorded by the facilitator or a manager."""

    serializer_class = s.GroupSessionSerializer

    def get_queryset(self):
        return GroupSession.objects.filter(
            series__in=group_series_visible_to(self.request.user)
        ).order_by("starts_at", "pk")

    @change(s.GroupAttendanceRecordSerializer, s.GroupAttendanceSerializer)
    @action(detail=True, methods=["post"])
    def attendance(self, request, pk=None):
        """Attended (with minutes), absent or excused; a make-up names the session of the
        patient's own series it makes up. Recording again with other values corrects it."""
        user = request.user
        session = get_object_or_404(self.get_queryset().select_related("series"), pk=pk)
        if not (user.sees_all_cases or user.pk == session.series.facilitator_id):
            # Not theirs to take: the session's roster is out of their scope.
            raise Http404
        data = self._valid(s.GroupAttendanceRecordSerializer)
        attendance = group_classes.group_attendance_record(
            session=session,
            enrolment=data["enrolment"],
            status=data["status"],
            actor=user,
            minutes=data["minutes"],
            makeup_for=data["makeup_for"],
        )
        return Response(s.GroupAttendanceSerializer(attendance).data)
