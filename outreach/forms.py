"""Forms for outreach pages: the unreachable proposal's decisions, the protocol editor,
reminder and task rules, and call guides.

They check input; the services (outreach.services, outreach.messaging) decide.
"""

from __future__ import annotations

import datetime as dt

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone

from navigator.forms.base import REPORT_EARLIEST, CaseForm, DateInput, EquiNavForm
from outreach.models import (
    CallGuide,
    CallStep,
    Channel,
    MessageChannel,
    OutreachProtocol,
    ReminderRule,
    ReminderTrigger,
    TemplateKind,
)
from outreach.services.call_guides import (
    SUMMARY_MAX_LENGTH,
    TEXT_MAX_LENGTH,
    TITLE_MAX_LENGTH,
    CallGuideText,
)
from outreach.services.protocols import protocol_validate_steps
from outreach.services.unreachable import UNREACHABLE_NOTE_MAX_LENGTH
from patients.languages import common_language_choices, validate_language_code
from patients.models import ScreeningModality, ScreeningProgram


class LanguageAccessForm(EquiNavForm):
    """The Language access page's period: the last 90 days unless said otherwise."""

    start = forms.DateField(label="From", required=False, widget=DateInput)
    end = forms.DateField(label="To", required=False, widget=DateInput)

    def __init__(self, data=None, *args, **kwargs):
        today = timezone.localdate()
        self.default_start, self.default_end = today - dt.timedelta(days=90), today
        data = data.copy() if data is not None else {}
        # An empty or absent date means the default period, shown filled in.
        data["start"] = data.get("start") or self.default_start.isoformat()
        data["end"] = data.get("end") or self.default_end.isoformat()
        super().__init__(data, *args, **kwargs)

    def clean_start(self) -> dt.date:
        start = self.cleaned_data.get("start") or self.default_start
        if start < REPORT_EARLIEST:
            raise ValidationError(f"Choose a date from {REPORT_EARLIEST:%Y-%m-%d} on.")
        return start

    def clean_end(self) -> dt.date:
        end = self.cleaned_data.get("end") or self.default_end
        if end > self.default_end:
            raise ValidationError("Choose an end date no later than today.")
        return end

    def clean(self) -> dict:
        cleaned = super().clean() or {}
        start, end = cleaned.get("start"), cleaned.get("end")
        if start and end and start > end:
            self.add_error("end", "The end date is before the start date.")
        return cleaned


class UnreachableProposeForm(CaseForm):
    note = forms.CharField(
        label="What was tried",
        max_length=UNREACHABLE_NOTE_MAX_LENGTH,
        error_messages={"required": "Say what was tried; the manager decides from it."},
    )


class UnreachableDecisionForm(CaseForm):
    """Confirm (close as unreachable) or dismiss (keep trying): one form, two buttons."""

    note = forms.CharField(
        label="Note (optional)",
        required=False,
        max_length=UNREACHABLE_NOTE_MAX_LENGTH,
        help_text="Goes on the timeline with the decision.",
    )


class ProtocolForm(EquiNavForm):
    unreachable_after_attempts = forms.IntegerField(
        label="Propose closing as unreachable after this many unsuccessful attempts",
        min_value=1,
        max_value=365,
    )
    unreachable_after_days = forms.IntegerField(
        label="…made over at least this many days", min_value=0, max_value=365
    )
    reached_follow_up_days = forms.IntegerField(
        label="After reaching the patient, follow up in (days)", min_value=1, max_value=365
    )

    @classmethod
    def for_protocol(cls, protocol: OutreachProtocol | None, **kwargs) -> ProtocolForm:
        defaults = OutreachProtocol()
        source = protocol or defaults
        initial = {
            name: getattr(source, name)
            for name in (
                "unreachable_after_attempts",
                "unreachable_after_days",
                "reached_follow_up_days",
            )
        }
        return cls(initial=initial, **kwargs)


class StepForm(EquiNavForm):
    # Server-side checks only: a browser's own popups would say less than ours.
    use_required_attribute = False

    order = forms.IntegerField(label="Attempt", min_value=1, max_value=99)
    day = forms.IntegerField(label="Day", min_value=0, max_value=365)
    # The empty choice keeps the blank "new step" row blank, so that it is skipped.
    channel = forms.ChoiceField(label="Channel", choices=[("", "—"), *Channel.choices])


class BaseStepFormSet(forms.BaseFormSet):
    def steps(self) -> list[tuple[int, int, str]]:
        return [
            (form.cleaned_data["order"], form.cleaned_data["day"], form.cleaned_data["channel"])
            for form in self.forms
            if form.cleaned_data and not form.cleaned_data.get("DELETE")
        ]

    def clean(self) -> None:
        if any(self.errors):
            return
        try:
            protocol_validate_steps(self.steps())
        except ValidationError as error:
            raise ValidationError(
                [message for messages in error.message_dict.values() for message in messages]
            ) from None


StepFormSet: type[BaseStepFormSet] = forms.formset_factory(  # type: ignore[assignment]
    StepForm, formset=BaseStepFormSet, extra=1, can_delete=True, max_num=30, validate_max=True
)


