from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db.models import Count, Q
from django.http import Http404
from django.shortcuts import get_object_or_404
from django_filters import rest_framework as filters
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from config.api import roles_allowed
from navigator import selectors, services
from navigator.api import serializers as s
from navigator.models import OPEN_STATUSES, BarrierType, CaseStatus, NavigationCase, Role
from outreach.services import attempt_log
from patients.models import ScreeningModality, ScreeningProgram

CASE_ROLES = roles_allowed(Role.NAVIGATOR, Role.MANAGER)
MANAGER_ONLY = roles_allowed(Role.MANAGER)


class CaseFilter(filters.FilterSet):
    status = filters.MultipleChoiceFilter(choices=CaseStatus.choices)
    program = filters.CharFilter(field_name="program__code")
    navigator = filters.NumberFilter(field_name="navigator_id")
    open = filters.BooleanFilter(method="filter_open")

    class Meta:
        model = NavigationCase
        fields = ["status", "program", "navigator", "needs_interpreter"]

    def filter_open(self, queryset, name, value):
        return (
            queryset.filter(status__in=OPEN_STATUSES)
            if value
            else queryset.exclude(status__in=OPEN_STATUSES)
        )


def _modality_for(case: NavigationCase, code: str) -> ScreeningModality:
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
        return selectors.case_list(user=self.request.user).order_by("-opened_at", "-pk")

    def get_serializer_class(self):
        return s.CaseListSerializer if self.action == "list" else s.CaseDetailSerializer

    def retrieve(self, request, *args, **kwargs):
        return Response(s.CaseDetailSerializer(self._detail(kwargs["pk"])).data)

    def _visible_case(self, pk) -> NavigationCase:
        return get_object_or_404(
            selectors.cases_visible_to(self.request.user).select_related("program"), pk=pk
        )

    def _detail(self, pk) -> NavigationCase:
        try:
            return selectors.case_detail(user=self.request.user, case_id=int(pk))
        except (NavigationCase.DoesNotExist, ValueError):
            raise Http404 from None

    def _answer(self, pk, code=status.HTTP_200_OK) -> Response:
        return Response(s.CaseDetailSerializer(self._detail(pk)).data, status=code)

    @extend_schema(request=s.TransitionSerializer, responses=s.CaseDetailSerializer)
    @action(detail=True, methods=["post"])
    def transition(self, request, pk=None):
        case = self._visible_case(pk)
        data = self._valid(s.TransitionSerializer, request)
        services.case_transition(
            case=case, to_status=data["status"], actor=request.user, note=data["note"]
        )
        return self._answer(pk)

    @extend_schema(request=s.AssignSerializer, responses=s.CaseDetailSerializer)
    @action(detail=True, methods=["post"], permission_classes=[MANAGER_ONLY])
    def assign(self, request, pk=None):
        case = self._visible_case(pk)
        data = self._valid(s.AssignSerializer, request)
        services.case_assign(
            case=case, navigator=data["navigator"], actor=request.user, reason=data["reason"]
        )
        return self._answer(pk)

    @extend_schema(request=s.AttemptCreateSerializer, responses=s.CaseDetailSerializer)
    @action(detail=True, methods=["post"])
    def attempts(self, request, pk=None):
        case = self._visible_case(pk)
        data = self._valid(s.AttemptCreateSerializer, request)
        attempt_log(case=case, actor=request.user, **data)
        return self._answer(pk, status.HTTP_201_CREATED)

    @extend_schema(request=s.BarrierCreateSerializer, responses=s.CaseDetailSerializer)
    @action(detail=True, methods=["post"])
    def barriers(self, request, pk=None):
        case = self._visible_case(pk)
        data = self._valid(s.BarrierCreateSerializer, request)
        services.barrier_add(case=case, actor=request.user, **data)
        return self._answer(pk, status.HTTP_201_CREATED)

    @extend_schema(
        request=s.BarrierUpdateSerializer,
        responses=s.CaseDetailSerializer,
        operation_id="cases_barrier_update",
    )
    @action(detail=True, methods=["post"], url_path=r"barriers/(?P<barrier_id>[0-9]+)")
    def barrier_update(self, request, pk=None, barrier_id=None):
        case = self._visible_case(pk)
        barrier = get_object_or_404(
            selectors.barriers_visible_to(request.user).filter(case=case), pk=barrier_id
        )
        data = self._valid(s.BarrierUpdateSerializer, request)
        services.barrier_update(barrier=barrier, actor=request.user, **data)
        return self._answer(pk)

    @extend_schema(request=s.AppointmentCreateSerializer, responses=s.CaseDetailSerializer)
    @action(detail=True, methods=["post"])
    def appointments(self, request, pk=None):
        case = self._visible_case(pk)
        data = self._valid(s.AppointmentCreateSerializer, request)
        modality = _modality_for(case, data["modality"]) if data["modality"] else None
        services.appointment_book(
            case=case,
            scheduled_at=data["scheduled_at"],
            site=data["site"],
            modality=modality,
            note=data["note"],
            actor=request.user,
        )
        return self._answer(pk, status.HTTP_201_CREATED)

    @extend_schema(
        request=s.AppointmentStatusSerializer,
        responses=s.CaseDetailSerializer,
        operation_id="cases_appointment_update",
    )
    @action(detail=True, methods=["post"], url_path=r"appointments/(?P<appointment_id>[0-9]+)")
    def appointment_update(self, request, pk=None, appointment_id=None):
        case = self._visible_case(pk)
        appointment = get_object_or_404(
            selectors.appointments_visible_to(request.user).filter(case=case), pk=appointment_id
        )
        data = self._valid(s.AppointmentStatusSerializer, request)
        services.appointment_set_status(
            appointment=appointment, status=data["status"], actor=request.user
        )
        return self._answer(pk)

    @extend_schema(request=s.ScreeningRecordSerializer, responses=s.CaseDetailSerializer)
    @action(detail=True, methods=["post"])
    def screening(self, request, pk=None):
        case = self._visible_case(pk)
        data = self._valid(s.ScreeningRecordSerializer, request)
        services.case_record_screening(
            case=case,
            modality=_modality_for(case, data["modality"]),
            performed_on=data["performed_on"],
            result=data["result"],
            actor=request.user,
        )
        return self._answer(pk, status.HTTP_201_CREATED)

    @extend_schema(request=s.FollowUpSerializer, responses=s.CaseDetailSerializer)
    @action(detail=True, methods=["post"], url_path="follow-up")
    def follow_up(self, request, pk=None):
        case = self._visible_case(pk)
        data = self._valid(s.FollowUpSerializer, request)
        services.case_set_follow_up(case=case, on=data["next_follow_up"], actor=request.user)
        return self._answer(pk)

    @staticmethod
    def _valid(serializer_class, request) -> dict:
        serializer = serializer_class(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        return dict(serializer.validated_data)


class WorklistView(generics.ListAPIView):
    """The signed-in navigator's open cases: overdue follow-ups first, then by due date."""

    serializer_class = s.CaseListSerializer
    permission_classes = [roles_allowed(Role.NAVIGATOR)]
    filter_backends: list = []

    def get_queryset(self):
        return selectors.worklist_for(user=self.request.user)


class NavigatorViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = s.NavigatorSerializer
    permission_classes = [CASE_ROLES]

    def get_queryset(self):
        return (
            selectors.navigators_visible_to(self.request.user)
            .annotate(open_cases=Count("cases", filter=Q(cases__status__in=OPEN_STATUSES)))
            .order_by("user__last_name", "user__first_name", "pk")
        )


class BarrierTypeViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = s.BarrierTypeSerializer
    permission_classes = [CASE_ROLES]
    lookup_field = "code"
    pagination_class = None
    queryset = BarrierType.objects.filter(active=True).select_related("category")


class CompletionReportView(APIView):
    """Cases opened and completed, with completion rates and 95% intervals."""

    permission_classes = [MANAGER_ONLY]

    @extend_schema(
        parameters=[
            OpenApiParameter("start", str, required=True, description="YYYY-MM-DD"),
            OpenApiParameter("end", str, required=True, description="YYYY-MM-DD"),
            OpenApiParameter("program", str, description="Program code"),
        ],
        responses={200: dict},
    )
    def get(self, request):
        query = s.ReportQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        data = query.validated_data
        program_id = None
        if data["program"]:
            program = ScreeningProgram.objects.filter(code=data["program"]).first()
            if program is None:
                raise ValidationError({"program": f"“{data['program']}” is not a program."})
            program_id = program.pk
        report = selectors.completion_report(
            start=data["start"], end=data["end"], program_id=program_id
        )
        return Response(report.as_dict())
