"""The forms on the case page, one per action; each posts to one service."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.db.models import Prefetch, QuerySet
from django.utils import timezone

from navigator.cases import manual_targets
from navigator.forms.base import (
    CaseForm,
    DateInput,
    DateTimeLocalInput,
    EquiNavForm,
    NavigatorChoiceField,
    choice,
    model_choice,
    not_too_far_ahead,
)
from navigator.models import (
    Appointment,
    AppointmentPurpose,
    AppointmentStatus,
    BarrierStatus,
    BarrierType,
    CaseStatus,
    NavigationCase,
    NavigatorProfile,
)
from navigator.selectors.cases import open_follow_up
from navigator.services.notes import NOTE_MAX_LENGTH
from outreach.models import (
    Channel,
    Direction,
    InterpretedBy,
    InterpreterModality,
    InterpreterRequestStatus,
    Outcome,
    Purpose,
)
from patients.languages import common_language_choices, language_name
from patients.models import ModalityRole, PatientPhone, ResultCategory, ScreeningModality

# Moves that end the case: the navigator must say why.
CLOSING_STATUSES = frozenset(
    {CaseStatus.CLOSED, CaseStatus.CLOSED_UNREACHABLE, CaseStatus.DECLINED, CaseStatus.INELIGIBLE}
)


class PhoneChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: PatientPhone) -> str:
        label = f"{obj.number.as_national} ({obj.get_kind_display().lower()})"
        return label + (" — marked wrong or disconnected" if obj.is_bad else "")


# What "Who interpreted?" offers ("not recorded" is for attempts logged before it was asked).
ASKED = (
    InterpretedBy.QUALIFIED_INTERPRETER,
    InterpretedBy.BILINGUAL_NAVIGATOR,
    InterpretedBy.AD_HOC,
    InterpretedBy.NONE,
)


def asks_who_interpreted(case: NavigationCase) -> bool:
    """Whether a contact with this case's patient asks who interpreted."""
    patient = case.patient
    return (
        case.needs_interpreter or patient.interpreter_needed or patient.limited_english_proficiency
    )


class AttemptForm(CaseForm):
    """One click logs an attempt: each outcome is a submit button (see _attempt_form.html)."""

    outcome = forms.ChoiceField(
        choices=Outcome.choices,
        error_messages={"required": "Choose the outcome: each outcome button logs the attempt."},
    )
    channel = forms.ChoiceField(choices=Channel.choices, initial=Channel.PHONE)
    phone = PhoneChoiceField(
        queryset=PatientPhone.objects.none(),
        required=False,
        label="Number",
        empty_label="No number",
        help_text="For a call or a text.",
    )
    # Not required: a post without it (an older page, a script) means outreach.
    purpose = forms.ChoiceField(choices=Purpose.choices, initial=Purpose.OUTREACH, required=False)
    direction = forms.ChoiceField(choices=Direction.choices, initial=Direction.OUTBOUND)
    # Asked only about a patient who needs an interpreter or speaks limited English.
    interpreted_by = forms.ChoiceField(
        label="Who interpreted?",
        required=False,
        choices=[
            ("", "Choose…"),
            *((value, label) for value, label in InterpretedBy.choices if value in ASKED),
        ],
        help_text="Needed when the patient was reached. A family member or untrained staff "
        "is an ad hoc interpreter, flagged on the timeline: ad hoc interpreters make about "
        "twice as many clinically significant errors as trained ones (Flores et al., Ann "
        "Emerg Med 2012;60:545–553).",
    )
    # Not shown: an older page's "interpreter used" box (someone interpreted, who not said).
    interpreter_used = forms.BooleanField(required=False, label="Interpreter used")
    next_follow_up = forms.DateField(
        label="Next follow-up",
        required=False,
        widget=DateInput,
        validators=[not_too_far_ahead],
        help_text="Leave empty: the outreach protocol sets it from the outcome.",
    )
    note = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 2}), max_length=5000
    )

    # The outcomes shown first, as the largest buttons: what most calls end in.
    COMMON_OUTCOMES = (
        Outcome.REACHED,
        Outcome.NO_ANSWER,
        Outcome.LEFT_VOICEMAIL,
        Outcome.WRONG_NUMBER,
    )

    def __init__(self, *args, case: NavigationCase, **kwargs):
        super().__init__(*args, **kwargs)
        model_choice(self, "phone").queryset = PatientPhone.objects.filter(
            patient_id=case.patient_id
        )
        self.asks_interpreter = asks_who_interpreted(case)
        if not self.asks_interpreter:
            del self.fields["interpreted_by"]

    def detail_fields(self) -> list[forms.BoundField]:
        hidden = {"outcome", "version", "interpreter_used"}
        return [self[name] for name in self.fields if name not in hidden]

    def outcome_buttons(self) -> list[tuple[str, str, bool]]:
        """(value, label, common) for each outcome, the common ones first."""
        common = [(value, Outcome(value).label, True) for value in self.COMMON_OUTCOMES]
        rest = [
            (value, label, False)
            for value, label in Outcome.choices
            if value not in self.COMMON_OUTCOMES
        ]
        return common + rest

    def clean_purpose(self) -> str:
        return self.cleaned_data.get("purpose") or Purpose.OUTREACH

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        # A number goes with a call or a text only.
        if cleaned.get("channel") not in {Channel.PHONE, Channel.SMS}:
            cleaned["phone"] = None
        cleaned.setdefault("interpreted_by", "")
        if (
            self.asks_interpreter
            and not cleaned["interpreted_by"]
            and not cleaned.get("interpreter_used")
            and cleaned.get("outcome") == Outcome.REACHED
        ):
            self.add_error(
                "interpreted_by",
                "Say who interpreted when the patient was reached (or “No interpreter”).",
            )
        return cleaned


