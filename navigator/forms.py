"""Forms for the navigator pages. They check input; the services decide.

Each form's field names are the keys its service uses in a ValidationError, so
a refusal from the service lands next to the field it is about
(`EquiNavForm.add_service_error`).
"""

from __future__ import annotations

import datetime as dt
from typing import Any, cast

from django import forms
from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db.models import QuerySet
from django.utils import timezone

from navigator.models import (
    AppointmentStatus,
    BarrierStatus,
    BarrierType,
    CaseStatus,
    NavigationCase,
    NavigatorProfile,
)
from navigator.services import ALLOWED_TRANSITIONS, MANUAL_TARGETS, MAX_DAYS_AHEAD
from outreach.models import Channel, Direction, Outcome
from patients.models import RECORDABLE_RESULTS, ScreeningModality, ScreeningProgram

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


class AttemptForm(EquiNavForm):
    channel = forms.ChoiceField(choices=Channel.choices, initial=Channel.PHONE)
    direction = forms.ChoiceField(choices=Direction.choices, initial=Direction.OUTBOUND)
    outcome = forms.ChoiceField(choices=[("", "Choose an outcome…"), *Outcome.choices])
    interpreter_used = forms.BooleanField(required=False, label="Interpreter used")
    note = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 2}), max_length=5000
    )
    next_follow_up = forms.DateField(
        label="Next follow-up",
        required=False,
        widget=DateInput,
        validators=[not_too_far_ahead],
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["next_follow_up"].help_text = (
            "Leave empty for the default: "
            f"{settings.EQUINAV_FOLLOW_UP_DAYS_REACHED} days if reached, "
            f"else {settings.EQUINAV_FOLLOW_UP_DAYS_NOT_REACHED}."
        )


class BarrierAddForm(EquiNavForm):
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


class BarrierUpdateForm(EquiNavForm):
    status = forms.ChoiceField(choices=BarrierStatus.choices)
    action = forms.CharField(
        required=False,
        label="Action taken",
        widget=forms.Textarea(attrs={"rows": 2}),
        max_length=5000,
    )


class AppointmentBookForm(EquiNavForm):
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


class AppointmentOutcomeForm(EquiNavForm):
    status = forms.ChoiceField(
        label="Outcome",
        choices=[
            (AppointmentStatus.KEPT, AppointmentStatus.KEPT.label),
            (AppointmentStatus.NO_SHOW, AppointmentStatus.NO_SHOW.label),
            (AppointmentStatus.CANCELLED, AppointmentStatus.CANCELLED.label),
        ],
    )


class ScreeningForm(EquiNavForm):
    modality = forms.ModelChoiceField(
        queryset=ScreeningModality.objects.none(), label="Test", empty_label="Choose a test…"
    )
    performed_on = forms.DateField(label="Done on", widget=DateInput)
    result = forms.ChoiceField(choices=[("", "Choose a result…"), *RECORDABLE_RESULTS])

    def __init__(self, *args, case: NavigationCase, **kwargs):
        kwargs.setdefault("initial", {"performed_on": timezone.localdate()})
        super().__init__(*args, **kwargs)
        model_choice(self, "modality").queryset = program_modalities(case)


def manual_targets(status: str) -> list[tuple[str, str]]:
    """The statuses a person may move a case to from `status`, in the usual order."""
    allowed = ALLOWED_TRANSITIONS.get(status, frozenset()) & MANUAL_TARGETS
    return [(value, label) for value, label in CaseStatus.choices if value in allowed]


class CaseTransitionForm(EquiNavForm):
    # Any status is accepted here so that the service, which knows the rules,
    # is the one to refuse an illegal move; the menu offers only legal ones.
    status = forms.ChoiceField(label="New status", choices=CaseStatus.choices)
    note = forms.CharField(required=False, max_length=250, help_text="Optional: why.")

    def __init__(self, *args, case: NavigationCase, **kwargs):
        super().__init__(*args, **kwargs)
        choice(self, "status").widget.choices = [
            ("", "Choose a status…"),
            *manual_targets(case.status),
        ]

    @property
    def has_targets(self) -> bool:
        return len(choice(self, "status").widget.choices) > 1


class FollowUpForm(EquiNavForm):
    next_follow_up = forms.DateField(
        label="Next follow-up",
        required=False,
        widget=DateInput,
        validators=[not_too_far_ahead],
        help_text="Leave empty to clear it.",
    )


class NavigatorChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: NavigatorProfile) -> str:
        languages = ", ".join(obj.language_names) or "no languages listed"
        return f"{obj} ({languages})"


class CaseAssignForm(EquiNavForm):
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
