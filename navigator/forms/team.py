"""Rebalancing a navigator's cases, and a colleague covering a caseload."""

from __future__ import annotations

from django import forms
from django.db.models import QuerySet

from navigator.forms.base import DateInput, EquiNavForm, NavigatorChoiceField, model_choice
from navigator.models import NavigatorProfile


class RebalanceForm(EquiNavForm):
    from_navigator = NavigatorChoiceField(
        label="Move cases from",
        queryset=NavigatorProfile.objects.none(),
        empty_label="Choose a navigator or coach…",
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
        label="Who is away", queryset=NavigatorProfile.objects.none(), empty_label=None
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
