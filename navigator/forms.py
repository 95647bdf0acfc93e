"""Forms for the navigator pages. They check input; the services decide.

Each form's field names are the keys its service uses in a ValidationError, so
a refusal from the service lands next to the field it is about
(`EquiNavForm.add_service_error`).
"""

from __future__ import annotations

import datetime as dt
from typing import Any, cast

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db.models import QuerySet
from django.utils import timezone

from navigator import worklist
from navigator.cases import ALLOWED_TRANSITIONS, MANUAL_TARGETS, MAX_DAYS_AHEAD
from navigator.models import (
    OPEN_STATUSES,
    AppointmentPurpose,
    AppointmentStatus,
    BarrierStatus,
    BarrierType,
    CaseStatus,
    NavigationCase,
    NavigatorProfile,
)
from navigator.services import NOTE_MAX_LENGTH
from outreach.models import Channel, Direction, Outcome, Purpose
from patients.languages import COMMON_LANGUAGE_CODES, is_language_code, language_name
from patients.models import (
    RECORDABLE_RESULTS,
    Clinic,
    PatientPhone,
    ScreeningModality,
    ScreeningProgram,
)

# Far-off dates are typos, and past year 9999 the database cannot store them.
REPORT_EARLIEST = dt.date(2000, 1, 1)


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs=attrs, format="%Y-%m-%d")


class DateTimeLocalInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, attrs=None):
        super().__init__(attrs=attrs, format="%Y-%m-%dT%H:%M")


def not_too_far_ahead(value: dt.date | dt.datetime | None) -> None:
    if value is None:
        return
    day = timezone.localtime(value).date() if isinstance(value, dt.datetime) else value
    if day > timezone.localdate() + dt.timedelta(days=MAX_DAYS_AHEAD):
        raise ValidationError("This date is more than two years ahead; check it.", code="too_far")


def model_choice(form: forms.Form, name: str) -> forms.ModelChoiceField:
    return cast(forms.ModelChoiceField, form.fields[name])


def choice(form: forms.Form, name: str) -> forms.ChoiceField:
    return cast(forms.ChoiceField, form.fields[name])


class EquiNavForm(forms.Form):
    """A form that can show a service's ValidationError on its own fields."""

    required_css_class = "required"
    error_css_class = "has-error"

    # Service error keys that are not field names here, mapped to the field they concern.
    service_error_fields: dict[str, str] = {}

    def __init__(self, *args, id_prefix: str = "", **kwargs):
        if id_prefix:
            # Several forms share a page: unique ids keep every <label for> right,
            # while the posted field names stay plain.
            kwargs.setdefault("auto_id", f"{id_prefix}_%s")
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)

    def service_error_field(self, key: str, message: str) -> str | None:
        key = self.service_error_fields.get(key, key)
        if key in self.fields:
            return key
        return None

    def add_service_error(self, error: ValidationError) -> None:
        """Attach a service's refusal: keyed errors to their fields, the rest to the form."""
        if not hasattr(error, "error_dict"):
            self.add_error(None, error)
            return
        for key, errors in error.error_dict.items():
            for item in errors:
                for message in item.messages:
                    field = None
                    if key != NON_FIELD_ERRORS:
                        field = self.service_error_field(key, message)
                    self.add_error(field, ValidationError(message, code=item.code))


# --- Case actions -----------------------------------------------------------------------

# Moves that end the case: the navigator must say why.
CLOSING_STATUSES = frozenset(
    {CaseStatus.CLOSED, CaseStatus.CLOSED_UNREACHABLE, CaseStatus.DECLINED, CaseStatus.INELIGIBLE}
)


class CaseForm(EquiNavForm):
    """A form on the case page. It carries the case version it was drawn from, so
    that the service can refuse it if someone changed the case meanwhile."""

    version = forms.IntegerField(
        required=False,
        min_value=1,
        widget=forms.HiddenInput,
        error_messages={
            "invalid": "This form lost track of the case; reload the case and try again.",
            "min_value": "This form lost track of the case; reload the case and try again.",
        },
    )

    def service_error_field(self, key: str, message: str) -> str | None:
        # A stale form is about the whole form: shown at its top, not on a hidden field.
        if key == "version":
            return None
        return super().service_error_field(key, message)


class PhoneChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: PatientPhone) -> str:
        label = f"{obj.number.as_national} ({obj.get_kind_display().lower()})"
        return label + (" — marked wrong or disconnected" if obj.is_bad else "")


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

    def detail_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in self.fields if name not in {"outcome", "version"}]

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
        model_choice(self, "modality").queryset = program_modalities(case)
        zone = timezone.get_current_timezone_name()
        self.fields["scheduled_at"].help_text = f"Local time ({zone})."

    def clean_purpose(self) -> str:
        return self.cleaned_data.get("purpose") or AppointmentPurpose.SCREENING


class AppointmentOutcomeForm(CaseForm):
    status = forms.ChoiceField(
        label="Outcome",
        choices=[
            (AppointmentStatus.KEPT, AppointmentStatus.KEPT.label),
            (AppointmentStatus.NO_SHOW, AppointmentStatus.NO_SHOW.label),
            (AppointmentStatus.CANCELLED, AppointmentStatus.CANCELLED.label),
        ],
    )


class ScreeningForm(CaseForm):
    modality = forms.ModelChoiceField(
        queryset=ScreeningModality.objects.none(), label="Test", empty_label="Choose a test…"
    )
    performed_on = forms.DateField(label="Done on", widget=DateInput)
    result = forms.ChoiceField(choices=[("", "Choose a result…"), *RECORDABLE_RESULTS])

    def __init__(self, *args, case: NavigationCase, **kwargs):
        kwargs.setdefault("initial", {"performed_on": timezone.localdate()})
        super().__init__(*args, **kwargs)
        model_choice(self, "modality").queryset = program_modalities(case)


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


def manual_targets(status: str) -> list[tuple[str, str]]:
    """The statuses a person may move a case to from `status`, in the usual order."""
    allowed = ALLOWED_TRANSITIONS.get(status, frozenset()) & MANUAL_TARGETS
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
            *manual_targets(case.status),
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


class NoteForm(CaseForm):
    text = forms.CharField(
        label="Note",
        max_length=NOTE_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"required": "Write the note first."},
    )


class NavigatorChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: NavigatorProfile) -> str:
        languages = ", ".join(obj.language_names) or "no languages listed"
        return f"{obj} ({languages})"


class CaseAssignForm(CaseForm):
    navigator = NavigatorChoiceField(
        queryset=NavigatorProfile.objects.none(), empty_label="Choose a navigator…"
    )

    def __init__(self, *args, navigators: QuerySet[NavigatorProfile], **kwargs):
        super().__init__(*args, **kwargs)
        model_choice(self, "navigator").queryset = navigators


def program_modalities(case: NavigationCase) -> QuerySet[ScreeningModality]:
    return ScreeningModality.objects.filter(program_id=case.program_id, active=True)


# --- Lists and reports ------------------------------------------------------------------


class CaseFilterForm(EquiNavForm):
    status = forms.ChoiceField(required=False, choices=[("", "Any status"), *CaseStatus.choices])
    program = forms.ModelChoiceField(
        queryset=ScreeningProgram.objects.all(), required=False, empty_label="Any program"
    )
    navigator = NavigatorChoiceField(
        queryset=NavigatorProfile.objects.none(), required=False, empty_label="Any navigator"
    )
    unreachable_proposed = forms.BooleanField(
        required=False, label="Proposed for closing as unreachable (awaiting a decision)"
    )

    def __init__(self, *args, navigators: QuerySet[NavigatorProfile], **kwargs):
        super().__init__(*args, **kwargs)
        model_choice(self, "navigator").queryset = navigators


