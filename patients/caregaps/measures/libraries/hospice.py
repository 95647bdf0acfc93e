"""Hospice 6.12.000: "Has Hospice Services".

Discharged to hospice, a hospice encounter, a hospice assessment answered
yes, a hospice order or hospice care, or a hospice diagnosis, in the
measurement period. A denominator exclusion of CMS130, CMS125, CMS124 and CMS122.
"""

from __future__ import annotations

from patients.caregaps.codes import LOINC, SNOMED
from patients.caregaps.fhirdata import Resource, authored_interval, concept_is, period_interval
from patients.caregaps.measures.context import Context, exists, interval_overlaps
from patients.caregaps.measures.libraries.status import (
    assessment_performed,
    encounter_performed,
    order,
    procedure_performed,
)
from patients.caregaps.temporal import Truth


def has_hospice_services(ctx: Context) -> bool:
    """Hospice."Has Hospice Services"."""

    def discharged_to_hospice(encounter: Resource) -> Truth:
        disposition = (encounter.get("hospitalization") or {}).get("dischargeDisposition")
        if not (
            concept_is(disposition, SNOMED, "428361000124107")
            or concept_is(disposition, SNOMED, "428371000124100")
        ):
            return False
        interval = period_interval(encounter.get("period"))
        return interval.ends_during(ctx.period) if interval else None

    def encounter_overlaps(encounter: Resource) -> Truth:
        interval = period_interval(encounter.get("period"))
        return interval.overlaps(ctx.period) if interval else None

    def assessment_yes(observation: Resource) -> Truth:
        if not concept_is(observation.get("valueCodeableConcept"), SNOMED, "373066001"):
            return False
        interval = ctx.effective(observation)
        return interval.overlaps(ctx.period) if interval else None

    def ordered(request: Resource) -> Truth:
        interval = authored_interval(request)
        return interval.during(ctx.period) if interval else None

    def performed_overlaps(procedure: Resource) -> Truth:
        interval = ctx.performed(procedure)
        return interval.overlaps(ctx.period) if interval else None

    def diagnosis_overlaps(condition: Resource) -> Truth:
        return interval_overlaps(ctx.prevalence(condition), ctx.period)

    hospice_care = "2.16.840.1.113883.3.526.3.1584"
    return (
        exists(
            ctx,
            "Discharged to hospice",
            encounter_performed(ctx.of_type("Encounter", "2.16.840.1.113883.3.666.5.307")),
            discharged_to_hospice,
        )
        or exists(
            ctx,
            "Hospice encounter",
            encounter_performed(ctx.of_type("Encounter", "2.16.840.1.113883.3.464.1003.1003")),
            encounter_overlaps,
        )
        or exists(
            ctx,
            "Hospice assessment",
            assessment_performed(ctx.with_code("Observation", LOINC, "45755-6")),
            assessment_yes,
        )
        or exists(ctx, "Hospice order", order(ctx.of_type("ServiceRequest", hospice_care)), ordered)
        or exists(
            ctx,
            "Hospice care",
            procedure_performed(ctx.of_type("Procedure", hospice_care)),
            performed_overlaps,
        )
        or exists(
            ctx,
            "Hospice diagnosis",
            ctx.of_type("Condition", "2.16.840.1.113883.3.464.1003.1165"),
            diagnosis_overlaps,
        )
    )
