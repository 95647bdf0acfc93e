"""The disparities dashboard's form: what to show, as menus. It only presents the
choices; the parameters are checked by `EquityQuery.from_params`, the same checks as
the API's, and its errors are shown on these fields."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from django import forms

from navigator.equity.catalog import MEASURES
from navigator.equity.query import RACE_RULES
from navigator.equity.scope import EquityScope
from navigator.forms.base import DateInput, EquiNavForm
from patients.caregaps.periods import Period
from patients.models import ScreeningProgram

DIMENSION_LABELS = {
    "race": "Race and ethnicity",
    "language": "Preferred language",
    "lep": "English proficiency",
    "interpreter": "Interpreter need",
    "sex": "Sex",
    "age": "Age band",
    "insurance": "Insurance",
    "clinic": "Clinic",
    "navigator": "Navigator",
    "navigated": "Navigated or not",
}


def _measure_choices() -> list[tuple[str, list[tuple[str, str]]]]:
    groups: dict[str, list[tuple[str, str]]] = {
        "Screening rate of the population": [],
        "Navigation cases": [],
    }
    for measure in MEASURES.values():
        family = (
            "Navigation cases"
            if measure.kind == "navigation"
            else ("Screening rate of the population")
        )
        groups[family].append((measure.key, measure.label))
    return list(groups.items())


def period_value(period: Period) -> str:
    return f"{period.start.isoformat()}/{period.end.isoformat()}"


class EquityForm(EquiNavForm):
    # Nothing chosen is the default view (CMS130 by race), never an error.
    measure = forms.ChoiceField(label="Measure", choices=_measure_choices, required=False)
    program = forms.ModelChoiceField(
        label="Programme",
        queryset=ScreeningProgram.objects.filter(active=True).order_by("name"),
        to_field_name="code",
        required=False,
        empty_label="(the measure's own)",
        help_text="For navigation measures; a screening measure has its own programme.",
    )
    period = forms.ChoiceField(label="Period", required=False)
    period_start = forms.DateField(label="Or from", required=False, widget=DateInput)
    period_end = forms.DateField(label="to", required=False, widget=DateInput)
    stratify = forms.ChoiceField(label="By", required=False)
    within = forms.ChoiceField(label="Within (optional)", required=False)
    reference = forms.ChoiceField(label="Compared with", required=False)
    race_rule = forms.ChoiceField(
        label="Patients who chose several races",
        choices=list(RACE_RULES.items()),
        required=False,
    )
    quarters = forms.BooleanField(label="Show the quarterly trend", required=False)
    age_adjust = forms.BooleanField(
        label="Age-adjust the rates (2000 US standard population)", required=False
    )

    service_error_fields = {"race_rule": "race_rule"}

    def __init__(
        self,
        data: Mapping[str, str] | None,
        *,
        scope: EquityScope,
        periods: Sequence[Period] = (),
        groups: Sequence[tuple[str, str]] = (),
        **kwargs,
    ):
        super().__init__(data, **kwargs)
        dimensions = [(k, v) for k, v in DIMENSION_LABELS.items() if scope.allows(k)]
        self.fields["stratify"].choices = dimensions  # type: ignore[attr-defined]
        self.fields["within"].choices = [("", "(nothing)"), *dimensions]  # type: ignore[attr-defined]
        self.fields["period"].choices = [  # type: ignore[attr-defined]
            ("", "The latest"),
            *((period_value(p), p.label) for p in periods),
        ]
        self.fields["reference"].choices = [  # type: ignore[attr-defined]
            ("", "The usual group (White, English-proficient, commercial, or the largest)"),
            *groups,
        ]

    def params(self) -> dict[str, str]:
        """The query-string parameters `EquityQuery.from_params` reads, from the form's
        own names (a period picked from the menu, a second dimension)."""
        data = self.data
        params = {
            key: str(data.get(key, ""))
            for key in (
                "measure",
                "program",
                "reference",
                "race_rule",
                "period_start",
                "period_end",
            )
        }
        if data.get("period") and not (data.get("period_start") or data.get("period_end")):
            start, _, end = str(data["period"]).partition("/")
            params["period_start"], params["period_end"] = start, end
        stratify = [str(data.get("stratify") or "race")]
        if data.get("within") and data.get("within") != stratify[0]:
            stratify.append(str(data["within"]))
        params["stratify"] = ",".join(stratify)
        params["quarters"] = "1" if data.get("quarters") else ""
        params["age_adjust"] = "1" if data.get("age_adjust") else ""
        return params


class NavigationForm(EquiNavForm):
    """The navigation page's menus: one programme (never mixed), the period of
    opening, one dimension, and the population measure that says who was overdue.
    `NavigationQuery.from_params` checks the values; its errors show on these fields."""

    program = forms.ModelChoiceField(
        label="Programme",
        queryset=ScreeningProgram.objects.filter(active=True).order_by("name"),
        to_field_name="code",
        empty_label=None,
    )
    period_start = forms.DateField(label="Cases opened from", widget=DateInput)
    period_end = forms.DateField(label="to", widget=DateInput)
    stratify = forms.ChoiceField(label="By")
    overdue_measure = forms.ChoiceField(
        label="Overdue by",
        required=False,
        help_text="For navigated versus not: whose screening was due at a quarter's end.",
    )

    def __init__(
        self,
        data: Mapping[str, str] | None,
        *,
        scope: EquityScope,
        overdue: Sequence[tuple[str, str]] = (),
        **kwargs,
    ):
        super().__init__(data, **kwargs)
        self.fields["stratify"].choices = [  # type: ignore[attr-defined]
            (k, v) for k, v in DIMENSION_LABELS.items() if k != "navigated" and scope.allows(k)
        ]
        self.fields["overdue_measure"].choices = [("", "EquiNav's rules"), *overdue]  # type: ignore[attr-defined]


class ControlForm(EquiNavForm):
    """The control programme dashboard's menus: one control programme and one
    dimension. `ControlQuery.from_params` checks the values; its errors show here."""

    program = forms.ChoiceField(label="Programme")
    stratify = forms.ChoiceField(label="By")

    def __init__(
        self,
        data: Mapping[str, str] | None,
        *,
        scope: EquityScope,
        programs: Sequence[tuple[str, str]],
        **kwargs,
    ):
        super().__init__(data, **kwargs)
        self.fields["program"].choices = list(programs)  # type: ignore[attr-defined]
        self.fields["stratify"].choices = [  # type: ignore[attr-defined]
            (k, v)
            for k, v in DIMENSION_LABELS.items()
            if k not in ("navigated", "navigator") and scope.allows(k)
        ]
