"""Diabetes in the demo population (issue 16): which of its patients have type 2
diabetes, and their HbA1c (and for some GMI) over the story's quarters, told so that
CMS122 finds a disparity in control that narrows once coaching in Spanish starts.

The intended figures (exact quotas within each cohort, drawn with a fixed seed; the
dates hang off the last complete quarter, like `demo_population`'s story):

- diabetes in 30% of the Hispanic or Latino patients who prefer Spanish (the
  "spanish" cohort) and in 20% of everyone else ("other");
- CMS122's numerator (the most recent HbA1c/GMI of the twelve months above 9 %, or
  none): at the first quarter shown 49% of the Spanish-speaking cohort and 24% of
  the others (a gap of 25 points); by the last complete quarter 31% and 24% (7
  points), the gap closing from the fourth quarter back on as coached patients come
  under 9 %;
- the courses that make it so, as shares of each cohort's patients with diabetes:

  =============  ========  =====  ==================================================
  course         spanish   other  its HbA1c
  =============  ========  =====  ==================================================
  improved         22%       6%   > 9 % or untested, then coached from a case opened
                                  from the care gap: tested quarterly, falling under
                                  9 % within two labs, every 6 months once at target
  poor             27%      18%   > 9 % tested quarterly, or untested since before
                                  the first quarter; a third of the Spanish-
                                  speaking ones (a fifth of the others) coached,
                                  not improving
  worsened          4%       6%   controlled, then above 9 % from the fifth quarter
                                  back on
  controlled       47%      70%   under 9 % throughout: every 6 months at target
                                  (< 8 %), every 3 months above it
  =============  ========  =====  ==================================================

Intervals follow the diabetes control programme's rules (ADA Standards of Care 2025,
section 6: A1C twice a year at goal, quarterly when not). A third of the improved
patients wear a continuous glucose monitor from their coaching on: a GMI between
their labs. Values stay within 5.5-13 %. The patients coached and when their case
opened (`DiabetesPlan.coached_from`) are the caller's to act on
(`navigator.management.demo_diabetes`). Pure: no database; nothing here is real.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from typing import Any

from patients.caregaps.dates import add_months

SPANISH, OTHER = "spanish", "other"
PREVALENCE = {SPANISH: 0.30, OTHER: 0.20}
IMPROVED, POOR, WORSENED, CONTROLLED = "improved", "poor", "worsened", "controlled"
COURSES = {
    SPANISH: ((IMPROVED, 0.22), (POOR, 0.27), (WORSENED, 0.04), (CONTROLLED, 0.47)),
    OTHER: ((IMPROVED, 0.06), (POOR, 0.18), (WORSENED, 0.06), (CONTROLLED, 0.70)),
}
COACHED_POOR = {SPANISH: 0.34, OTHER: 0.2}  # of the cohort's "poor", coached all the same
CGM_EVERY = 3  # every third improved patient has GMIs
LOWEST, HIGHEST = 5.5, 13.0
TARGET, POOR_CONTROL = 8.0, 9.0  # the diabetes control programme's (migration 0031)
LOINC = "http://loinc.org"
LAB_CATEGORY = {
    "coding": [
        {
            "system": "http://terminology.hl7.org/CodeSystem/observation-category",
            "code": "laboratory",
        }
    ]
}
CODES = {
    "hba1c": (LOINC, "4548-4", "Hemoglobin A1c/Hemoglobin.total in Blood"),
    "gmi": (LOINC, "97506-0", "Glucose management indicator"),
}


@dataclass(frozen=True)
class Lab:
    on: dt.date
    value: float  # %
    kind: str = "hba1c"  # or "gmi"


@dataclass(frozen=True)
class DiabetesPlan:
    cohort: str
    course: str
    labs: tuple[Lab, ...]
    # A diabetes control case opened from the care gap on this day, and coached since.
    coached_from: dt.date | None = None

    def status_on(self, day: dt.date) -> str:
        """The control programme's gap on `day` for these labs (patients.caregaps.control):
        "untested" this calendar year, "poor_control" (> 9 %), "above_target" or "at_target"."""
        this_year = [lab for lab in self.labs if dt.date(day.year, 1, 1) <= lab.on <= day]
        if not this_year:
            return "untested"
        value = this_year[-1].value
        if value > POOR_CONTROL:
            return "poor_control"
        return "at_target" if value < TARGET else "above_target"


@dataclass(frozen=True)
class Story:
    """The dates the story hangs off: the first quarter's twelve months start on
    `since`; coaching cases open between `coaching_from` and `coaching_to`."""

    since: dt.date
    first_end: dt.date
    last_end: dt.date
    coaching_from: dt.date
    coaching_to: dt.date
    worsening_from: dt.date
    worsening_to: dt.date
    today: dt.date


def story_dates(ends: tuple[dt.date, ...], today: dt.date) -> Story:
    """From the eight quarter ends (`demo_population.story_quarter_ends`), oldest first."""
    one_day = dt.timedelta(days=1)
    return Story(
        since=add_months(ends[0], -12) + one_day,
        first_end=ends[0],
        last_end=ends[-1],
        coaching_from=ends[1] + one_day,
        coaching_to=ends[-4],
        worsening_from=ends[2] + one_day,
        worsening_to=ends[-2],
        today=today,
    )


def diabetes_plans(
    patients: list[tuple[str, str]], *, story: Story, seed: int
) -> dict[str, DiabetesPlan]:
    """{patient id: plan} for those of `patients` ((id, cohort), in a fixed order) who
    have diabetes, by the exact quotas of the module docstring."""
    rng = random.Random(seed)  # noqa: S311 - synthetic demo data
    plans: dict[str, DiabetesPlan] = {}
    for cohort in (SPANISH, OTHER):
        members = [pid for pid, of in patients if of == cohort]
        rng.shuffle(members)
        with_diabetes = members[: round(PREVALENCE[cohort] * len(members))]
        size, start = len(with_diabetes), 0
        for course, share in COURSES[cohort]:
            count = size - start if course == CONTROLLED else round(share * size)
            chosen = with_diabetes[start : start + count]
            start += count
            coached = len(chosen) if course == IMPROVED else 0
            if course == POOR:
                coached = round(COACHED_POOR[cohort] * len(chosen))
            for number, pid in enumerate(chosen):
                plans[pid] = _plan(
                    rng, cohort, course, story, coached=number < coached, number=number
                )
    return plans


def _days(rng: random.Random, low: int, high: int) -> dt.timedelta:
    return dt.timedelta(days=rng.randint(low, high))


def _value(rng: random.Random, mean: float, low: float, high: float) -> float:
    return round(min(max(rng.gauss(mean, 0.3), low, LOWEST), high, HIGHEST), 1)


def _interval(rng: random.Random, value: float) -> dt.timedelta:
    """ADA 2025 §6: six months after a value at target, three after one that is not."""
    return _days(rng, 168, 190) if value < TARGET else _days(rng, 84, 98)


def _controlled(
    rng: random.Random, first: dt.date, until: dt.date, mean: float, high: float = 8.9
) -> list[Lab]:
    labs: list[Lab] = []
    day = first
    while day < until:
        labs.append(Lab(day, _value(rng, mean, LOWEST, high)))
        day += _interval(rng, labs[-1].value)
    return labs


def _poorly(
    rng: random.Random, first: dt.date, until: dt.date, every: tuple[int, int]
) -> list[Lab]:
    mean = rng.uniform(9.6, 11.8)
    labs: list[Lab] = []
    day = first
    while day < until:
        labs.append(Lab(day, _value(rng, mean, 9.2, HIGHEST)))
        day += _days(rng, *every)
    return labs


def _old_lab(rng: random.Random, story: Story) -> Lab:
    """The last test of a patient untested since before the first quarter's twelve months."""
    return Lab(story.since - _days(rng, 30, 400), round(rng.uniform(8.2, 10.6), 1))


