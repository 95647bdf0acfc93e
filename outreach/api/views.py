from django.shortcuts import get_object_or_404
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema
from rest_framework import status, viewsets
from rest_framework.response import Response
from rest_framework.serializers import as_serializer_error
from rest_framework.views import APIView

from config.api import roles_allowed
from navigator.api.serializers import CaseDetailSerializer
from navigator.models import Role
from navigator.selectors import case_detail, cases_visible_to
from navigator.services import StaleCaseError
from outreach import selectors, services
from outreach.api.serializers import FollowUpReminderSerializer, UnreachableDecisionSerializer
from outreach.models import FollowUpReminder


class FollowUpReminderFilter(filters.FilterSet):
    # A plain id filter: a model-choice filter would check the id against every
    # case, telling a navigator which case ids exist outside their caseload.
    case = filters.NumberFilter(field_name="case_id")

    class Meta:
        model = FollowUpReminder
        fields = ["due_on", "case"]


class FollowUpReminderViewSet(viewsets.ReadOnlyModelViewSet):
    """Follow-up reminders: a navigator's own, or every one for a manager."""

    serializer_class = FollowUpReminderSerializer
    permission_classes = [roles_allowed(Role.NAVIGATOR, Role.MANAGER)]
    filterset_class = FollowUpReminderFilter

    def get_queryset(self):
        return selectors.reminders_visible_to(self.request.user).select_related("case__program")


class _UnreachableDecisionView(APIView):
    """A manager's decision on a case proposed for closing as unreachable."""

    permission_classes = [roles_allowed(Role.MANAGER)]
    decide = staticmethod(services.case_unreachable_confirm)

    @extend_schema(request=UnreachableDecisionSerializer, responses=CaseDetailSerializer)
    def post(self, request, pk: int):
        case = get_object_or_404(cases_visible_to(request.user), pk=pk)
        serializer = UnreachableDecisionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        type(self).decide(
            case=case,
            actor=request.user,
            note=data["note"],
            expected_version=data.get("version"),
        )
        return Response(CaseDetailSerializer(case_detail(user=request.user, case_id=pk)).data)

    def handle_exception(self, exc):
        # Decided from an older version of the case: a conflict, not a bad request.
        if isinstance(exc, StaleCaseError):
            return Response(as_serializer_error(exc), status=status.HTTP_409_CONFLICT)
        return super().handle_exception(exc)


class UnreachableConfirmView(_UnreachableDecisionView):
    """Confirm the proposal: the case closes as unreachable (managers)."""

    decide = staticmethod(services.case_unreachable_confirm)


class UnreachableDismissView(_UnreachableDecisionView):
    """Keep trying: the proposal is withdrawn (managers)."""

    decide = staticmethod(services.case_unreachable_dismiss)