class CompletionReportForm(EquiNavForm):
    start = forms.DateField(label="Opened from", required=False, widget=DateInput)
    end = forms.DateField(label="Opened to", required=False, widget=DateInput)
    program = forms.ModelChoiceField(
        queryset=ScreeningProgram.objects.all(), required=False, empty_label="All programs"
    )

    def __init__(self, data=None, *args, **kwargs):
        today = timezone.localdate()
        self.default_start = today - dt.timedelta(days=365)
        self.default_end = today
        data = data.copy() if data is not None else {}
        # An empty or absent date means the default period, shown filled in.
        if not data.get("start"):
            data["start"] = self.default_start.isoformat()
        if not data.get("end"):
            data["end"] = self.default_end.isoformat()
        super().__init__(data, *args, **kwargs)

    def clean_start(self):
        start = self.cleaned_data.get("start") or self.default_start
        if start < REPORT_EARLIEST:
            raise ValidationError(f"Choose a date from {REPORT_EARLIEST:%Y-%m-%d} on.")
        return start

    def clean_end(self):
        end = self.cleaned_data.get("end") or self.default_end
        if end > self.default_end + dt.timedelta(days=366):
            raise ValidationError("Choose an end date no more than a year ahead.")
        return end

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        start, end = cleaned.get("start"), cleaned.get("end")
        if start and end and start > end:
            self.add_error("end", "The end date is before the start date.")
        return cleaned


# --- Worklist ---------------------------------------------------------------------------


class StrictCheckboxInput(forms.CheckboxInput):
    """A checkbox whose submitted value reaches its field as typed, so that
    `?overdue=maybe` is refused rather than read as ticked."""

    def __init__(self, attrs=None):
        super().__init__(attrs=attrs, check_test=StrictBooleanField.is_true)

    def value_from_datadict(self, data, files, name):
        return data.get(name)


class StrictBooleanField(forms.Field):
    widget = StrictCheckboxInput
    TRUE = frozenset({"1", "true", "on", "yes"})
    FALSE = frozenset({"", "0", "false", "off", "no"})
    default_error_messages = {"invalid": "“%(value)s” is neither yes nor no: use 1 or 0."}

    @classmethod
    def is_true(cls, value: Any) -> bool:
        return value is True or str(value).strip().lower() in cls.TRUE

    def to_python(self, value: Any) -> bool:
        if value is None or isinstance(value, bool):
            return bool(value)
        text = str(value).strip().lower()
        if text in self.TRUE:
            return True
        if text in self.FALSE:
            return False
        raise ValidationError(
            self.error_messages["invalid"], code="invalid", params={"value": value}
        )


class LanguageFilterField(forms.ChoiceField):
    """The common languages in the menu; any ISO 639 code through the URL or API."""

    def valid_value(self, value: str) -> bool:
        return is_language_code(value)

    def to_python(self, value: Any) -> str:
        return super().to_python(value).strip().lower()


