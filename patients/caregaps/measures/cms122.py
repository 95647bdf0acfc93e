"""CMS122 Diabetes: Glycemic Status Assessment Greater Than 9%:
DiabetesGlycemicStatusAssessmentGreaterThan9PercentFHIR 0.1.002 (2025).

An inverse measure: the numerator counts poor control, so a lower rate is
better (`Measure.inverse`).

Initial population: 18 to 75 at the end of the measurement period, with a
qualifying encounter (AdultOutpatientEncounters) and diabetes whose
prevalence interval overlaps the period. Denominator exclusions: hospice,
66 and older living long term in a nursing home, 66 and older with frailty
and advanced illness, palliative care. Numerator: the most recent glycemic
status assessment (HbA1c or GMI) of the period has no result or a result
above 9 %, or there is none in the period.
"""

from __future__ import annotations

from decimal import Decimal

from patients.caregaps.glycemic import (
    DIABETES,
    GLUCOSE_MANAGEMENT_INDICATOR,
    HBA1C_LAB_TEST,
    Assessment,
    lowest_on_most_recent_day,
    most_recent_date,
)
from patients.caregaps.measures.context import Context, exists, interval_overlaps, latest_of
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
from patients.caregaps.measures.libraries.status import laboratory_test_performed
from patients.caregaps.measures.measure import Measure
from patients.caregaps.quantities import lab_value
from patients.caregaps.temporal import point_during

__all__ = [
    "CMS122",
    "DIABETES",
    "GLUCOSE_MANAGEMENT_INDICATOR",
    "HBA1C_LAB_TEST",
    "Assessment",
    "glycemic_status_assessments",
    "lowest_on_most_recent_day",
    "most_recent_date",
]

# "Has Most Recent Elevated Glycemic Status Assessment": ... > 9 '%'
THRESHOLD, THRESHOLD_UNIT = Decimal(9), "%"


def initial_population(ctx: Context) -> bool:
    """ "Initial Population":
    AgeInYearsAt(date from end of "Measurement Period") in Interval[18, 75]
      and exists AdultOutpatientEncounters."Qualifying Encounters"
      and exists ([Condition: "Diabetes"] Diabetes
        where Diabetes.prevalenceInterval() overlaps day of "Measurement Period")
    """
    return (
        18 <= ctx.age_at_end <= 75
        and has_qualifying_encounter(ctx, QUALIFYING_VISITS)
        and exists(
            ctx,
            "Diabetes",
            ctx.of_type("Condition", DIABETES),
            lambda c: interval_overlaps(ctx.prevalence(c), ctx.period),
        )
    )


def denominator_exclusion(ctx: Context) -> bool:
    """ "Denominator Exclusions": Hospice."Has Hospice Services"
    or AIFrailLTCF."Is Age 66 or Older Living Long Term in a Nursing Home"
    or AIFrailLTCF."Is Age 66 or Older with Advanced Illness and Frailty"
    or PalliativeCare."Has Palliative Care in the Measurement Period"
    """
    return (
        has_hospice_services(ctx)
        or is_66_or_older_living_in_nursing_home(ctx)
        or is_66_or_older_with_advanced_illness_and_frailty(ctx)
        or has_palliative_care(ctx)
    )


def glycemic_status_assessments(ctx: Context) -> list[Assessment]:
    """ "Glycemic Status Assessment":
    (([Observation: "HbA1c Laboratory Test"] union [Observation: "Glucose management
      indicator"]).isLaboratoryTestPerformed()) GlycemicStatus
      where GlycemicStatus.effective.latest() during day of "Measurement Period"

    The union keeps one copy of a resource in both (it is the same Observation).
    isLaboratoryTestPerformed: status final, amended or corrected, category laboratory.
    """
    hba1c = ctx.of_type("Observation", HBA1C_LAB_TEST)
    gmi = ctx.with_code("Observation", *GLUCOSE_MANAGEMENT_INDICATOR)
    union = list({id(o): o for o in hba1c + gmi}.values())
    found = []
    for observation in laboratory_test_performed(union):
        latest = latest_of(ctx.effective(observation))
        if latest is not None and point_during(latest, ctx.period) is True:
            found.append(Assessment(observation, latest, lab_value(observation)))
    return found


def numerator(ctx: Context) -> bool:
    """ "Numerator":
    "Has Most Recent Glycemic Status Assessment Without Result"
      or "Has Most Recent Elevated Glycemic Status Assessment"
      or "Has No Record Of Glycemic Status Assessment"
    """
    assessments = glycemic_status_assessments(ctx)
    if not assessments:
        # "Has No Record Of Glycemic Status Assessment": not exists "Glycemic Status Assessment"
        ctx.evidence.append("No HbA1c or GMI test in the measurement period")
        return True
    lowest = lowest_on_most_recent_day(assessments)
    if lowest is None:
        return False
    if lowest.result.missing:
        # "... Without Result": the reading is not null and ToValue(its value) is null
        return ctx.found("Most recent HbA1c/GMI has no result", lowest.observation)
    quantity = lowest.result.quantity
    # "... Elevated": ToValue(value) as Quantity > 9 '%' (a coded result is not a Quantity)
    if quantity is not None and quantity.greater_than(THRESHOLD, THRESHOLD_UNIT) is True:
        return ctx.found("Most recent HbA1c/GMI above 9 %", lowest.observation)
    return False


CMS122 = Measure(
    "CMS122",
    "Diabetes: Glycemic Status Assessment Greater Than 9%",
    "DiabetesGlycemicStatusAssessmentGreaterThan9PercentFHIR",
    "diabetes",
    initial_population,
    denominator_exclusion,
    numerator,
    inverse=True,
    numerator_words="Last HbA1c/GMI of the year above 9 %, without a result, or none",
    outside_numerator_words="Last HbA1c/GMI of the year 9 % or below",
)