class BarrierAddForm(CaseForm):
    barrier_type = forms.ModelChoiceField(
        queryset=BarrierType.objects.none(), label="Barrier", empty_label="Choose a barrier…"
    )
    note = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 2}), max_length=5000
    )
    action = forms.CharField(
        required=False,
        label="Action taken",
        widget=forms.Textarea(attrs={"rows": 2}),
        max_length=5000,
        help_text="Optional: what was done about it.",
    )

    def __init__(self, *args, barrier_types: QuerySet[BarrierType], **kwargs):
        super().__init__(*args, **kwargs)
        field = model_choice(self, "barrier_type")
        field.queryset = barrier_types
        grouped: dict[str, list[tuple[int, str]]] = {}
        for barrier_type in barrier_types.select_related("category").order_by(
            "category__order", "category__name", "name"
        ):
            grouped.setdefault(barrier_type.category.name, []).append(
                (barrier_type.pk, barrier_type.name)
            )
        field.choices = [("", "Choose a barrier…"), *grouped.items()]


class BarrierUpdateForm(CaseForm):
    """The status is chosen by the button pressed: "Action taken" or "Resolved"."""

    status = forms.ChoiceField(choices=BarrierStatus.choices)
    action = forms.CharField(
        required=False,
        label="Action taken",
        widget=forms.Textarea(attrs={"rows": 2}),
        max_length=5000,
    )


class AppointmentBookForm(CaseForm):
    purpose = forms.ChoiceField(
        choices=AppointmentPurpose.choices,
        required=False,
        initial=AppointmentPurpose.SCREENING,
        widget=forms.HiddenInput,
    )
    scheduled_at = forms.DateTimeField(
        label="Date and time",
        widget=DateTimeLocalInput,
        validators=[not_too_far_ahead],
    )
    site = forms.CharField(max_length=200, label="Where")
    modality = forms.ModelChoiceField(
        queryset=ScreeningModality.objects.none(), required=False, empty_label="Not yet known"
    )
    note = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 2}), max_length=5000
    )

    def __init__(self, *args, case: NavigationCase, **kwargs):
        super().__init__(*args, **kwargs)
        if case.program.is_control:
            # A control programme's lab draw or clinic visit: it has no screening test.
            del self.fields["modality"]
        else:
            model_choice(self, "modality").queryset = program_modalities(case)
        zone = timezone.get_current_timezone_name()
        self.fields["scheduled_at"].help_text = f"Local time ({zone})."

    def clean_purpose(self) -> str:
        return self.cleaned_data.get("purpose") or AppointmentPurpose.SCREENING


