from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Q
from django.http import Http404
from django.utils import timezone
from django_filters import rest_framework as filters
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.generics import get_object_or_404
from rest_framework.response import Response
from rest_framework.serializers import as_serializer_error
from rest_framework.views import APIView

from config.api import roles_allowed
from config.api_schema import CONFLICT
from config.db_router import reads_from_replica
from navigator import cases
from navigator.api import serializers as s
from navigator.api import worklist_serializers as ws
from navigator.equity.completion_report import completion_report
from navigator.equity.scope import equity_scope
from navigator.forms.lists import WorklistFilterForm
from navigator.models import (
    CASEWORK_ROLES,
    OPEN_STATUSES,
    AppointmentPurpose,
    BarrierType,
    CaseStatus,
    NavigationCase,
    Role,
)
from navigator.selectors.cases import case_detail, case_list, open_follow_up
from navigator.selectors.team import team_overview
from navigator.selectors.visibility import (
    appointments_visible_to,
    barriers_visible_to,
    cases_visible_to,
    navigators_visible_to,
)
from navigator.selectors.worklist import (
    worklist_cases,
    worklist_navigators,
    worklist_owner,
    worklist_rows,
)
from navigator.services import (
    appointments,
    assignment,
    barriers,
    follow_up,
    follow_ups,
    notes,
    screenings,
)
from navigator.worklist.query import SORTS
from navigator.worklist.rules import Moment
from outreach.selectors import interpreter_requests_visible_to
from outreach.services.attempts import attempt_log
from outreach.services.interpreters import interpreter_request_create, interpreter_request_update
from patients.models import ScreeningModality, ScreeningProgram

CASE_ROLES = roles_allowed(*CASEWORK_ROLES, Role.MANAGER)
MANAGER_ONLY = roles_allowed(Role.MANAGER)


class CaseFilter(filters.FilterSet):
    status = filters.MultipleChoiceFilter(choices=CaseStatus.choices)
    program = filters.CharFilter(field_name="program__code")
    navigator = filters.NumberFilter(field_name="navigator_id")
    open = filters.BooleanFilter(method="filter_open")
    unreachable_proposed = filters.BooleanFilter(method="filter_unreachable_proposed")

    class Meta:
        model = NavigationCase
        fields = ["status", "program", "navigator", "needs_interpreter"]

    def filter_open(self, queryset, name, value):
        return (
            queryset.filter(status__in=OPEN_STATUSES)
            if value
            else queryset.exclude(status__in=OPEN_STATUSES)
        )

    def filter_unreachable_proposed(self, queryset, name, value):
        # Open cases awaiting a manager's decision on closing them as unreachable.
        proposed = Q(status__in=OPEN_STATUSES, unreachable_proposed_at__isnull=False)
        return queryset.filter(proposed) if value else queryset.exclude(proposed)


def case_change(request_serializer, *, created: bool = False, **kwargs):
    """The schema of a change to a case: it answers the case, 201 when the change added
    something; with a `version` in the request, 409 when the case changed since."""
    responses: dict = {201 if created else 200: s.CaseDetailSerializer}
    if "version" in request_serializer().fields:
        responses[409] = CONFLICT
    return extend_schema(request=request_serializer, responses=responses, **kwargs)


def _modality_for(case: NavigationCase, code: str) -> ScreeningModality:
    cases.case_refuse_screening_work(case)
    modality = next((m for m in case.program.modalities.all() if m.code == code and m.active), None)
    if modality is None:
        known = ", ".join(m.code for m in case.program.modalities.all())
        raise ValidationError(
            {"modality": f"“{code}” is not a {case.program} test (one of: {known})."}
        )
    return modality


