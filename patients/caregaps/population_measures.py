"""The population measures the disparities dashboard can show, by key.

Two kinds, never mixed in one rate:

- "ecqm": a CMS eCQM (`measures/`), over the patients known from EHR feeds; the
  performance rate is numerator / (denominator − exclusion), as CMS reports it.
  Screening rates are better higher; CMS122 (HbA1c/GMI above 9 % or not tested)
  is an inverse measure, better lower (`favorable`, from `Measure.inverse`).
- "caregap": EquiNav's screening rules for a program (`engine.evaluate_care_gap` on
  the period's last day), over every patient: it counts navigator-recorded tests, asks
  for no qualifying visit and uses the program's intervals, so it is not the CMS
  measure. Initial population = not "not eligible"; exclusion = "excluded";
  numerator = "up to date" or "due soon".

Default measure per program: CMS130 for colorectal, CMS125 for breast, CMS124 for
cervical, CMS122 for diabetes (stored without a programme until EquiNav runs one);
lung has only its care-gap measure.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from patients.caregaps.measures.registry import MEASURES

CARE_GAP_PREFIX = "caregap:"


@dataclass(frozen=True)
class PopulationMeasure:
    key: str  # "CMS130" | "caregap:colorectal": MeasurePopulation.measure
    program_code: str  # ScreeningProgram.code
    label: str
    kind: Literal["ecqm", "caregap"]
    # Which way a rate is better: screening rates, "higher"; an inverse eCQM, "lower".
    favorable: Literal["higher", "lower"] = "higher"
    # What the numerator counts, and how a sentence names the measure's topic.
    numerator_label: str = "Screened"
    topic: str = ""

    @property
    def inverse(self) -> bool:
        return self.favorable == "lower"


def care_gap_measure_key(program_code: str) -> str:
    return f"{CARE_GAP_PREFIX}{program_code}"


# What an inverse eCQM's numerator counts, and its topic in a sentence.
_INVERSE_WORDS = {
    # The topic names what the rate counts, a bad outcome: "the gap … in poor diabetes
    # control … narrowed", "… now have a lower rate of poor diabetes control …".
    "CMS122": (
        "HbA1c/GMI above 9% or not tested",
        "poor diabetes control (HbA1c/GMI above 9% or not tested)",
    ),
}


def _ecqm(measure_id: str) -> PopulationMeasure:
    measure = MEASURES[measure_id]
    if measure.inverse:
        numerator_label, topic = _INVERSE_WORDS[measure_id]
        return PopulationMeasure(
            key=measure_id,
            program_code=measure.program_code,
            label=f"{measure_id} {measure.title} (eCQM, EHR patients; inverse: lower is better)",
            kind="ecqm",
            favorable="lower",
            numerator_label=numerator_label,
            topic=topic,
        )
    return PopulationMeasure(
        key=measure_id,
        program_code=measure.program_code,
        label=f"{measure_id} {measure.title} (eCQM, EHR patients)",
        kind="ecqm",
        topic=f"{measure.program_code} cancer screening",
    )


def _care_gap(program_code: str, name: str) -> PopulationMeasure:
    return PopulationMeasure(
        key=care_gap_measure_key(program_code),
        program_code=program_code,
        label=f"{name} screening, EquiNav rules (all patients; not the CMS measure)",
        kind="caregap",
        topic=f"{program_code} cancer screening (EquiNav's rules)",
    )


POPULATION_MEASURES: dict[str, PopulationMeasure] = {
    entry.key: entry
    for entry in (
        _ecqm("CMS130"),
        _ecqm("CMS125"),
        _ecqm("CMS124"),
        _ecqm("CMS122"),
        _care_gap("colorectal", "Colorectal"),
        _care_gap("breast", "Breast"),
        _care_gap("cervical", "Cervical"),
        _care_gap("lung", "Lung"),
    )
}
