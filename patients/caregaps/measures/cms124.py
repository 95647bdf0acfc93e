"""CMS124 Cervical Cancer Screening: CervicalCancerScreeningFHIR 0.0.001 (2025).

Initial population: women 24 to 64 at the end of the measurement period, with
a qualifying encounter (the measure's own list, CERVICAL_VISITS). Denominator
exclusions: hospice, no cervix (hysterectomy or absence of cervix), palliative
care. Numerator: cervical cytology within 3 years, or an HPV test at 30 or
older within 5 years.
"""

from __future__ import annotations

from patients.caregaps.dates import age_range_at
from patients.caregaps.fhirdata import Resource, has_value
from patients.caregaps.measures.context import (
    Context,
    exists,
    interval_ends_on_or_before,
    interval_starts_on_or_before,
    lab_test_latest_during,
    latest_of,
)
from patients.caregaps.measures.libraries.adult_outpatient_encounters import (
    has_qualifying_encounter,
)
from patients.caregaps.measures.libraries.hospice import has_hospice_services
from patients.caregaps.measures.libraries.palliative_care import has_palliative_care
from patients.caregaps.measures.libraries.status import (
    laboratory_test_performed,
    procedure_performed,
)
from patients.caregaps.measures.measure import Measure
from patients.caregaps.temporal import Truth, all_of, point_during

# The measure's own "Qualifying Encounters": AdultOutpatientEncounters' value sets
# without Annual Wellness Visit.
CERVICAL_VISITS = [
    "Office Visit",
    "Preventive Care Services Established Office Visit, 18 and Up",
    "Preventive Care Services Initial Office Visit, 18 and Up",
    "Home Healthcare Services",
    "Telephone Visits",
    "Virtual Encounter",
]


def initial_population(ctx: Context) -> bool:
    return (
        24 <= ctx.age_at_end <= 64
        and ctx.patient.gender == "female"
        and has_qualifying_encounter(ctx, CERVICAL_VISITS)
    )


def denominator_exclusion(ctx: Context) -> bool:
    prefix = "2.16.840.1.113883.3.464.1003."
    return (
        has_hospice_services(ctx)
        or exists(
            ctx,
            "Hysterectomy with no residual cervix",
            procedure_performed(ctx.of_type("Procedure", prefix + "198.12.1014")),
            lambda p: interval_ends_on_or_before(ctx.performed(p), ctx.end, by_day=False),
        )
        or exists(
            ctx,
            "Absence of cervix",
            ctx.of_type("Condition", prefix + "111.12.1016"),
            lambda c: interval_starts_on_or_before(ctx.prevalence(c), ctx.end, by_day=False),
        )
        or has_palliative_care(ctx)
    )


def numerator(ctx: Context) -> bool:
    prefix = "2.16.840.1.113883.3.464.1003."

    def hpv_at_30_or_older(observation: Resource) -> Truth:
        """ "HPV Test Within 5 Years for Women Age 30 and Older":
        AgeInYearsAt(date from HPVTest.effective.latest()) >= 30
          and HPVTest.effective.latest() during day of Interval[start - 4 years, end]
          and HPVTest.value is not null

        `date from` takes the day as written; a partial date gives a range of
        ages, unknown when it straddles 30.
        """
        latest = latest_of(ctx.effective(observation))
        if latest is None:
            return None
        youngest, oldest = age_range_at(ctx.patient.birth_date, latest)
        old_enough: Truth = True if youngest >= 30 else False if oldest < 30 else None
        return all_of(old_enough, point_during(latest, ctx.back(4)), has_value(observation))

    return lab_test_latest_during(
        ctx, "Cervical cytology", prefix + "108.12.1017", ctx.back(2)
    ) or exists(
        ctx,
        "HPV test",
        laboratory_test_performed(ctx.of_type("Observation", prefix + "110.12.1059")),
        hpv_at_30_or_older,
    )


CMS124 = Measure(
    "CMS124",
    "Cervical Cancer Screening",
    "CervicalCancerScreeningFHIR",
    "cervical",
    initial_population,
    denominator_exclusion,
    numerator,
)
