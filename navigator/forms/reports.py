"""The completion report's period and program."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone

from navigator.forms.base import DateInput, EquiNavForm
from patients.models import ScreeningProgram

# Far-off dates are typos, and past year 9999 the database cannot store them.
REPORT_EARLIEST = dt.date(2000, 1, 1)


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
