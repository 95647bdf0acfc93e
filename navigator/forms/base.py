"""What most EquiNav forms build on (the navigator pages', and patients' and
outreach's too): `EquiNavForm`, which shows a service's ValidationError on its own
fields; `CaseForm`, which carries the case version a form was drawn from; the date
widgets and `NavigatorChoiceField` (a navigator menu)."""

from __future__ import annotations

import datetime as dt
from typing import cast

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.utils import timezone

from navigator.cases import MAX_DAYS_AHEAD
from navigator.models import NavigatorProfile

# A report's earliest date: far-off dates are typos, and before this no case exists.
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


class NavigatorChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: NavigatorProfile) -> str:
        languages = ", ".join(obj.language_names) or "no languages listed"
        return f"{obj} ({languages})"
