"""The compliance search's forms: filters by ids and dates (safe in a URL), and a
patient looked up by clinic and MRN (posted, so the MRN never reaches a URL)."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone

from navigator.audit.models import AccessAction
from navigator.forms.base import DateInput, EquiNavForm
from navigator.models import User
from patients.models import Clinic


def not_in_the_future(day: dt.date) -> None:
    if day > timezone.localdate():
        raise ValidationError("The trail holds nothing after today; pick today or earlier.")


class AuditSearchForm(EquiNavForm):
    patient = forms.IntegerField(
        label="Patient number", required=False, min_value=1, max_value=2**63 - 1,
        help_text="Who looked at this patient. Find the number by MRN below.",
    )  # fmt: skip
    user = forms.ModelChoiceField(
        label="User", required=False, queryset=User.objects.order_by("username"),
        help_text="What this user looked at.",
    )  # fmt: skip
    action = forms.ChoiceField(required=False, choices=[("", "Any action"), *AccessAction.choices])
    since = forms.DateField(
        label="From", required=False, widget=DateInput, validators=[not_in_the_future]
    )
    until = forms.DateField(
        label="To (inclusive)", required=False, widget=DateInput, validators=[not_in_the_future]
    )

    def clean(self) -> dict:
        data = super().clean() or {}
        since, until = data.get("since"), data.get("until")
        if since and until and until < since:
            self.add_error("until", "The end date is before the start date.")
        return data

    def filters(self) -> dict:
        data = self.cleaned_data
        user = data.get("user")
        return {
            "patient_id": data.get("patient"),
            "user_id": user.pk if user else None,
            "action": data.get("action") or "",
            "since": _start_of(data.get("since")),
            "until": _start_of(data["until"] + dt.timedelta(days=1)) if data.get("until") else None,
        }


def _start_of(day: dt.date | None) -> dt.datetime | None:
    if day is None:
        return None
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


class PatientLookupForm(EquiNavForm):
    clinic = forms.ModelChoiceField(queryset=Clinic.objects.order_by("name"))
    mrn = forms.CharField(label="MRN", max_length=64)
