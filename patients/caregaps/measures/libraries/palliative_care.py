"""PalliativeCare 1.11.000: "Has Palliative Care in the Measurement Period".

A palliative care assessment, diagnosis, encounter or intervention that
overlaps the measurement period. A denominator exclusion of CMS130, CMS125,
CMS124 and CMS122.
"""

from __future__ import annotations

from patients.caregaps.codes import LOINC
from patients.caregaps.fhirdata import period_interval
from patients.caregaps.measures.context import Context, exists, interval_overlaps
from patients.caregaps.measures.libraries.status import (
    assessment_performed,
    encounter_performed,
    procedure_performed,
)
from patients.caregaps.temporal import Interval, Truth


def has_palliative_care(ctx: Context) -> bool:
    """PalliativeCare."Has Palliative Care in the Measurement Period"."""

    def overlaps(interval: Interval | None) -> Truth:
        return interval_overlaps(interval, ctx.period)

    return (
        exists(
            ctx,
            "Palliative care assessment",
            assessment_performed(ctx.with_code("Observation", LOINC, "71007-9")),
            lambda o: overlaps(ctx.effective(o)),
        )
        or exists(
            ctx,
            "Palliative care diagnosis",
            ctx.of_type("Condition", "2.16.840.1.113883.3.464.1003.1167"),
            lambda c: overlaps(ctx.prevalence(c)),
        )
        or exists(
            ctx,
            "Palliative care encounter",
            encounter_performed(
                ctx.of_type("Encounter", "2.16.840.1.113883.3.464.1003.101.12.1090")
            ),
            lambda e: overlaps(period_interval(e.get("period"))),
        )
        or exists(
            ctx,
            "Palliative care intervention",
            procedure_performed(
                ctx.of_type("Procedure", "2.16.840.1.113883.3.464.1003.198.12.1135")
            ),
            lambda p: overlaps(ctx.performed(p)),
        )
    )
