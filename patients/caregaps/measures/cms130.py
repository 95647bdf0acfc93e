"""CMS130 Colorectal Cancer Screening: ColonCancerScreeningFHIR 0.1.000 (2025).

Initial population: 46 to 75 at the end of the measurement period, with a
qualifying encounter (AdultOutpatientEncounters). Denominator exclusions:
hospice, colorectal cancer, total colectomy, frailty with advanced illness or
a nursing home (66 and older), palliative care. Numerator: FOBT in the
period, stool DNA with FIT within 3 years, flexible sigmoidoscopy or CT
colonography within 5 years, colonoscopy within 10 years.
"""

from __future__ import annotations

from patients.caregaps.measures.context import (
    Context,
    exists,
    interval_ends_during,
    interval_ends_on_or_before,
    interval_starts_on_or_before,
    lab_test_latest_during,
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


def initial_population(ctx: Context) -> bool:
    return 46 <= ctx.age_at_end <= 75 and has_qualifying_encounter(ctx, QUALIFYING_VISITS)


def denominator_exclusion(ctx: Context) -> bool:
    return (
        has_hospice_services(ctx)
        or exists(
            ctx,
            "Colorectal cancer",
            ctx.of_type("Condition", "2.16.840.1.113883.3.464.1003.108.12.1001"),
            # "Malignant Neoplasm": prevalenceInterval() starts on or before day of end of MP
            lambda c: interval_starts_on_or_before(ctx.prevalence(c), ctx.end, by_day=True),
        )
        or exists(
            ctx,
            "Total colectomy",
            procedure_performed(
                ctx.of_type("Procedure", "2.16.840.1.113883.3.464.1003.198.12.1019")
            ),
            lambda p: interval_ends_on_or_before(ctx.performed(p), ctx.end, by_day=True),
        )
        or is_66_or_older_with_advanced_illness_and_frailty(ctx)
        or is_66_or_older_living_in_nursing_home(ctx)
        or has_palliative_care(ctx)
    )


def numerator(ctx: Context) -> bool:
    return (
        lab_test_latest_during(
            ctx, "Fecal occult blood test", "2.16.840.1.113883.3.464.1003.198.12.1011", ctx.period
        )
        or lab_test_latest_during(
            ctx, "Stool DNA with FIT", "2.16.840.1.113883.3.464.1003.108.12.1039", ctx.back(2)
        )
        or exists(
            ctx,
            "Flexible sigmoidoscopy",
            procedure_performed(
                ctx.of_type("Procedure", "2.16.840.1.113883.3.464.1003.198.12.1010")
            ),
            lambda p: interval_ends_during(ctx.performed(p), ctx.back(4)),
        )
        or exists(
            ctx,
            "CT colonography",
            diagnostic_study_performed(
                ctx.of_type("Observation", "2.16.840.1.113883.3.464.1003.108.12.1038")
            ),
            lambda o: interval_ends_during(ctx.effective(o), ctx.back(4)),
        )
        or exists(
            ctx,
            "Colonoscopy",
            procedure_performed(
                ctx.of_type("Procedure", "2.16.840.1.113883.3.464.1003.108.12.1020")
            ),
            lambda p: interval_ends_during(ctx.performed(p), ctx.back(9)),
        )
    )


CMS130 = Measure(
    "CMS130",
    "Colorectal Cancer Screening",
    "ColonCancerScreeningFHIR",
    "colorectal",
    initial_population,
    denominator_exclusion,
    numerator,
)
