"""A stored CMS130 population that tells a story, for the dashboard, API and page
tests: over six rolling quarters Hispanic or Latino patients' screening rises from 40%
to 58% while White patients' stays at 60%; six Native Hawaiian or Pacific Islander
patients make a small, suppressed group; two clinics."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from patients.caregaps.periods import quarter_periods
from patients.models import MeasurePeriod, MeasurePopulation
from tests import factories

QUARTERS = quarter_periods(dt.date(2025, 1, 1), dt.date(2026, 6, 30))  # 2025 Q1 … 2026 Q2
GROUPS = {  # race answer: (patients, screened share in each quarter)
    "white": (200, [0.60] * 6),
    "hispanic": (200, [0.40, 0.44, 0.48, 0.52, 0.56, 0.58]),
    "black": (40, [0.50] * 6),
    "nhpi": (6, [0.5] * 6),
}


def build_story_population():
    clinics = [factories.ClinicFactory(name="Dorchester"), factories.ClinicFactory(name="Chelsea")]
    program = factories.program("colorectal")
    now = timezone.now()
    rows = []
    index = 0
    for race, (size, shares) in GROUPS.items():
        for number in range(size):
            patient = factories.PatientFactory(clinic=clinics[index % 2], race_ethnicity=[race])
            index += 1
            for period, share in zip(QUARTERS, shares, strict=True):
                rows.append(
                    MeasurePopulation(
                        measure="CMS130",
                        program=program,
                        patient=patient,
                        period_start=period.start,
                        period_end=period.end,
                        denominator_exclusion=False,
                        numerator=number < round(size * share),
                        age_at_end=60,
                        computed_at=now,
                    )
                )
    MeasurePopulation.objects.bulk_create(rows)
    for period in QUARTERS:
        MeasurePeriod.objects.create(
            measure="CMS130",
            period_start=period.start,
            period_end=period.end,
            computed_at=now,
            patients=index,
        )
    return clinics
