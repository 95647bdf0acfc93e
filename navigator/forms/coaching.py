"""Forms of a control case's page (issue 16): booking an individual coaching session,
recording what became of it, a goal set in it and reviewed in a later one, enrolling
in the next group series, and a lab value copied from an outside report. Each checks
its input and leaves the rules (a session in the future, a goal reviewed later, the
series' seats, the lab's plausible range) to the one service it feeds."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django import forms
from django.utils import timezone

from navigator.forms.base import (
    CaseForm,
    DateInput,
    DateTimeLocalInput,
    choice,
    model_choice,
    not_too_far_ahead,
)
from navigator.models import (
    MAX_SESSION_MINUTES,
    CoachingSession,
    CoachingSessionStatus,
    GoalOutcome,
    GroupSeries,
    NavigationCase,
    SelfCareBehaviour,
)
from outreach.models import InterpreterModality
from patients.languages import common_language_choices, language_name
from patients.services.labs import LAB_TESTS, UNIT


def _topics_field(label: str, required: bool = False) -> forms.MultipleChoiceField:
    return forms.MultipleChoiceField(
        label=label,
        choices=SelfCareBehaviour.choices,
        required=required,
        widget=forms.CheckboxSelectMultiple,
        help_text="The ADCES7 self-care behaviours.",
    )


class CoachingBookForm(CaseForm):
    """An individual session, in the patient's language unless another is chosen."""

    scheduled_at = forms.DateTimeField(
        label="Date and time", widget=DateTimeLocalInput, validators=[not_too_far_ahead]
    )
    duration_minutes = forms.IntegerField(
        label="Minutes", min_value=1, max_value=MAX_SESSION_MINUTES, initial=60
    )
    topics = _topics_field("Topics planned")
    language = forms.ChoiceField(label="Language")
    interpreter_modality = forms.ChoiceField(
        label="Interpreter, if needed",
        choices=InterpreterModality.choices,
        initial=InterpreterModality.PHONE,
    )
    note = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 2}), max_length=2000
    )

    def __init__(self, *args: Any, case: NavigationCase, **kwargs: Any) -> None:
        spoken = case.patient.preferred_language
        kwargs.setdefault("initial", {"language": spoken})
        super().__init__(*args, **kwargs)
        languages = common_language_choices()
        if spoken not in {code for code, _ in languages}:
            languages.insert(0, (spoken, language_name(spoken)))
        choice(self, "language").choices = languages
        zone = timezone.get_current_timezone_name()
        self.fields["scheduled_at"].help_text = f"Local time ({zone})."
        needs = case.needs_interpreter or case.patient.interpreter_needed
        self.fields["interpreter_modality"].help_text = (
            f"{case.patient.given_name} needs an interpreter: one in "
            f"{language_name(spoken)} is requested with the session, unless it is in "
            f"{language_name(spoken)} with a coach who speaks it."
            if needs
            else "Requested only for a patient who needs an interpreter."
        )


class CoachingOutcomeForm(CaseForm):
    """What became of a booked session: attended (minutes and topics covered), missed,
    or cancelled; before it begins, only cancelled."""

    status = forms.ChoiceField(
        label="Outcome",
        choices=[
            (CoachingSessionStatus.ATTENDED, CoachingSessionStatus.ATTENDED.label),
            (CoachingSessionStatus.MISSED, CoachingSessionStatus.MISSED.label),
            (CoachingSessionStatus.CANCELLED, CoachingSessionStatus.CANCELLED.label),
        ],
    )
    minutes_spent = forms.IntegerField(
        label="Minutes of education",
        required=False,
        min_value=1,
        max_value=MAX_SESSION_MINUTES,
        help_text="If attended; the session's length if left empty.",
    )
    topics = _topics_field("Topics covered")

    def __init__(self, *args: Any, session: CoachingSession, **kwargs: Any) -> None:
        kwargs.setdefault("initial", {"topics": session.topics})
        super().__init__(*args, **kwargs)
        if session.scheduled_at > timezone.now():
            del self.fields["minutes_spent"]
            del self.fields["topics"]
            field = choice(self, "status")
            field.choices = [
                (CoachingSessionStatus.CANCELLED, CoachingSessionStatus.CANCELLED.label)
            ]
            field.error_messages["invalid_choice"] = (
                "This session has not begun: whether it was attended can be known only "
                "then. Cancel it, or book another to move it."
            )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("minutes_spent") and cleaned.get("status") != "attended":
            self.add_error("minutes_spent", "Minutes are for a session attended.")
        return cleaned


class CoachingGoalForm(CaseForm):
    behaviour = forms.ChoiceField(label="Behaviour", choices=SelfCareBehaviour.choices)
    text = forms.CharField(
        label="Goal",
        max_length=300,
        help_text="In the patient's words: what, how much, how often (e.g. walk 20 minutes "
        "after dinner 5 days a week).",
    )


class SessionChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: CoachingSession) -> str:
        return f"Session of {timezone.localtime(obj.scheduled_at):%b %-d, %Y}"


class CoachingGoalReviewForm(CaseForm):
    """A goal's outcome, reviewed in a later attended session of the case."""

    session = SessionChoiceField(
        label="Reviewed in", queryset=CoachingSession.objects.none(), empty_label=None
    )
    outcome = forms.ChoiceField(label="Outcome", choices=GoalOutcome.choices)

    def __init__(self, *args: Any, sessions: list[CoachingSession], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = model_choice(self, "session")
        field.queryset = CoachingSession.objects.filter(pk__in=[s.pk for s in sessions])
        # The menu is drawn from the sessions already read (no query per goal).
        field.choices = [(s.pk, field.label_from_instance(s)) for s in sessions]


class GroupEnrolNextForm(CaseForm):
    """Enrol in the series the page offered (the next one with room in a language)."""

    series = forms.ModelChoiceField(
        queryset=GroupSeries.objects.all(), widget=forms.HiddenInput, required=True
    )


class LabRecordForm(CaseForm):
    """A lab value as read on an outside report."""

    test = forms.ChoiceField(
        label="Test", choices=[(key, lab.label) for key, lab in LAB_TESTS.items()]
    )
    value = forms.DecimalField(
        label="Value", max_digits=3, decimal_places=1, min_value=Decimal("0.1")
    )
    unit = forms.ChoiceField(
        label="Unit",
        choices=[(UNIT, "% (NGSP/DCCT)")],
        initial=UNIT,
        help_text="A result in mmol/mol (IFCC) is on another scale: not entered here.",
    )
    collected_on = forms.DateField(label="Collected on", widget=DateInput)
    source = forms.CharField(
        label="Reporting lab or report",
        max_length=200,
        help_text="Where the value comes from, e.g. Quest Diagnostics, report of Mar 3.",
    )

    def clean_collected_on(self) -> dt.date:
        day: dt.date = self.cleaned_data["collected_on"]
        if day > timezone.localdate():
            raise forms.ValidationError("The sample cannot have been collected after today.")
        return day


class LabFixForm(CaseForm):
    """A staff-entered lab mistyped: correct it to the report's value, or withdraw it as
    entered in error (the button pressed says which)."""

    value = forms.DecimalField(
        label="Value on the report",
        max_digits=3,
        decimal_places=1,
        min_value=Decimal("0.1"),
        required=False,
        help_text="For a correction: the value the report says, in %.",
    )
    action = forms.ChoiceField(
        label="What to do",
        choices=[("correct", "Correct"), ("entered_in_error", "Entered in error")],
    )

    def clean(self) -> dict:
        data = super().clean()
        if data.get("action") == "correct" and data.get("value") is None:
            self.add_error("value", "Enter the value the report says.")
        return data
