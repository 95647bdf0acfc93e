"""The population measures the disparities dashboard can show, by key.

Two kinds, never mixed in one rate:

- "ecqm": a CMS eCQM (`measures/`), over the patients known from EHR feeds; the
  performance rate is numerator / (denominator − exclusion), as CMS reports it.
- "caregap": EquiNav's screening rules for a program (`engine.evaluate_care_gap` on
  the period's last day), over every patient: it counts navigator-recorded tests, asks
  for no qualifying visit and uses the program's intervals, so it is not the CMS
  measure. Initial population = not "not eligible"; exclusion = "excluded";
  numerator = "up to date" or "due soon".

Default measure per program: CMS130 for colorectal, CMS125 for breast, CMS124 for
cervical; lung has only its care-gap measure.
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
    # Which way a rate is better: screening rates, "higher".
    favorable: Literal["higher", "lower"] = "higher"


def care_gap_measure_key(program_code: str) -> str:
    return f"{CARE_GAP_PREFIX}{program_code}"


def _ecqm(measure_id: str) -> PopulationMeasure:
    measure = MEASURES[measure_id]
    return PopulationMeasure(
        key=measure_id,
        program_code=measure.program_code,
        label=f"{measure_id} {measure.title} (eCQM, EHR patients)",
        kind="ecqm",
    )


def _care_gap(program_code: str, name: str) -> PopulationMeasure:
    return PopulationMeasure(
        key=care_gap_measure_key(program_code),
        program_code=program_code,
        label=f"{name} screening, EquiNav rules (all patients; not the CMS measure)",
        kind="caregap",
    )


POPULATION_MEASURES: dict[str, PopulationMeasure] = {
    entry.key: entry
    for entry in (
        _ecqm("CMS130"),
        _ecqm("CMS125"),
        _ecqm("CMS124"),
        _care_gap("colorectal", "Colorectal"),
        _care_gap("breast", "Breast"),
        _care_gap("cervical", "Cervical"),
        _care_gap("lung", "Lung"),
    )
}
