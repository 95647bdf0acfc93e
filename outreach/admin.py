from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError

from config.admin import ReadOnlyAdmin
from outreach.letters.case_letter import PLACEHOLDERS, LetterError, template_check
from outreach.messaging.compose import PLACEHOLDERS as MESSAGE_PLACEHOLDERS
from outreach.messaging.compose import MessageTemplateError
from outreach.messaging.compose import template_check as message_template_check
from outreach.models import (
    CaseTask,
    ContactAttempt,
    FollowUpReminder,
    InboundSms,
    MessageTemplate,
    OutreachProtocol,
    PatientMessage,
    ProtocolStep,
    ReminderRule,
    SmsOptOut,
    TaskRule,
    TemplateKind,
)
from outreach.services.protocols import protocol_validate_steps
from patients.languages import validate_language_code


@admin.register(ContactAttempt)
class ContactAttemptAdmin(ReadOnlyAdmin):
    list_display = ["case", "attempted_at", "channel", "direction", "outcome",
                    "interpreted_by", "created_by"]  # fmt: skip
    list_filter = ["channel", "direction", "outcome", "interpreted_by"]
    search_fields = ["case__patient__mrn", "note"]
    date_hierarchy = "attempted_at"
    raw_id_fields = ["case"]
    list_select_related = ["created_by"]


@admin.register(FollowUpReminder)
class FollowUpReminderAdmin(ReadOnlyAdmin):
    list_display = ["case", "navigator", "due_on", "emailed_at", "dismissed_at"]
    list_filter = ["due_on", "navigator"]
    search_fields = ["case__pk"]
    raw_id_fields = ["case"]
    list_select_related = ["navigator__user"]


class ProtocolStepFormSet(forms.BaseInlineFormSet):
    """The same rules as the protocol page: steps 1, 2, 3… on days that never go back."""

    def clean(self) -> None:
        super().clean()
        if any(self.errors):
            return
        steps = [
            (form.cleaned_data["order"], form.cleaned_data["day"], form.cleaned_data["channel"])
            for form in self.forms
            if form.cleaned_data and not form.cleaned_data.get("DELETE")
        ]
        try:
            protocol_validate_steps(steps)
        except ValidationError as error:
            raise ValidationError(
                [message for messages in error.message_dict.values() for message in messages]
            ) from None


class ProtocolStepInline(admin.TabularInline):
    model = ProtocolStep
    formset = ProtocolStepFormSet
    extra = 0


@admin.register(OutreachProtocol)
class OutreachProtocolAdmin(admin.ModelAdmin):
    list_display = ["program", "unreachable_after_attempts", "unreachable_after_days",
                    "reached_follow_up_days", "updated_at"]  # fmt: skip
    list_select_related = ["program"]
    inlines = [ProtocolStepInline]


class MessageTemplateForm(forms.ModelForm):
    class Meta:
        model = MessageTemplate
        fields = ["kind", "language", "program", "subject", "body"]
        help_texts = {
            "body": "Letters: "
            + "; ".join(f"{{{name}}} {meaning}" for name, meaning in PLACEHOLDERS.items())
            + ". Texts and emails: "
            + "; ".join(f"{{{name}}} {meaning}" for name, meaning in MESSAGE_PLACEHOLDERS.items())
            + ". Never a diagnosis or a result.",
        }

    def clean(self):
        cleaned = super().clean()
        subject, body = cleaned.get("subject", ""), cleaned.get("body", "")
        if cleaned.get("kind") == TemplateKind.OUTREACH_LETTER:
            for field, text in (("subject", subject), ("body", body)):
                try:
                    template_check(text)
                except LetterError as error:
                    self.add_error(field, str(error))
        elif cleaned.get("kind"):
            # Texts and emails: their own placeholders, and nothing clinical.
            try:
                message_template_check(subject=subject, body=body)
            except MessageTemplateError as error:
                field = "subject" if str(error).startswith("In the subject") else "body"
                self.add_error(field, str(error))
        return cleaned

    def clean_language(self) -> str:
        language = self.cleaned_data.get("language", "").strip().lower()
        validate_language_code(language)
        return language


@admin.register(MessageTemplate)
class MessageTemplateAdmin(admin.ModelAdmin):
    form = MessageTemplateForm
    list_display = ["kind", "language", "program", "subject", "updated_at"]
    list_filter = ["kind", "language", "program"]


@admin.register(ReminderRule)
class ReminderRuleAdmin(ReadOnlyAdmin):
    """Edited on each program's "Reminders and tasks" page (/programs/<code>/reminders/)."""

    list_display = ["program", "kind", "trigger", "days", "at_time", "channel", "modality",
                    "priority", "active"]  # fmt: skip
    list_filter = ["program", "kind", "channel", "active"]
    list_select_related = ["program", "modality"]


@admin.register(TaskRule)
class TaskRuleAdmin(ReadOnlyAdmin):
    """Edited on each program's "Reminders and tasks" page (/programs/<code>/reminders/)."""

    list_display = ["program", "kind", "days", "active"]
    list_filter = ["program", "kind", "active"]


@admin.register(CaseTask)
class CaseTaskAdmin(ReadOnlyAdmin):
    list_display = ["pk", "case", "kind", "for_manager", "due_on", "done_at"]
    list_filter = ["kind", "for_manager", "due_on"]
    raw_id_fields = ["case", "done_by"]


@admin.register(SmsOptOut)
class SmsOptOutAdmin(ReadOnlyAdmin):
    list_display = ["pk", "keyword", "opted_out_at"]


@admin.register(InboundSms)
class InboundSmsAdmin(ReadOnlyAdmin):
    # The text and the number are patient details: shown on the record, never listed.
    list_display = ["pk", "intent", "received_at", "patient", "case"]
    list_filter = ["intent"]
    raw_id_fields = ["patient", "case"]


@admin.register(PatientMessage)
class PatientMessageAdmin(ReadOnlyAdmin):
    """Read-only: messages change state only through outreach.messaging, and a message
    sent or not is part of the patient's record: never deleted."""

    list_display = ["pk", "kind", "channel", "language", "state", "due_at", "sent_at", "tries"]
    list_filter = ["state", "kind", "channel", "language"]
    date_hierarchy = "due_at"
    raw_id_fields = ["patient", "case"]
    # The body and recipient are patient details: shown on the record, never listed.
    exclude = ["body", "recipient", "subject"]
