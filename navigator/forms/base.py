"""What most EquiNav forms build on (the navigator pages', and patients' and
outreach's too): `EquiNavForm`, which shows a service's ValidationError on its own
fields; `CaseForm`, which carries the case version a form was drawn from; the date
widgets, `PlainSelect` (a menu written without the template engine) and
`NavigatorChoiceField` (a navigator menu)."""

from __future__ import annotations

import datetime as dt
from typing import cast

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.template import Context
from django.template.base import render_value_in_context
from django.template.defaultfilters import stringformat
from django.utils import timezone
from django.utils.safestring import SafeData, SafeString, mark_safe

from navigator.cases import MAX_DAYS_AHEAD
from navigator.models import NavigatorProfile, Role

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


# Django's own templates for a menu, which PlainSelect writes out in Python.
_SELECT = "django/forms/widgets/select.html"
_OPTION = "django/forms/widgets/select_option.html"
_AUTOESCAPE = Context(autoescape=True)


def _shown(value: object) -> str:
    # `{{ value }}` in a template: localised, escaped unless already safe.
    return str(render_value_in_context(value, _AUTOESCAPE))


def _as_text(value: object) -> str:
    # `{{ value|stringformat:'s' }}`: stringformat keeps a safe value safe.
    text = stringformat(value, "s")
    return _shown(mark_safe(text) if isinstance(value, SafeData) else text)  # noqa: S308 - safe already


def _attrs(attrs: dict[str, object]) -> str:
    # django/forms/widgets/attrs.html
    return "".join(
        f" {_shown(name)}" + ("" if value is True else f'="{_as_text(value)}"')
        for name, value in attrs.items()
        if value is not False
    )


class PlainSelect(forms.Select):
    """A menu with the very HTML of Django's select.html, select_option.html and
    attrs.html, written here rather than through the template engine, which includes
    a template per option (and attrs.html in each): the worklist's filter menus
    (about a hundred options) cost more than its fifty rows' cells. A subclass that
    names other templates is drawn by them."""

    def render(self, name, value, attrs=None, renderer=None) -> SafeString:
        if self.template_name != _SELECT or self.option_template_name != _OPTION:
            return super().render(name, value, attrs, renderer)
        cls = type(self)
        if (
            self.allow_multiple_selected
            or self.option_inherits_attrs
            or self.checked_attribute != {"selected": True}
            or cls.optgroups is not forms.Select.optgroups
            or cls.create_option is not forms.Select.create_option
        ):
            return super().render(name, value, attrs, renderer)
        # The select's own context without its options (Widget.get_context, as
        # ChoiceWidget's calls it first); the options are walked here as
        # ChoiceWidget.optgroups walks them, without a dict per option (create_option):
        # a Select's option has no attributes but `selected`, on the first match only.
        widget = forms.Widget.get_context(self, name, value, attrs)["widget"]
        chosen = widget["value"]
        html = [f'<select name="{_shown(widget["name"])}"{_attrs(widget["attrs"])}>']
        has_selected = False
        for option_value, option_label in self.choices:
            if isinstance(option_label, (list, tuple)):
                group_name, options = option_value, option_label
            else:
                group_name = None
                options = [("" if option_value is None else option_value, option_label)]
            if group_name:
                html.append(f'\n  <optgroup label="{_shown(group_name)}">')
            for subvalue, sublabel in options:
                selected = not has_selected and str(subvalue) in chosen
                has_selected |= selected
                html.append(
                    f'\n  <option value="{_as_text(subvalue)}"{" selected" if selected else ""}>'
                    f"{_shown(sublabel)}</option>\n"
                )
            if group_name:
                html.append("\n  </optgroup>")
        html.append("\n</select>")  # the renderer strips what follows
        return mark_safe("".join(html))  # noqa: S308 - every value above is escaped


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
    """A caseload to choose: a navigator's, or a coach's (said so: a manager assigning a
    diabetes case looks for one)."""

    def label_from_instance(self, obj: NavigatorProfile) -> str:
        languages = ", ".join(obj.language_names) or "no languages listed"
        if obj.user.role == Role.COACH:
            return f"{obj} ({obj.user.get_role_display()}; {languages})"
        return f"{obj} ({languages})"
