"""CMS125 Breast Cancer Screening: BreastCancerScreeningFHIR 0.0.001 (2025).

Initial population: women 52 to 74 at the end of the measurement period, with
a qualifying encounter (AdultOutpatientEncounters). Denominator exclusions:
hospice, bilateral mastectomy (or a right and a left one), frailty with
advanced illness or a nursing home (66 and older), palliative care.
Numerator: a mammogram from 1 October two years before the period to its end.
"""

from __future__ import annotations

import datetime as dt

from patients.caregaps.codes import SNOMED
from patients.caregaps.datetimes import UTC, point_from_datetime
from patients.caregaps.fhirdata import Code, concept_is
from patients.caregaps.measures.context import (
    Context,
    exists,
    interval_ends_during,
    interval_ends_on_or_before,
    interval_starts_on_or_before,
)
from patients.caregaps.measures.libraries.adult_outpatient_encounters import (
    QUALIFYING_VISITS,
    has_qualifying_encounter,
)
from patients.caregaps.measures.libraries.advanced_illness_frailty import (
    is_66_or_older_living_in_nursing_home,
    is_66_or_older_with_advanced_illness_and_frailty,
)
from patients.caregaps.measures.libraries.hospice import has_hospice_services
from patients.caregaps.measures.libraries.palliative_care import has_palliative_care
from patients.caregaps.measures.libraries.status import (
    diagnostic_study_performed,
    procedure_performed,
)
from patients.caregaps.measures.measure import Measure
from patients.caregaps.temporal import Interval


def initial_population(ctx: Context) -> bool:
    return (
        52 <= ctx.age_at_end <= 74
        and ctx.patient.gender == "female"
        and has_qualifying_encounter(ctx, QUALIFYING_VISITS)
    )


LEFT = (SNOMED, "7771000")
RIGHT = (SNOMED, "24028007")


def _mastectomy_side(ctx: Context, side: Code) -> bool:
    """ "Right/Left Mastectomy Diagnosis" or "... Procedure"."""
    if side == RIGHT:
        status_post, procedure = "198.12.1070", "198.12.1134"
    else:
        status_post, procedure = "198.12.1069", "198.12.1133"
    prefix = "2.16.840.1.113883.3.464.1003."
    unspecified = [
        c
        for c in ctx.of_type("Condition", prefix + "198.12.1071")
        if any(concept_is(site, *side) for site in c.get("bodySite") or [])
    ]
    diagnoses = ctx.of_type("Condition", prefix + status_post) + unspecified
    label = "Right" if side == RIGHT else "Left"
    return exists(
        ctx,
        f"{label} mastectomy",
        diagnoses,
        # `prevalenceInterval() starts on or before end of "Measurement Period"`
        # has no `day of`: to the millisecond, offsets normalised.
        lambda c: interval_starts_on_or_before(ctx.prevalence(c), ctx.end, by_day=False),
    ) or exists(
        ctx,
        f"{label} mastectomy",
        procedure_performed(ctx.of_type("Procedure", prefix + procedure)),
        lambda p: interval_ends_on_or_before(ctx.performed(p), ctx.end, by_day=False),
    )


def denominator_exclusion(ctx: Context) -> bool:
    prefix = "2.16.840.1.113883.3.464.1003."
    return (
        has_hospice_services(ctx)
        or (_mastectomy_side(ctx, RIGHT) and _mastectomy_side(ctx, LEFT))
        or exists(
            ctx,
            "History of bilateral mastectomy",
            ctx.of_type("Condition", prefix + "198.12.1068"),
            lambda c: interval_starts_on_or_before(ctx.prevalence(c), ctx.end, by_day=False),
        )
        or exists(
            ctx,
            "Bilateral mastectomy",
            procedure_performed(ctx.of_type("Procedure", prefix + "198.12.1005")),
            lambda p: interval_ends_on_or_before(ctx.performed(p), ctx.end, by_day=False),
        )
        or is_66_or_older_with_advanced_illness_and_frailty(ctx)
        or is_66_or_older_living_in_nursing_home(ctx)
        or has_palliative_care(ctx)
    )


def numerator(ctx: Context) -> bool:
    """A mammogram ending between 1 October two years before the period and its end.

    "October 1 Two Years Prior to the Measurement Period":
    DateTime((year from start of "Measurement Period" - 2), 10, 1, 0, 0, 0, 0, 0)
    (offset 0); `ends during day of` compares the mammogram's end day as written.
    """
    october = point_from_datetime(dt.datetime(ctx.period_start.year - 2, 10, 1, tzinfo=UTC))
    window = Interval(october, ctx.end)
    return exists(
        ctx,
        "Mammogram",
        diagnostic_study_performed(
            ctx.of_type("Observation", "2.16.840.1.113883.3.464.1003.108.12.1018")
        ),
        lambda o: interval_ends_during(ctx.effective(o), window),
    )


CMS125 = Measure(
    "CMS125",
    "Breast Cancer Screening",
    "BreastCancerScreeningFHIR",
    "breast",
    initial_population,
    denominator_exclusion,
    numerator,
)
