from django_filters import rest_framework as filters
from rest_framework import viewsets

from config.api import roles_allowed
from navigator.models import Role
from outreach import selectors
from outreach.api.serializers import FollowUpReminderSerializer
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
