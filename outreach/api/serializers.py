from rest_framework import serializers

from outreach.models import FollowUpReminder


class FollowUpReminderSerializer(serializers.ModelSerializer):
    program = serializers.CharField(source="case.program.name")

    class Meta:
        model = FollowUpReminder
        fields = ["id", "case", "program", "due_on", "created_at", "emailed_at", "dismissed_at"]


class UnreachableDecisionSerializer(serializers.Serializer):
    version = serializers.IntegerField(
        required=False,
        min_value=1,
        help_text="The case version the decision was made from; if the case has changed "
        "since, the decision is refused with 409 and nothing is saved.",
    )
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=250)