class WorklistFilterForm(EquiNavForm):
    """The worklist's search, filters and order, for the page and the API alike.
    Each bad value is refused with what is wrong, never ignored."""

    q = forms.CharField(
        label="Search",
        required=False,
        max_length=100,
        help_text="Name, MRN, phone number or date of birth (YYYY-MM-DD or MM/DD/YYYY).",
        widget=forms.TextInput(
            attrs={
                "type": "search",
                "autocomplete": "off",
                "spellcheck": "false",
                "aria-keyshortcuts": "/",
                "data-worklist-search": "",
            }
        ),
    )
    program = forms.ModelChoiceField(
        queryset=ScreeningProgram.objects.order_by("name"),
        to_field_name="code",
        required=False,
        empty_label="Any program",
        error_messages={"invalid_choice": "“%(value)s” is not a screening program."},
    )
    status = forms.ChoiceField(
        required=False,
        choices=[
            ("", "Any open status"),
            *[(value, label) for value, label in CaseStatus.choices if value in OPEN_STATUSES],
        ],
        error_messages={
            "invalid_choice": "“%(value)s” is not an open case status: the worklist has "
            "open cases only."
        },
    )
    language = LanguageFilterField(
        required=False,
        choices=[
            ("", "Any language"),
            *[(code, language_name(code)) for code in COMMON_LANGUAGE_CODES],
        ],
        error_messages={
            "invalid_choice": "“%(value)s” is not an ISO 639 language code (e.g. en, es, ht)."
        },
    )
    clinic = forms.ModelChoiceField(
        queryset=Clinic.objects.order_by("name"),
        to_field_name="code",
        required=False,
        empty_label="Any clinic",
        error_messages={"invalid_choice": "“%(value)s” is not a clinic."},
    )
    barrier = forms.ModelChoiceField(
        queryset=BarrierType.objects.order_by("name"),
        to_field_name="code",
        required=False,
        label="Open barrier",
        empty_label="Any or none",
        error_messages={"invalid_choice": "“%(value)s” is not a barrier type."},
    )
    overdue = StrictBooleanField(required=False, label="Overdue follow-ups only")
    sort = forms.ChoiceField(
        required=False,
        label="Sort by",
        choices=worklist.SORT_CHOICES,
        error_messages={
            "invalid_choice": "“%(value)s” is not a sort order; use one of: "
            + ", ".join(worklist.SORTS)
            + "."
        },
    )
    # Whose worklist (managers, and navigators covering a colleague); the view
    # checks the user may open it.
    navigator = forms.IntegerField(
        required=False,
        min_value=1,
        widget=forms.HiddenInput,
        error_messages={
            "invalid": "“navigator” is a navigator's number.",
            "min_value": "“navigator” is a navigator's number.",
        },
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # A language outside the menu, asked for by URL, still shows as chosen.
        code = str(self.data.get("language") or "").strip().lower()
        field = choice(self, "language")
        if code and is_language_code(code) and code not in dict(field.choices):
            field.choices = [*field.choices, (code, language_name(code))]

    def clean_q(self) -> worklist.Search | None:
        return worklist.parse_search(self.cleaned_data.get("q") or "")

    def clean_sort(self) -> str:
        return self.cleaned_data.get("sort") or worklist.DEFAULT_SORT

    def filters(self) -> worklist.Filters:
        data = self.cleaned_data
        return worklist.Filters(
            program=data["program"],
            status=data["status"],
            language=data["language"],
            clinic=data["clinic"],
            barrier_type=data["barrier"],
            overdue_only=data["overdue"],
            search=data["q"],
            sort=data["sort"],
        )


# --- Team: rebalancing and covering -------------------------------------------------------


class RebalanceForm(EquiNavForm):
    from_navigator = NavigatorChoiceField(
        label="Move cases from",
        queryset=NavigatorProfile.objects.none(),
        empty_label="Choose a navigator…",
    )
    count = forms.IntegerField(
        label="Cases to move",
        required=False,
        min_value=1,
        help_text="Empty moves every open case.",
    )
    to_navigators = forms.ModelMultipleChoiceField(
        label="Move to",
        queryset=NavigatorProfile.objects.none(),
        required=False,
        help_text="None chosen: every other active navigator, by the assignment rules.",
        widget=forms.CheckboxSelectMultiple,
    )
    deactivate = forms.BooleanField(
        label="Leaving: move every case and make the navigator inactive", required=False
    )

    def __init__(self, *args, navigators: QuerySet[NavigatorProfile], **kwargs):
        super().__init__(*args, **kwargs)
        model_choice(self, "from_navigator").queryset = navigators
        model_choice(self, "to_navigators").queryset = navigators


class CoverageForm(EquiNavForm):
    absent = NavigatorChoiceField(
        label="Navigator away", queryset=NavigatorProfile.objects.none(), empty_label=None
    )
    covering = NavigatorChoiceField(
        label="Covered by",
        queryset=NavigatorProfile.objects.none(),
        empty_label="Choose a colleague…",
    )
    starts_on = forms.DateField(label="First day away", widget=DateInput)
    ends_on = forms.DateField(label="Last day away", widget=DateInput)
    note = forms.CharField(label="Note for the colleague", required=False, max_length=200)

    def __init__(
        self,
        *args,
        absent_choices: QuerySet[NavigatorProfile],
        colleagues: QuerySet[NavigatorProfile],
        **kwargs,
    ):
        super().__init__(*args, **kwargs)
        model_choice(self, "absent").queryset = absent_choices
        model_choice(self, "covering").queryset = colleagues
