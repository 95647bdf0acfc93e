"""Whose figures a user may see on the disparities dashboard (issue 13, item 6).

Every figure the dashboard, its API, CSV and PDF compute is filtered by one
`EquityScope`, built here from the user's role, so the rule lives in one place:

- programme managers and administrators: every patient and every case;
- clinic staff: the patients of their own clinic, and those patients' cases;
- navigators: their own caseload only (the cases assigned to them, not
  those they cover for a colleague), and the patients of those cases;
- anyone else: nothing.

A scope also says which dimensions the user may stratify by: a per-navigator table
is a manager's tool (it compares colleagues), and a navigator's own caseload split by
clinic would be groups of a handful of patients.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q

from navigator.models import NavigationCase, User

ALL_DIMENSIONS = frozenset(
    {
        "race",
        "language",
        "lep",
        "interpreter",
        "sex",
        "age",
        "insurance",
        "clinic",
        "navigator",
        "navigated",
    }
)


@dataclass(frozen=True)
class EquityScope:
    """Filters for the rows a user may count, and the dimensions they may use.

    `patient_q(prefix)` filters any queryset that reaches a patient through `prefix`
    ("" on `Patient`, "patient__" on cases and stored measure populations);
    `cases_q` filters `NavigationCase`. `sees_nothing` short-circuits to empty tables.
    """

    who: str  # "all" | "clinic" | "caseload" | "none"
    clinic_id: int | None = None
    user_id: int | None = None
    dimensions: frozenset[str] = frozenset()

    @property
    def sees_nothing(self) -> bool:
        return self.who == "none"

    def patient_q(self, prefix: str = "") -> Q:
        if self.who == "all":
            return Q()
        if self.who == "clinic":
            return Q(**{f"{prefix}clinic_id": self.clinic_id})
        if self.who == "caseload":
            caseload = NavigationCase.objects.filter(navigator__user__pk=self.user_id or 0)
            return Q(**{f"{prefix}pk__in": caseload.values("patient_id")})
        return Q(pk__in=[])

    @property
    def cases_q(self) -> Q:
        if self.who == "all":
            return Q()
        if self.who == "clinic":
            return Q(patient__clinic_id=self.clinic_id)
        if self.who == "caseload":
            return Q(navigator__user__pk=self.user_id or 0)
        return Q(pk__in=[])

    def allows(self, dimension: str) -> bool:
        return dimension in self.dimensions


def equity_scope(user: User) -> EquityScope:
    """The scope of `user`'s dashboard (see the module docstring)."""
    if not user.is_authenticated or not user.is_active:
        return EquityScope("none")
    if user.sees_all_cases:
        return EquityScope("all", dimensions=ALL_DIMENSIONS)
    if user.is_clinic_staff and user.clinic_id is not None:
        return EquityScope(
            "clinic", clinic_id=user.clinic_id, dimensions=ALL_DIMENSIONS - {"navigator"}
        )
    if user.works_caseload:
        return EquityScope(
            "caseload", user_id=user.pk, dimensions=ALL_DIMENSIONS - {"navigator", "clinic"}
        )
    return EquityScope("none")
