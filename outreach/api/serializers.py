from rest_framework import serializers

from outreach.models import FollowUpReminder


class FollowUpReminderSerializer(serializers.ModelSerializer):
    program = serializers.CharField(source="case.program.name")

    class Meta:
        model = FollowUpReminder
        fields = ["id", "case", "program", "due_on", "created_at", "emailed_at", "dismissed_at"]
