from rest_framework import serializers

from outreach.models import CallGuide, CaseTask, FollowUpReminder


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


class InboundSmsSerializer(serializers.Serializer):
    """Twilio's inbound-message webhook fields (form-encoded); others are ignored."""

    MessageSid = serializers.CharField(max_length=64)
    From = serializers.CharField(max_length=40)
    To = serializers.CharField(max_length=40, required=False, allow_blank=True, default="")
    # No length limit here: a long text is kept (shortened by the service), not refused.
    Body = serializers.CharField(
        required=False, allow_blank=True, default="", trim_whitespace=False
    )


class MessageStatusSerializer(serializers.Serializer):
    """Twilio's status-callback fields (form-encoded)."""

    MessageSid = serializers.CharField(max_length=64)
    MessageStatus = serializers.CharField(max_length=32)
    ErrorCode = serializers.CharField(required=False, allow_blank=True, default="", max_length=8)


class CaseTaskSerializer(serializers.ModelSerializer):
    kind_label = serializers.CharField(source="get_kind_display", read_only=True)
    program = serializers.CharField(source="case.program.name", read_only=True)
    # Null until the task is done (the schema says so).
    done_by = serializers.StringRelatedField(read_only=True, allow_null=True)

    class Meta:
        model = CaseTask
        fields = [
            "id",
            "case",
            "program",
            "kind",
            "kind_label",
            "for_manager",
            "due_on",
            "summary",
            "created_at",
            "done_at",
            "done_by",
            "done_note",
        ]
        read_only_fields = fields


class CaseTaskDoneSerializer(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=300)

    def to_internal_value(self, data):
        # An empty body or {"note": ...} only: anything else is a client's mistake, refused
        # rather than silently ignored (the fuzzer found garbage bodies accepted).
        if hasattr(data, "keys"):
            unknown = sorted(set(data.keys()) - set(self.fields))
            if unknown:
                raise serializers.ValidationError(
                    {key: ["Unknown field: only “note” may be sent."] for key in unknown}
                )
        return super().to_internal_value(data)


class CallGuideSerializer(serializers.ModelSerializer):
    program = serializers.SlugRelatedField(slug_field="code", read_only=True)
    step_label = serializers.CharField(source="get_step_display", read_only=True)
    # Null for a guide nobody has edited since it was seeded.
    updated_by = serializers.StringRelatedField(read_only=True, allow_null=True)

    class Meta:
        model = CallGuide
        fields = [
            "id",
            "program",
            "step",
            "step_label",
            "language",
            "title",
            "talking_points",
            "barriers_and_answers",
            "prep_instructions",
            "source",
            "version",
            "updated_by",
            "updated_at",
        ]
        read_only_fields = fields
