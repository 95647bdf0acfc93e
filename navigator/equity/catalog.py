"""The figures the disparities dashboard can show, by the key its page and API use.

Two families, never mixed in one rate:

- population measures (`patients.caregaps.population_measures`): the share of an
  eligible population that is screened, stored per patient and measurement period by
  `patients.services.measure_populations` (`MeasurePopulation`): the CMS eCQMs over
  patients known from EHR feeds, and EquiNav's own screening rules over every patient
  EquiNav knows;
- navigation measures: what happened to navigation cases, counted from the cases.

Each has one programme: rates of programmes whose normal levels differ (colorectal
and cervical screening run at very different rates) are never added together.
"""

from __future__ import annotations

from dataclasses import dataclass

from patients.caregaps.population_measures import POPULATION_MEASURES, PopulationMeasure


@dataclass(frozen=True)
class MeasureInfo:
    key: str
    label: str
    kind: str  # "ecqm" | "caregap" | "navigation"
    program: str | None  # the programme's code; None: chosen by the user
    favorable: bool = True  # a higher rate is better
    numerator_label: str = "Screened"
    denominator_label: str = "Eligible"
    # How a sentence names it: "the gap … in colorectal screening narrowed …".
    story_label: str = ""
    # The verb of a reversed gap's sentence ("… are now screened more often than …");
    # None where no verb is true (an inverse measure counts a bad outcome, navigation
    # counts closed loops): the sentence then compares the rates in plain words.
    action: str | None = "screened"


def _population(entry: PopulationMeasure) -> MeasureInfo:
    """An inverse eCQM (CMS122) counts a bad outcome: `favorable=False`, so the
    statistics and sentences read a higher rate as worse."""
    return MeasureInfo(
        entry.key,
        entry.label,
        entry.kind,
        entry.program_code,
        favorable=entry.favorable == "higher",
        numerator_label=entry.numerator_label,
        story_label=entry.topic,
        action=None if entry.inverse else "screened",
    )


POPULATION = tuple(_population(entry) for entry in POPULATION_MEASURES.values())
NAVIGATION = (
    MeasureInfo(
        "completion_180",
        "Loop closed within 180 days of opening (navigation cases)",
        "navigation",
        None,
        numerator_label="Loop closed in 180 days",
        story_label="closing the screening loop within 180 days",
        denominator_label="Cases with 180 days of follow-up",
    ),
    MeasureInfo(
        "completion_90",
        "Loop closed within 90 days of opening (navigation cases)",
        "navigation",
        None,
        numerator_label="Loop closed in 90 days",
        story_label="closing the screening loop within 90 days",
        denominator_label="Cases with 90 days of follow-up",
    ),
    MeasureInfo(
        "diagnostic_follow_up",
        "Diagnostic colonoscopy within 6 months of an abnormal stool test",
        "navigation",
        "colorectal",
        numerator_label="Colonoscopy within 6 months",
        story_label="diagnostic colonoscopy within 6 months",
        denominator_label="Abnormal stool tests",
    ),
)

MEASURES: dict[str, MeasureInfo] = {m.key: m for m in (*POPULATION, *NAVIGATION)}
# The API's shorter names.
ALIASES = {"completion": "completion_180"}


def measure_info(key: str) -> MeasureInfo:
    """The measure named `key` (or an alias); KeyError when there is none."""
    return MEASURES[ALIASES.get(key, key)]
