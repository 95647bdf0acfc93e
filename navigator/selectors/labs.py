"""A control programme's case: the patient's lab readings (HbA1c, GMI) that its gap
reads, for the case page's trend.

Scoped like the case page: the readings are those of the patient of a case the user
may see (`cases_visible_to`, in the same SQL), so a case id outside one's caseload
reads nothing. Read exactly as the care-gap engine reads them
(`patients.caregaps.engine.lab_readings_of`): the chart and the gap agree.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Subquery

from navigator.audit.recording import audit_note_patients
from navigator.models import NavigationCase, User
from navigator.selectors.visibility import cases_visible_to
from patients.caregaps.control import Reading
from patients.caregaps.engine import lab_readings_of
from patients.models import ClinicalResource
from patients.selectors import concept_codes

__all__ = ["LabTrend", "case_lab_trend"]


@dataclass(frozen=True)
class LabTrend:
    """What the case page draws for a control programme: the readings (oldest first),
    the programme's target and poor-control threshold, and the gap's next lab due."""

    readings: list[Reading]
    target: Decimal
    poor_control: Decimal
    unit: str
    next_due_on: dt.date | None

    @property
    def last(self) -> Reading | None:
        return self.readings[-1] if self.readings else None


def case_lab_trend(
    *, user: User, case: NavigationCase, next_due_on: dt.date | None = None
) -> LabTrend | None:
    """The trend of a control programme's case (None for a screening case). Four
    queries whatever the number of labs: the programme's lab concepts (1), their
    codes (2), the patient's Observations (1)."""
    program = case.program
    if not program.is_control or program.target_value is None:
        return None
    keys = list(program.lab_concepts.values_list("key", flat=True))
    codes = frozenset().union(*concept_codes(keys).values()) if keys else frozenset()
    visible = cases_visible_to(user).filter(pk=case.pk).values("patient_id")
    rows = list(
        ClinicalResource.objects.filter(
            patient_id__in=Subquery(visible), resource_type="Observation"
        )
        .order_by("pk")
        .values_list("pk", "resource")
    )
    # (No model rows are loaded: the patient is noted for the access log here.)
    audit_note_patients([case.patient_id])
    readings = lab_readings_of(resources=rows, birth_date=case.patient.birth_date, codes=codes)
    return LabTrend(
        readings=readings,
        target=program.target_value,
        poor_control=program.poor_control_value or program.target_value,
        unit=program.target_unit,
        next_due_on=next_due_on,
    )
