"""The filters of the two case lists: the navigator's worklist (filters, search
and order, for the page and the API alike) and the manager's case list."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import QuerySet

from navigator.forms.base import (
    EquiNavForm,
    NavigatorChoiceField,
    PlainSelect,
    choice,
    model_choice,
)
from navigator.models import OPEN_STATUSES, BarrierType, CaseStatus, NavigatorProfile
from navigator.worklist.filters import Filters, Search, parse_search
from navigator.worklist.query import DEFAULT_SORT, SORT_CHOICES, SORTS
from patients.languages import COMMON_LANGUAGE_CODES, is_language_code, language_name
from patients.models import Clinic, ScreeningProgram


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


class CaseFilterForm(EquiNavForm):
    """The manager's case list: filters in the address (status, program, navigator,
    language, clinic), and a search (name, MRN, phone, birth date) that only a POST body
    carries, so that no name, MRN, phone or birth date lands in a logged URL."""

    q = forms.CharField(
        label="Search",
        required=False,
        max_length=100,
        help_text="Name, MRN, phone number or date of birth (YYYY-MM-DD or MM/DD/YYYY).",
        widget=forms.TextInput(attrs={"type": "search", "autocomplete": "off"}),
    )
    status = forms.ChoiceField(required=False, choices=[("", "Any status"), *CaseStatus.choices])
    program = forms.ModelChoiceField(
        queryset=ScreeningProgram.objects.all(), required=False, empty_label="Any program"
    )
    navigator = NavigatorChoiceField(
        queryset=NavigatorProfile.objects.none(),
        required=False,
        empty_label="Any navigator or coach",
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
        required=False,
        empty_label="Any clinic",
        error_messages={"invalid_choice": "That is not a clinic."},
    )
    unreachable_proposed = forms.BooleanField(
        required=False, label="Proposed for closing as unreachable (awaiting a decision)"
    )

    def __init__(
        self, *args, navigators: QuerySet[NavigatorProfile], searching: bool = False, **kwargs
    ):
        super().__init__(*args, **kwargs)
        model_choice(self, "navigator").queryset = navigators
        self.searching = searching

    def clean_q(self) -> Search | None:
        text = self.cleaned_data.get("q") or ""
        if text.strip() and not self.searching:
            raise ValidationError(
                "Search with the form: a search in the address would be kept in logs."
            )
        return parse_search(text)

    def filters(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        data["search"] = data.pop("q")
        return data


class WorklistFilterForm(EquiNavForm):
    """The worklist's search, filters and order, for the page and the API alike.
    Each bad value is refused with what is wrong, never ignored."""

    q = forms.CharField(
        label="Search",
        required=False,
        max_length=100,
        help_text="Name, MRN, phone or date of birth (YYYY-MM-DD or MM/DD/YYYY).",
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
        widget=PlainSelect,
        queryset=ScreeningProgram.objects.order_by("name"),
        to_field_name="code",
        required=False,
        empty_label="Any program",
        error_messages={"invalid_choice": "“%(value)s” is not a screening program."},
    )
    status = forms.ChoiceField(
        widget=PlainSelect,
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
        widget=PlainSelect,
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
        widget=PlainSelect,
        queryset=Clinic.objects.order_by("name"),
        to_field_name="code",
        required=False,
        empty_label="Any clinic",
        error_messages={"invalid_choice": "“%(value)s” is not a clinic."},
    )
    barrier = forms.ModelChoiceField(
        widget=PlainSelect,
        queryset=BarrierType.objects.order_by("name"),
        to_field_name="code",
        required=False,
        label="Open barrier",
        empty_label="Any or none",
        error_messages={"invalid_choice": "“%(value)s” is not a barrier type."},
    )
    overdue = StrictBooleanField(required=False, label="Overdue follow-ups only")
    sort = forms.ChoiceField(
        widget=PlainSelect,
        required=False,
        label="Sort by",
        choices=SORT_CHOICES,
        error_messages={
            "invalid_choice": "“%(value)s” is not a sort order; use one of: "
            + ", ".join(SORTS)
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

    def __init__(self, *args, search_url: str = "", refuse_search: str = "", **kwargs):
        """`refuse_search`: the error for a search sent where it would be logged (in a
        GET's query string); the page and the API's search post it instead."""
        super().__init__(*args, **kwargs)
        self.refuse_search = refuse_search
        if search_url:
            # The page narrows the list as the navigator types: htmx posts the form
            # (what is typed stays out of URLs) and swaps the rows only, so that the
            # box keeps every key pressed meanwhile.
            self.fields["q"].widget.attrs.update(
                {
                    "hx-post": search_url,
                    "hx-trigger": "input changed delay:300ms, search",
                    "hx-include": "closest form",
                    "hx-target": "#worklist-results",
                    "hx-select": "#worklist-results",
                    "hx-swap": "outerHTML",
                    "hx-sync": "this:replace",
                    "hx-push-url": "false",
                }
            )
        # A language outside the menu, asked for by URL, still shows as chosen.
        code = str(self.data.get("language") or "").strip().lower()
        field = choice(self, "language")
        if code and is_language_code(code) and code not in dict(field.choices):
            field.choices = [*field.choices, (code, language_name(code))]

    def clean_q(self) -> Search | None:
        text = self.cleaned_data.get("q") or ""
        if text.strip() and self.refuse_search:
            raise ValidationError(self.refuse_search)
        return parse_search(text)

    def clean_sort(self) -> str:
        return self.cleaned_data.get("sort") or DEFAULT_SORT

    def filters(self) -> Filters:
        data = self.cleaned_data
        return Filters(
            program=data["program"],
            status=data["status"],
            language=data["language"],
            clinic=data["clinic"],
            barrier_type=data["barrier"],
            overdue_only=data["overdue"],
            search=data["q"],
            sort=data["sort"],
        )