class CaseViewSet(viewsets.ReadOnlyModelViewSet):
    """Navigation cases: navigators see their caseload, managers every case."""

    permission_classes = [CASE_ROLES]
    filterset_class = CaseFilter
    lookup_value_regex = r"[0-9]+"

    def get_queryset(self):
        return case_list(user=self.request.user).order_by("-opened_at", "-pk")

    def get_serializer_class(self):
        return s.CaseListSerializer if self.action == "list" else s.CaseDetailSerializer

    def retrieve(self, request, *args, **kwargs):
        return Response(s.CaseDetailSerializer(self._detail(kwargs["pk"])).data)

    def _visible_case(self, pk) -> NavigationCase:
        return get_object_or_404(
            cases_visible_to(self.request.user).select_related("program"), pk=pk
        )

    def _detail(self, pk) -> NavigationCase:
        try:
            return case_detail(user=self.request.user, case_id=int(pk))
        except (NavigationCase.DoesNotExist, ValueError):
            raise Http404 from None

    def _answer(self, pk, code=status.HTTP_200_OK) -> Response:
        return Response(s.CaseDetailSerializer(self._detail(pk)).data, status=code)

    @case_change(s.TransitionSerializer)
    @action(detail=True, methods=["post"])
    def transition(self, request, pk=None):
        case = self._visible_case(pk)
        data = self._valid(s.TransitionSerializer, request)
        cases.case_transition(
            case=case,
            to_status=data["status"],
            actor=request.user,
            note=data["note"],
            expected_version=data.pop("version", None),
        )
        return self._answer(pk)

    @case_change(s.AssignSerializer)
    @action(detail=True, methods=["post"], permission_classes=[MANAGER_ONLY])
    def assign(self, request, pk=None):
        case = self._visible_case(pk)
        data = self._valid(s.AssignSerializer, request)
        assignment.case_assign(
            case=case,
            navigator=data["navigator"],
            actor=request.user,
            reason=data["reason"],
            expected_version=data.get("version"),
        )
        return self._answer(pk)

    @case_change(s.AttemptCreateSerializer, created=True)
    @action(detail=True, methods=["post"])
    def attempts(self, request, pk=None):
        case = self._visible_case(pk)
        data = self._valid(s.AttemptCreateSerializer, request)
        attempt_log(
            case=case, actor=request.user, expected_version=data.pop("version", None), **data
        )
        return self._answer(pk, status.HTTP_201_CREATED)

    @case_change(s.BarrierCreateSerializer, created=True)
    @action(detail=True, methods=["post"])
    def barriers(self, request, pk=None):
        case = self._visible_case(pk)
        data = self._valid(s.BarrierCreateSerializer, request)
        barriers.barrier_add(
            case=case, actor=request.user, expected_version=data.pop("version", None), **data
        )
        return self._answer(pk, status.HTTP_201_CREATED)

    @case_change(s.BarrierUpdateSerializer, operation_id="cases_barrier_update")
    @action(detail=True, methods=["post"], url_path=r"barriers/(?P<barrier_id>[0-9]+)")
    def barrier_update(self, request, pk=None, barrier_id=None):
        case = self._visible_case(pk)
        barrier = get_object_or_404(
            barriers_visible_to(request.user).filter(case=case), pk=barrier_id
        )
        data = self._valid(s.BarrierUpdateSerializer, request)
        barriers.barrier_update(
            barrier=barrier, actor=request.user, expected_version=data.pop("version", None), **data
        )
        return self._answer(pk)

    @case_change(s.AppointmentCreateSerializer, created=True)
    @action(detail=True, methods=["post"])
    def appointments(self, request, pk=None):
        case = self._visible_case(pk)
        data = self._valid(s.AppointmentCreateSerializer, request)
        modality = _modality_for(case, data["modality"]) if data["modality"] else None
        purpose = data.get("purpose") or (
            AppointmentPurpose.DIAGNOSTIC
            if open_follow_up(case) is not None
            else AppointmentPurpose.SCREENING
        )
        appointments.appointment_book(
            case=case,
            scheduled_at=data["scheduled_at"],
            site=data["site"],
            modality=modality,
            note=data["note"],
            purpose=purpose,
            actor=request.user,
            expected_version=data.get("version"),
        )
        return self._answer(pk, status.HTTP_201_CREATED)

    @case_change(s.AppointmentStatusSerializer, operation_id="cases_appointment_update")
    @action(detail=True, methods=["post"], url_path=r"appointments/(?P<appointment_id>[0-9]+)")
    def appointment_update(self, request, pk=None, appointment_id=None):
        case = self._visible_case(pk)
        appointment = get_object_or_404(
            appointments_visible_to(request.user).filter(case=case), pk=appointment_id
        )
        data = self._valid(s.AppointmentStatusSerializer, request)
        appointments.appointment_set_status(
            appointment=appointment,
            status=data["status"],
            actor=request.user,
            expected_version=data.get("version"),
        )
        return self._answer(pk)

    @case_change(
        s.InterpreterRequestCreateSerializer,
        created=True,
        operation_id="cases_interpreter_request_create",
    )
    @action(detail=True, methods=["post"], url_path="interpreter-requests")
    def interpreter_requests(self, request, pk=None):
        case = self._visible_case(pk)
        data = self._valid(s.InterpreterRequestCreateSerializer, request)
        appointment = None
        if data["appointment"] is not None:
            appointment = (
                appointments_visible_to(request.user).filter(pk=data["appointment"]).first()
            )
            if appointment is None or appointment.case_id != case.pk:
                raise ValidationError(
                    {"appointment": "This appointment is not one of this case's."}
                )
        interpreter_request_create(
            case=case,
            language=data["language"],
            modality=data["modality"],
            needed_at=data["needed_at"],
            appointment=appointment,
            provider=data["provider"],
            note=data["note"],
            actor=request.user,
            expected_version=data.get("version"),
        )
        return self._answer(pk, status.HTTP_201_CREATED)

    @case_change(
        s.InterpreterRequestUpdateSerializer, operation_id="cases_interpreter_request_update"
    )
    @action(detail=True, methods=["post"], url_path=r"interpreter-requests/(?P<request_id>[0-9]+)")
    def interpreter_request_change(self, request, pk=None, request_id=None):
        case = self._visible_case(pk)
        interpreter = get_object_or_404(
            interpreter_requests_visible_to(request.user).filter(case=case), pk=request_id
        )
        data = self._valid(s.InterpreterRequestUpdateSerializer, request)
        interpreter_request_update(
            interpreter_request=interpreter,
            status=data["status"],
            provider=data["provider"],
            actor=request.user,
            expected_version=data.get("version"),
        )
        return self._answer(pk)

    @case_change(s.ScreeningRecordSerializer, created=True)
    @action(detail=True, methods=["post"])
    def screening(self, request, pk=None):
        case = self._visible_case(pk)
        data = self._valid(s.ScreeningRecordSerializer, request)
        screenings.case_record_screening(
            case=case,
            modality=_modality_for(case, data["modality"]),
            performed_on=data["performed_on"],
            result=data["result"],
            resulted_on=data.get("resulted_on"),
            actor=request.user,
            expected_version=data.get("version"),
        )
        return self._answer(pk, status.HTTP_201_CREATED)

    @case_change(s.FollowUpSerializer)
    @action(detail=True, methods=["post"], url_path="follow-up")
    def follow_up(self, request, pk=None):
        case = self._visible_case(pk)
        data = self._valid(s.FollowUpSerializer, request)
        follow_up.case_set_follow_up(
            case=case,
            on=data["next_follow_up"],
            actor=request.user,
            expected_version=data.get("version"),
        )
        return self._answer(pk)

    @case_change(s.FollowUpCloseProposeSerializer)
    @action(detail=True, methods=["post"], url_path="follow-up/close")
    def follow_up_close(self, request, pk=None):
        """Propose closing a case whose result is unresolved, for a listed reason; a
        program manager confirms (…/close/confirm/) or keeps it open (…/close/dismiss/)."""
        case = self._visible_case(pk)
        data = self._valid(s.FollowUpCloseProposeSerializer, request)
        follow_ups.follow_up_close_propose(
            case=case,
            reason=data["reason"],
            note=data["note"],
            actor=request.user,
            expected_version=data.get("version"),
        )
        return self._answer(pk)

    @case_change(s.FollowUpCloseDecisionSerializer)
    @action(
        detail=True, methods=["post"], url_path="follow-up/close/confirm",
        permission_classes=[MANAGER_ONLY],
    )  # fmt: skip
    def follow_up_close_confirm(self, request, pk=None):
        case = self._visible_case(pk)
        data = self._valid(s.FollowUpCloseDecisionSerializer, request)
        follow_ups.follow_up_close_confirm(
            case=case, actor=request.user, expected_version=data.get("version")
        )
        return self._answer(pk)

    @case_change(s.FollowUpCloseDecisionSerializer)
    @action(
        detail=True, methods=["post"], url_path="follow-up/close/dismiss",
        permission_classes=[MANAGER_ONLY],
    )  # fmt: skip
    def follow_up_close_dismiss(self, request, pk=None):
        case = self._visible_case(pk)
        data = self._valid(s.FollowUpCloseDecisionSerializer, request)
        follow_ups.follow_up_close_dismiss(
            case=case, actor=request.user, note=data["note"], expected_version=data.get("version")
        )
        return self._answer(pk)

    @case_change(s.NoteCreateSerializer, created=True)
    @action(detail=True, methods=["post"])
    def notes(self, request, pk=None):
        case = self._visible_case(pk)
        data = self._valid(s.NoteCreateSerializer, request)
        notes.case_note_add(case=case, text=data["text"], actor=request.user)
        return self._answer(pk, status.HTTP_201_CREATED)

    def handle_exception(self, exc):
        # A change made from an older version of the case: a conflict, not a bad request.
        if isinstance(exc, cases.StaleCaseError):
            return Response(as_serializer_error(exc), status=status.HTTP_409_CONFLICT)
        return super().handle_exception(exc)

    @staticmethod
    def _valid(serializer_class, request) -> dict:
        serializer = serializer_class(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        return dict(serializer.validated_data)


WORKLIST_FILTERS = [
    OpenApiParameter("program", str, description="Program code"),
    OpenApiParameter("status", str, description="An open case status"),
    OpenApiParameter("language", str, description="ISO 639 code of the patient's language"),
    OpenApiParameter("clinic", str, description="Clinic code"),
    OpenApiParameter("barrier", str, description="Barrier type code (open barriers)"),
    OpenApiParameter("overdue", bool, description="Overdue follow-ups only"),
    OpenApiParameter("sort", str, enum=list(SORTS), description="Default: priority"),
    OpenApiParameter("navigator", int, description="Whose worklist (managers; covering)"),
]
SEARCH_IN_URL = (
    "Search with POST /api/worklist/search/ (the search in the body): "
    "a name, MRN, phone or birth date in the address would be kept in logs."
)


class _WorklistBase(generics.GenericAPIView):
    """The worklist of `worklist_data()`: checked by the worklist's form, scoped, ranked."""

    serializer_class = ws.WorklistRowSerializer
    permission_classes = [CASE_ROLES]
    filter_backends: list = []
    refuse_search = SEARCH_IN_URL

    def worklist_data(self):
        return self.request.query_params

    def get_queryset(self):
        form = WorklistFilterForm(self.worklist_data(), refuse_search=self.refuse_search)
        if not form.is_valid():
            raise ValidationError(form.errors.as_data())
        user = self.request.user
        navigator_id = form.cleaned_data["navigator"]
        self.owner = None
        if navigator_id is None:
            if not user.works_caseload:
                raise PermissionDenied("Managers choose a navigator: ?navigator=<id>.")
        else:
            self.owner = worklist_owner(user=user, navigator_id=navigator_id)
            if self.owner is None:
                raise Http404
        self.moment = Moment.current()
        navigators = worklist_navigators(user=user, navigator=self.owner, on=self.moment.today)
        return worklist_cases(
            user=user, navigators=navigators, filters=form.filters(), moment=self.moment
        )

    def paginate_queryset(self, queryset):
        page = super().paginate_queryset(queryset)
        return worklist_rows(page, user=self.request.user, navigator=self.owner, moment=self.moment)

    def list(self, request, *args, **kwargs):
        # Plain values, not a serializer per row (ws.worklist_page_data; the same JSON).
        # The views name this class before ListModelMixin (kept for the schema: a
        # paginated list), else the mixin's `list` shadowed this one and every row
        # went through the serializer after all.
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(ws.worklist_page_data(page))


@extend_schema(parameters=WORKLIST_FILTERS)
class WorklistView(_WorklistBase, mixins.ListModelMixin):
    """Open cases, most urgent first, each saying why (rules: navigator.worklist).

    The page's filters and sort (`program`, `status`, `language`, `clinic`, `barrier`,
    `overdue`, `sort`); a bad value is a 400 naming the field. A search (a name, an MRN,
    a phone number, a birth date) is never a query parameter: `q` here is a 400 that
    points to `POST /api/worklist/search/`. Managers choose the navigator
    (`navigator=<id>`); a navigator may ask for a colleague's list only while covering
    for them (else 404).
    """

    def get(self, request, *args, **kwargs):
        return self.list(request, *args, **kwargs)


@extend_schema(
    request=ws.WorklistSearchSerializer,
    responses=ws.WorklistPageSerializer,
    parameters=[
        OpenApiParameter("page", int, description="Which page of the matches"),
        OpenApiParameter("page_size", int, description="Matches a page (at most 200)"),
    ],
)
class WorklistSearchView(_WorklistBase, mixins.ListModelMixin):
    """The worklist searched: `q` (a name, an MRN however typed, a phone number, or a
    birth date as YYYY-MM-DD or MM/DD/YYYY) and the same filters as `GET /api/worklist/`,
    all in the JSON body, so that nothing identifying reaches an address or a log.
    The answer is the worklist's page of matches; a later page is `?page=N` with the
    same body.
    """

    refuse_search = ""

    def worklist_data(self):
        serializer = ws.WorklistSearchSerializer(data=self.request.data)
        serializer.is_valid(raise_exception=True)
        # The form reads text, as from a query string: it says what is wrong with a value.
        return {
            key: ("1" if value is True else "0" if value is False else str(value))
            for key, value in serializer.validated_data.items()
            if value is not None
        }

    def post(self, request, *args, **kwargs):
        return self.list(request, *args, **kwargs)


class NavigatorViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = s.NavigatorSerializer
    permission_classes = [CASE_ROLES]

    def get_queryset(self):
        return (
            navigators_visible_to(self.request.user)
            .annotate(open_cases=Count("cases", filter=Q(cases__status__in=OPEN_STATUSES)))
            .order_by("user__last_name", "user__first_name", "pk")
        )

    @extend_schema(request=s.RebalanceRequestSerializer, responses={201: s.RebalanceSerializer})
    @action(detail=True, methods=["post"], permission_classes=[MANAGER_ONLY])
    def rebalance(self, request, pk=None):
        """Move some or all of a navigator's open cases to others, in one step."""
        # DRF's get_object_or_404 (imported above): a malformed id ("abc") is a 404, not a 500.
        source = get_object_or_404(navigators_visible_to(request.user), pk=pk)
        serializer = s.RebalanceRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        rebalance = assignment.navigator_rebalance(
            from_navigator=source,
            actor=request.user,
            count=data["count"],
            to_navigators=list(data["to_navigators"]) or None,
            deactivate=data["deactivate"],
        )
        return Response(s.RebalanceSerializer(rebalance).data, status=status.HTTP_201_CREATED)


class TeamView(APIView):
    """Each navigator's caseload and this week's work (Monday to now)."""

    permission_classes = [MANAGER_ONLY]

    @extend_schema(responses=s.TeamRowSerializer(many=True))
    def get(self, request):
        rows = team_overview(user=request.user)
        return Response(s.TeamRowSerializer(rows, many=True).data)


class BarrierTypeViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = s.BarrierTypeSerializer
    permission_classes = [CASE_ROLES]
    lookup_field = "code"
    pagination_class = None
    queryset = BarrierType.objects.filter(active=True).select_related("category")


class CompletionReportView(APIView):
    """Per programme (never mixed): the funnel, completion within 90 and 180 days of
    opening (cases too new for the window left out, ineligible cases left out), and
    completion within 180 days by navigator, race and ethnicity and language, each
    rate with its 95% Wilson interval and small cells suppressed (null)."""

    permission_classes = [MANAGER_ONLY]

    @extend_schema(
        parameters=[
            OpenApiParameter("start", str, required=True, description="Opened from, YYYY-MM-DD"),
            OpenApiParameter("end", str, required=True, description="Opened to, YYYY-MM-DD"),
            OpenApiParameter("program", str, description="Programme code; omit for each one"),
        ],
        responses={200: dict},
    )
    @reads_from_replica
    def get(self, request):
        query = s.ReportQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        data = query.validated_data
        try:
            report = completion_report(
                scope=equity_scope(request.user),
                start=data["start"],
                end=data["end"],
                program_code=data["program"] or None,
                today=timezone.localdate(),
            )
        except ScreeningProgram.DoesNotExist as error:
            raise ValidationError({"program": f"“{data['program']}” is not a program."}) from error
        return Response(report)