def _plan(
    rng: random.Random, cohort: str, course: str, story: Story, *, coached: bool, number: int
) -> DiabetesPlan:
    since, today = story.since, story.today
    coached_from = None
    if coached:
        span = (story.coaching_to - story.coaching_from).days
        coached_from = story.coaching_from + dt.timedelta(days=rng.randint(0, span))
    if course == CONTROLLED:
        labs = _controlled(rng, since + _days(rng, 0, 150), today, rng.uniform(5.9, 8.4))
    elif course == WORSENED:
        span = (story.worsening_to - story.worsening_from).days
        worse = story.worsening_from + dt.timedelta(days=rng.randint(0, span))
        labs = _controlled(rng, since + _days(rng, 0, 150), worse, rng.uniform(7.6, 8.5))
        labs += _poorly(rng, worse + _days(rng, 0, 30), today, (84, 98))
    elif coached_from is None:  # poor, not coached (the improved all are)
        # Half tested quarterly and above 9 %, half untested since before the story.
        if number % 2:
            labs = [_old_lab(rng, story)]
        else:
            labs = _poorly(rng, since + _days(rng, 0, 90), today, (84, 98))
    else:
        before = (
            [_old_lab(rng, story)]
            if number % 2
            else _poorly(rng, since + _days(rng, 0, 120), coached_from, (120, 240))
        )
        baseline = coached_from + _days(rng, 3, 21)
        if course == POOR:
            # Tested quarterly once coached (the coaching got them tested), still above 9 %.
            after = _poorly(rng, baseline, today, (84, 98))
        else:
            after = _improving(rng, baseline, story, cgm=number % CGM_EVERY == 0)
        labs = before + after
    return DiabetesPlan(cohort, course, tuple(labs), coached_from)