class ReminderRuleForm(EquiNavForm):
    """One patient reminder rule; the service checks the combinations."""

    trigger = forms.ChoiceField(choices=ReminderTrigger.choices, label="When")
    days = forms.IntegerField(min_value=0, max_value=365, label="Days")
    kind = forms.ChoiceField(
        choices=[
            (kind.value, kind.label)
            for kind in (
                TemplateKind.APPOINTMENT_REMINDER,
                TemplateKind.PREP_INSTRUCTIONS,
                TemplateKind.KIT_RETURN,
                TemplateKind.RECALL,
                TemplateKind.COACHING_REMINDER,
                TemplateKind.GROUP_CLASS_REMINDER,
            )
        ],
        label="Message",
    )
    at_time = forms.TimeField(
        label="At (patient's local time)", widget=forms.TimeInput(attrs={"type": "time"})
    )
    channel = forms.ChoiceField(choices=MessageChannel.choices, label="Channel")
    modality = forms.ModelChoiceField(
        queryset=ScreeningModality.objects.none(),
        required=False,
        label="Only for the test",
        empty_label="Any test",
    )
    priority = forms.IntegerField(
        min_value=0, max_value=10, initial=5, help_text="Higher goes first on a capped day."
    )
    active = forms.BooleanField(required=False, initial=True, label="On")

    def __init__(self, *args, program: ScreeningProgram, **kwargs):
        super().__init__(*args, **kwargs)
        modality = self.fields["modality"]
        assert isinstance(modality, forms.ModelChoiceField)  # noqa: S101 - declared above
        modality.queryset = ScreeningModality.objects.filter(program=program, active=True)

    @classmethod
    def for_rule(cls, rule: ReminderRule, **kwargs) -> ReminderRuleForm:
        initial = {
            "trigger": rule.trigger,
            "days": rule.days,
            "kind": rule.kind,
            "at_time": rule.at_time,
            "channel": rule.channel,
            "modality": rule.modality_id,
            "priority": rule.priority,
            "active": rule.active,
        }
        return cls(initial=initial, program=rule.program, **kwargs)


class TaskRuleForm(EquiNavForm):
    days = forms.IntegerField(min_value=0, max_value=365, label="Days")
    active = forms.BooleanField(required=False, label="On")


class CallGuideForm(EquiNavForm):
    """A call guide's text, with what changed and why; the service checks it again."""

    title = forms.CharField(
        max_length=TITLE_MAX_LENGTH,
        error_messages={"required": "Give the guide a title navigators will recognise."},
    )
    talking_points = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 8}),
        max_length=TEXT_MAX_LENGTH,
        help_text="What the navigator says, one point a line. Plain words, short sentences.",
        error_messages={"required": "Write what the navigator says: the talking points."},
    )
    barriers_and_answers = forms.CharField(
        label="Common barriers and answers",
        widget=forms.Textarea(attrs={"rows": 8}),
        max_length=TEXT_MAX_LENGTH,
        help_text="One barrier a line, then its answer: “Cost: screening is free with…”.",
        error_messages={"required": "Write the common barriers and how to answer them."},
    )
    prep_instructions = forms.CharField(
        label="How to prepare (optional)",
        required=False,
        widget=forms.Textarea(attrs={"rows": 6}),
        max_length=TEXT_MAX_LENGTH,
        help_text="Bowel prep, no deodorant on the day… Only what applies to this call.",
    )
    source = forms.CharField(
        label="Sources",
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=TEXT_MAX_LENGTH,
        help_text="The guidelines and patient materials this guide follows.",
        error_messages={"required": "Cite the guidelines or materials this guide follows."},
    )
    active = forms.BooleanField(
        required=False, initial=True, label="Shown to navigators on the case page"
    )
    summary = forms.CharField(
        label="What changed and why",
        max_length=SUMMARY_MAX_LENGTH,
        error_messages={"required": "Say what changed and why."},
    )
    version = forms.IntegerField(
        required=False,
        min_value=1,
        widget=forms.HiddenInput,
        error_messages={
            "invalid": "This form lost track of the guide's version; reload it and try again.",
            "min_value": "This form lost track of the guide's version; reload it and try again.",
        },
    )

    def service_error_field(self, key: str, message: str) -> str | None:
        # Changed meanwhile: about the whole form, shown at its top.
        if key == "version":
            return None
        return super().service_error_field(key, message)

    @classmethod
    def for_guide(cls, guide: CallGuide, **kwargs) -> CallGuideForm:
        initial = {name: getattr(guide, name) for name in CALL_GUIDE_TEXT_FIELDS}
        initial["version"] = guide.version
        return cls(initial=initial, **kwargs)

    def text(self) -> CallGuideText:
        return CallGuideText(**{name: self.cleaned_data[name] for name in CALL_GUIDE_TEXT_FIELDS})


CALL_GUIDE_TEXT_FIELDS = (
    "title",
    "talking_points",
    "barriers_and_answers",
    "prep_instructions",
    "source",
    "active",
)


class CallGuideNewForm(CallGuideForm):
    """A guide for a step and language the program has none for yet."""

    step = forms.ChoiceField(label="Call", choices=CallStep.choices)
    language = forms.ChoiceField(label="Language", choices=common_language_choices)

    field_order = ["step", "language"]


class CallGuidePickForm(forms.Form):
    """The case page's links to another step or language of the call guide."""

    guide_step = forms.ChoiceField(
        required=False,
        choices=[("", ""), *CallStep.choices],
        error_messages={"invalid_choice": "That is not a call step we have guides for."},
    )
    guide_lang = forms.CharField(required=False, max_length=8, validators=[validate_language_code])