class AppointmentOutcomeForm(CaseForm):
    """What became of a booked appointment. Before it starts, it can only be
    cancelled: kept or no-show is known once its time has come."""

    status = forms.ChoiceField(
        label="Outcome",
        choices=[
            (AppointmentStatus.KEPT, AppointmentStatus.KEPT.label),
            (AppointmentStatus.NO_SHOW, AppointmentStatus.NO_SHOW.label),
            (AppointmentStatus.CANCELLED, AppointmentStatus.CANCELLED.label),
        ],
    )

    def __init__(self, *args: Any, starts_at: dt.datetime | None = None, **kwargs: Any) -> None:
        """`starts_at`: a booked appointment's start, to offer only Cancelled before it."""
        super().__init__(*args, **kwargs)
        if starts_at is not None and starts_at > timezone.now():
            field = choice(self, "status")
            field.choices = [(AppointmentStatus.CANCELLED, AppointmentStatus.CANCELLED.label)]
            field.error_messages["invalid_choice"] = (
                f"This appointment starts {timezone.localtime(starts_at):%Y-%m-%d %H:%M}: "
                "whether it was kept or missed can be known only once it has begun. "
                "Cancel it, or book it again to move it."
            )


class ScreeningForm(CaseForm):
    modality = forms.ModelChoiceField(
        queryset=ScreeningModality.objects.none(), label="Test", empty_label="Choose a test…"
    )
    performed_on = forms.DateField(label="Done on", widget=DateInput)
    result = forms.ChoiceField(
        label="Result",
        choices=[],
        help_text="In the program's categories; what comes next follows from it.",
    )
    resulted_on = forms.DateField(
        label="Reported on",
        widget=DateInput,
        required=False,
        help_text="The day the result came back; today if left empty.",
    )

    def __init__(self, *args, case: NavigationCase, **kwargs):
        today = timezone.localdate()
        kwargs.setdefault("initial", {"performed_on": today, "resulted_on": today})
        super().__init__(*args, **kwargs)
        follow_up = open_follow_up(case)
        modalities = program_modalities(case)
        if follow_up is not None:
            # Only the follow-up's test answers it (the service says so too).
            modalities = modalities.filter(pk=follow_up.next_modality_id)
            self.initial.setdefault("modality", follow_up.next_modality_id)
        else:
            modalities = modalities.filter(role=ModalityRole.SCREENING)
        model_choice(self, "modality").queryset = modalities
        # One group of categories per test: the same code (e.g. "normal") may serve several.
        active = ResultCategory.objects.filter(active=True).order_by("order", "name")
        groups: list[tuple[str, list[tuple[str, str]]]] = [
            (modality.name, [(c.code, c.name) for c in modality.active_categories])
            for modality in modalities.prefetch_related(
                Prefetch("result_categories", queryset=active, to_attr="active_categories")
            )
        ]
        choice(self, "result").choices = [("", "Choose a result…"), *groups]


class KitMailForm(CaseForm):
    modality = forms.ModelChoiceField(
        queryset=ScreeningModality.objects.none(), label="Kit", empty_label=None
    )
    mailed_on = forms.DateField(label="Mailed on", widget=DateInput)

    def __init__(self, *args, case: NavigationCase, **kwargs):
        kwargs.setdefault("initial", {"mailed_on": timezone.localdate()})
        super().__init__(*args, **kwargs)
        model_choice(self, "modality").queryset = program_modalities(case).filter(mailed_kit=True)

    @property
    def has_kits(self) -> bool:
        return model_choice(self, "modality").queryset.exists()


class TaskDoneForm(CaseForm):
    task = forms.IntegerField(widget=forms.HiddenInput)
    note = forms.CharField(
        label="What you did", required=False, max_length=300,
        help_text="Optional, e.g. “Re-booked for Dec 9”.",
    )  # fmt: skip


