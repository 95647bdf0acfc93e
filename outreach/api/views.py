from rest_framework import viewsets

from config.api import roles_allowed
from navigator.models import Role
from outreach import selectors
from outreach.api.serializers import FollowUpReminderSerializer


class FollowUpReminderViewSet(viewsets.ReadOnlyModelViewSet):
    """Follow-up reminders: a navigator's own, or every one for a manager."""

    serializer_class = FollowUpReminderSerializer
    permission_classes = [roles_allowed(Role.NAVIGATOR, Role.MANAGER)]
    filterset_fields = ["due_on", "case"]

    def get_queryset(self):
        return selectors.reminders_visible_to(self.request.user).select_related("case__program")