def _improving(rng: random.Random, baseline: dt.date, story: Story, *, cgm: bool) -> list[Lab]:
    """Coached: above 9 % at the first lab, under 9 % by the second (the third when
    that one still falls in the last quarter), at target later; a GMI between labs
    for a patient with a continuous glucose monitor."""
    days = [baseline]
    value = rng.uniform(9.4, 11.8)
    floor = rng.uniform(6.6, 7.8)
    step = rng.uniform(0.6, 1.2)
    values = [round(value, 1)]
    while (following := days[-1] + _interval(rng, values[-1])) < story.today:
        value = max(floor, value - step)
        noisy = round(max(value + rng.gauss(0, 0.15), floor - 0.2), 1)
        if len(values) == 2:
            # Under 9 % by the third lab at the latest (before the last quarter's end:
            # coaching opens at least nine months before it).
            value = min(value, 8.8 - rng.uniform(0, 0.6))
            noisy = min(noisy, round(value, 1))
        days.append(following)
        values.append(noisy)
    labs = [Lab(day, min(v, HIGHEST)) for day, v in zip(days, values, strict=True)]
    if cgm:
        gmis = []
        for earlier, later in zip(labs, labs[1:], strict=False):
            middle = earlier.on + (later.on - earlier.on) / 2
            mean = (earlier.value + later.value) / 2
            value = round(min(mean + rng.gauss(0, 0.15), max(earlier.value, later.value)), 1)
            gmis.append(Lab(middle, value, "gmi"))
        labs = sorted(labs + gmis, key=lambda lab: lab.on)
    return labs


# --- FHIR -------------------------------------------------------------------------------


def diabetes_resources(plan: DiabetesPlan, patient_id: str, today: dt.date) -> list[dict[str, Any]]:
    """The Condition (type 2 diabetes, years old) and the lab Observations, without ids."""
    subject = {"reference": f"Patient/{patient_id}"}
    onset = today - dt.timedelta(days=365 * 6 + len(plan.labs) * 37)
    resources: list[dict[str, Any]] = [
        {
            "resourceType": "Condition",
            "clinicalStatus": {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                        "code": "active",
                    }
                ]
            },
            "code": {
                "coding": [
                    {
                        "system": "http://hl7.org/fhir/sid/icd-10-cm",
                        "code": "E11.9",
                        "display": "Type 2 diabetes mellitus without complications",
                    }
                ]
            },
            "onsetDateTime": onset.isoformat(),
            "subject": subject,
        }
    ]
    for lab in plan.labs:
        system, code, display = CODES[lab.kind]
        resources.append(
            {
                "resourceType": "Observation",
                "status": "final",
                "category": [LAB_CATEGORY],
                "code": {"coding": [{"system": system, "code": code, "display": display}]},
                "effectiveDateTime": lab.on.isoformat(),
                "valueQuantity": {
                    "value": lab.value,
                    "unit": "%",
                    "system": "http://unitsofmeasure.org",
                    "code": "%",
                },
                "subject": subject,
            }
        )
    return resources
