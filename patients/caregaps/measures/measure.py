"""What an eCQM is here, and how its populations combine into a result.

Population rules (proportion measures, as fqm-execution applies them): the
denominator is the initial population; a patient in the denominator exclusion
is never in the numerator, whatever the numerator's criteria say.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from patients.caregaps.fhirdata import PatientRecord
from patients.caregaps.measures.context import Context, Terminology
from patients.caregaps.temporal import period_of

POPULATIONS = ("initial-population", "denominator", "denominator-exclusion", "numerator")


@dataclass
class Populations:
    initial_population: bool
    denominator: bool
    denominator_exclusion: bool
    numerator: bool
    evidence: list[str]

    def as_dict(self) -> dict[str, int]:
        return {
            "initial-population": int(self.initial_population),
            "denominator": int(self.denominator),
            "denominator-exclusion": int(self.denominator_exclusion),
            "numerator": int(self.numerator),
        }


@dataclass(frozen=True)
class Measure:
    id: str
    title: str
    library: str
    program_code: str
    initial_population: Callable[[Context], bool]
    exclusion: Callable[[Context], bool]
    numerator: Callable[[Context], bool]
    # An inverse measure (CMS122): the numerator counts a bad outcome, so a lower
    # rate is better. Reports say so (FHIR improvementNotation "decrease"), and the
    # disparities dashboard reads it as its measure's `favorable` direction.
    inverse: bool = False
    # What being in the numerator, or not, means for one patient, in words a patient
    # reads (their right-of-access record): "Yes" under "Screened" would tell a patient
    # with an HbA1c above 9 % that their diabetes measure was met.
    numerator_words: str = "Screened"
    outside_numerator_words: str = "Not screened"

    @property
    def improvement_notation(self) -> str:
        """FHIR measure-improvement-notation: "increase" or "decrease"."""
        return "decrease" if self.inverse else "increase"

    def evaluate(
        self,
        patient: PatientRecord,
        *,
        period_start: dt.date,
        period_end: dt.date,
        terminology: Terminology,
    ) -> Populations:
        ctx = Context(
            patient=patient,
            period=period_of(period_start, period_end),
            period_start=period_start,
            period_end=period_end,
            terminology=terminology,
        )
        in_population = self.initial_population(ctx)
        excluded = in_population and self.exclusion(ctx)
        numerator = in_population and not excluded and self.numerator(ctx)
        return Populations(in_population, in_population, excluded, numerator, ctx.evidence)