class InterpreterRequestForm(CaseForm):
    """Request an interpreter for a planned call or one of the case's appointments."""

    language = forms.ChoiceField(label="Language")
    modality = forms.ChoiceField(
        label="How", choices=InterpreterModality.choices, initial=InterpreterModality.PHONE
    )
    needed_at = forms.DateTimeField(
        label="When", widget=DateTimeLocalInput, validators=[not_too_far_ahead]
    )
    appointment = forms.ModelChoiceField(
        queryset=Appointment.objects.none(),
        required=False,
        label="For",
        empty_label="A planned call",
    )
    provider = forms.CharField(
        label="Vendor or interpreter", required=False, max_length=200, help_text="Optional."
    )
    note = forms.CharField(required=False, max_length=2000)

    def __init__(self, *args, case: NavigationCase, **kwargs):
        spoken = case.patient.preferred_language
        kwargs.setdefault("initial", {"language": spoken})
        super().__init__(*args, **kwargs)
        languages = common_language_choices()
        if spoken not in {code for code, _ in languages}:
            languages.insert(0, (spoken, language_name(spoken)))
        choice(self, "language").choices = languages
        model_choice(self, "appointment").queryset = Appointment.objects.filter(
            case=case, status=AppointmentStatus.BOOKED
        ).order_by("scheduled_at")
        zone = timezone.get_current_timezone_name()
        self.fields["needed_at"].help_text = f"Local time ({zone})."


class InterpreterUpdateForm(CaseForm):
    """A request's next status, one button each; who will interpret may be named with it."""

    status = forms.ChoiceField(label="Status", choices=InterpreterRequestStatus.choices)
    provider = forms.CharField(label="Vendor or interpreter", required=False, max_length=200)

    BUTTONS = {
        InterpreterRequestStatus.CONFIRMED: "Mark confirmed",
        InterpreterRequestStatus.DONE: "Mark done",
        InterpreterRequestStatus.CANCELLED: "Cancel request",
    }

    def __init__(self, *args, next_statuses: frozenset[str] = frozenset(), **kwargs):
        super().__init__(*args, **kwargs)
        # The buttons offer only the moves forward; the service refuses any other anyway.
        choice(self, "status").widget.choices = [
            (value, label) for value, label in self.BUTTONS.items() if value in next_statuses
        ]


def manual_target_choices(case: NavigationCase) -> list[tuple[str, str]]:
    """The statuses a person may move `case` to (its programme kind's table), in the
    usual order."""
    allowed = manual_targets(case)
    return [(value, label) for value, label in CaseStatus.choices if value in allowed]


class CaseTransitionForm(CaseForm):
    # Any status is accepted here so that the service, which knows the rules,
    # is the one to refuse an illegal move; the menu offers only legal ones.
    status = forms.ChoiceField(label="New status", choices=CaseStatus.choices)
    note = forms.CharField(
        label="Reason",
        required=False,
        max_length=250,
        help_text="Required to close, decline or mark ineligible.",
    )

    def __init__(self, *args, case: NavigationCase, **kwargs):
        super().__init__(*args, **kwargs)
        choice(self, "status").widget.choices = [
            ("", "Choose a status…"),
            *manual_target_choices(case),
        ]

    @property
    def has_targets(self) -> bool:
        return len(choice(self, "status").widget.choices) > 1

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        status, note = cleaned.get("status"), (cleaned.get("note") or "").strip()
        if status in CLOSING_STATUSES and not note:
            label = CaseStatus(status).label.lower()
            self.add_error("note", f"Say why the case is {label}; the reason goes on the timeline.")
        return cleaned


class FollowUpForm(CaseForm):
    next_follow_up = forms.DateField(
        label="Next follow-up",
        required=False,
        widget=DateInput,
        validators=[not_too_far_ahead],
        help_text="Leave empty to clear it.",
    )


class NoteForm(EquiNavForm):
    """A note only adds to the timeline, so it is never refused as stale (no version)."""

    text = forms.CharField(
        label="Note",
        max_length=NOTE_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"required": "Write the note first."},
    )


class CaseAssignForm(CaseForm):
    navigator = NavigatorChoiceField(
        queryset=NavigatorProfile.objects.none(), empty_label="Choose a navigator or coach…"
    )

    def __init__(self, *args, navigators: QuerySet[NavigatorProfile], **kwargs):
        super().__init__(*args, **kwargs)
        model_choice(self, "navigator").queryset = navigators


def program_modalities(case: NavigationCase) -> QuerySet[ScreeningModality]:
    return ScreeningModality.objects.filter(program_id=case.program_id, active=True)


class LetterMarkForm(EquiNavForm):
    """What became of the outreach letter: one button each. Like a note, it only adds
    to the timeline, so it is never refused as stale."""

    step = forms.ChoiceField(
        choices=[("printed", "Mark printed"), ("mailed", "Mark mailed")],
        error_messages={"required": "Say whether the letter was printed or mailed."},
    )
