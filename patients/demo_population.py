"""Synthetic FHIR bundles for the disparities dashboard's demo (issue 13): a colorectal-age
population whose screening history tells a story on purpose.

About 700 patients aged 49 to 74 at the last complete quarter (so 46 to 75, CMS130's
initial-population ages, at the end of each of the eight rolling quarters shown), each
with a yearly office visit (a qualifying encounter in every twelve-month window), US
Core race and ethnicity extensions (OMB categories), and a dated history of FIT
Observations and colonoscopy Procedures coded as CMS130's value sets accept them (the
codes `demo_ehr` uses: LOINC 29771-3, CPT 45378).

The story, written into the history so that CMS130 finds it:
- at the first quarter shown (seven before the last complete one) White patients are
  screened at about 62% and Hispanic or Latino patients at about 47%: a gap of 15
  points, significant after Holm's adjustment and meaningful as AHRQ defines it (the
  relative difference in not being screened, 0.53 vs 0.38, is far over 10%);
- from the sixth quarter back, some overdue Hispanic or Latino patients are navigated
  (`Navigation`: the caller opens their cases through the services); 85% of them do a
  FIT within 180 days of the case opening, 5% later, 10% never, and those screened
  repeat it yearly (the recall);
- in every group, a quarter of the overdue patients who are not navigated screen on
  their own over the same months, and as many screened patients let their yearly FIT
  lapse, so that the other groups' rates stay about level;
- by the last complete quarter the gap is about 2 points and no longer significant;
- six Native Hawaiian or Pacific Islander patients make a cell the dashboard must hide
  ("<11"), and one clinic's feed (`omitted_race_clinic`) leaves race and ethnicity out
  for 40% of its patients, under the 90% completeness the dashboard warns at.

Counts are exact quotas within each group (and within the patients whose race is
left out), drawn with a fixed seed, so the rates are the targets whatever the seed
picks. Dates hang off the last complete quarter (`last_complete_quarter_end`), so the
same quarters tell the same story whatever day the demo is seeded. Names come from
Faker; nothing here is real.
"""

from __future__ import annotations

import datetime as dt
import json
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from faker import Faker

from patients.caregaps.dates import add_months
from patients.caregaps.periods import last_complete_quarter_end, quarter_periods
from patients.demo_diabetes import (
    OTHER,
    SPANISH,
    DiabetesPlan,
    diabetes_plans,
    diabetes_resources,
    story_dates,
)
from patients.demo_ehr import LAB, NEGATIVE

US_CORE = "http://hl7.org/fhir/us/core/StructureDefinition/"
CDC_RACE = "urn:oid:2.16.840.1.113883.6.238"
NULL_FLAVOR = "http://terminology.hl7.org/CodeSystem/v3-NullFlavor"
CLINICS = ("chelsea", "revere", "dorchester")
OMITTED_RACE_CLINIC = "dorchester"
OMITTED_RACE_SHARE = 0.4

# The story's targets (see the module docstring).
REFERENCE_RATE = 0.62  # White patients screened, every quarter
FIRST_RATE = 0.47  # Hispanic or Latino patients screened at the first quarter
LAST_GAP = 0.02  # the gap left at the last quarter
NAVIGATED_SCREENED = 0.90  # of navigated patients, screened by the last quarter
WITHIN_180 = 0.85  # ... of them within 180 days of the case opening
LATER = 0.05  # ... after 180 days
SELF_SCREENED = 0.25  # of overdue patients not navigated, screened on their own
COLONOSCOPY_SHARE = 0.4  # of patients screened throughout, by a colonoscopy


@dataclass(frozen=True)
class Group:
    key: str  # the RaceEthnicity category the feed's codes map to
    size: float  # a share of the patients in proportion, or (fixed) a number of them
    fixed: bool
    screened: float  # screened at the first quarter
    clinics: tuple[float, float, float]  # weights for CLINICS
    languages: tuple[tuple[str, float], ...]
    locale: str
    race: tuple[str, str] | None = None  # (system, code) of the race ombCategory
    hispanic: bool = False


GROUPS = (
    Group("hispanic", 300, False, FIRST_RATE, (0.45, 0.35, 0.20), (("es", 0.65), ("en", 0.35)),
          "es_MX", hispanic=True),
    Group("white", 250, False, REFERENCE_RATE, (0.30, 0.35, 0.35),
          (("en", 0.85), ("pt", 0.10), ("ru", 0.05)), "en_US", (CDC_RACE, "2106-3")),
    Group("black", 80, False, 0.55, (0.15, 0.15, 0.70), (("en", 0.70), ("ht", 0.30)), "en_US",
          (CDC_RACE, "2054-5")),
    Group("asian", 50, False, 0.58, (0.40, 0.35, 0.25), (("vi", 0.4), ("zh", 0.3), ("en", 0.3)),
          "vi_VN", (CDC_RACE, "2028-9")),
    Group("nhpi", 6, True, 0.5, (0.5, 0.5, 0.0), (("en", 1.0),), "en_US", (CDC_RACE, "2076-8")),
    # Non-answers away from Chelsea, whose feed also brings the demo EHR's patients
    # (no race sent): only Dorchester falls under the completeness threshold.
    Group("declined", 7, True, 0.57, (0.0, 0.5, 0.5), (("en", 1.0),), "en_US",
          (NULL_FLAVOR, "ASKU")),
    Group("unknown", 7, True, 0.57, (0.0, 0.5, 0.5), (("en", 1.0),), "en_US",
          (NULL_FLAVOR, "UNK")),
)  # fmt: skip
DEFAULT_COUNT = 700
RACE_TEXT = {
    "hispanic": "Other race", "white": "White", "black": "Black or African American",
    "asian": "Asian", "nhpi": "Native Hawaiian or Other Pacific Islander",
    "declined": "Asked but no answer", "unknown": "Unknown",
}  # fmt: skip


@dataclass(frozen=True)
class Navigation:
    """A navigation case the caller opens for the patient: on `opened_on`, and the FIT
    it led to on `screened_on` (None: never screened; the case closes unscreened)."""

    opened_on: dt.date
    screened_on: dt.date | None


@dataclass(frozen=True)
class PopulationPatient:
    patient_id: str  # the Patient's id in its clinic's feed
    group: str  # the race or ethnicity the story counts them in
    race_sent: bool  # False: the feed leaves their race and ethnicity out
    navigation: Navigation | None = None
    diabetes: DiabetesPlan | None = None  # its story: patients.demo_diabetes


@dataclass(frozen=True)
class PopulationBundle:
    """A transaction Bundle of up to `per_bundle` patients of one clinic's feed, each
    with its history (as an EHR's bulk export sends them)."""

    clinic: str  # the code of the clinic whose feed sends it
    payload: bytes
    patients: tuple[PopulationPatient, ...]


@dataclass
class _Person:
    index: int
    group: Group
    clinic: str
    race_sent: bool = True
    fits: list[dt.date] = field(default_factory=list)
    colonoscopy: dt.date | None = None
    navigation: Navigation | None = None


@dataclass(frozen=True)
class _Calendar:
    """The quarters the story is told over: their ends, oldest first."""

    ends: tuple[dt.date, ...]

    @property
    def last(self) -> dt.date:
        return self.ends[-1]

    def end(self, back: int) -> dt.date:
        """The end of the quarter `back` quarters before the last complete one."""
        return self.ends[-1 - back]


def story_quarter_ends(today: dt.date) -> tuple[dt.date, ...]:
    """The ends of the eight rolling quarters the story is told over, oldest first:
    the last complete quarter and the seven before it."""
    last = last_complete_quarter_end(today)
    return tuple(p.end for p in quarter_periods(add_months(last, -21), last))


def group_sizes(count: int) -> dict[str, int]:
    """Patients per group: the fixed groups as they are, the rest in proportion."""
    fixed = sum(int(g.size) for g in GROUPS if g.fixed)
    if count < fixed + 40:
        raise ValueError(f"The demo population needs at least {fixed + 40} patients.")
    shares = [g for g in GROUPS if not g.fixed]
    total = sum(g.size for g in shares)
    sizes = {g.key: round((count - fixed) * g.size / total) for g in shares}
    sizes[shares[0].key] += count - fixed - sum(sizes.values())
    return sizes | {g.key: int(g.size) for g in GROUPS if g.fixed}


def population_bundles(
    *,
    count: int = DEFAULT_COUNT,
    today: dt.date,
    seed: int = 2026,
    clinics: Sequence[str] = CLINICS,
    omitted_race_clinic: str = OMITTED_RACE_CLINIC,
    per_bundle: int = 50,
) -> list[PopulationBundle]:
    """`count` synthetic patients as FHIR transaction Bundles of up to `per_bundle`
    patients each, each bundle for the feed of one of `clinics` (three codes, in the
    order of `Group.clinics`)."""
    if len(clinics) != 3:
        raise ValueError("Name three clinics.")
    rng = random.Random(seed)  # noqa: S311 - synthetic demo data
    calendar = _Calendar(story_quarter_ends(today))
    people: list[_Person] = []
    for group in GROUPS:
        for _ in range(group_sizes(count)[group.key]):
            clinic = rng.choices(list(clinics), weights=group.clinics, k=1)[0]
            people.append(_Person(len(people), group, clinic))
    in_omitting = [p for p in people if p.clinic == omitted_race_clinic]
    rng.shuffle(in_omitting)
    for person in in_omitting[: round(OMITTED_RACE_SHARE * len(in_omitting))]:
        person.race_sent = False
    for group in GROUPS:
        for sent in (True, False):
            stratum = [p for p in people if p.group is group and p.race_sent is sent]
            _histories(stratum, rng, calendar, navigate=group.hispanic and sent)
    fakers: dict[str, Faker] = {}
    made: list[tuple[_Person, list[dict[str, Any]]]] = []
    for person in people:
        if person.group.locale not in fakers:
            fakers[person.group.locale] = Faker(person.group.locale)
            fakers[person.group.locale].seed_instance(seed + len(fakers))
        made.append((person, _entries(person, rng, fakers[person.group.locale], calendar)))
    # Diabetes and its labs (patients.demo_diabetes), drawn apart: the screening story
    # above is the same with or without it.
    plans = diabetes_plans(
        [(_feed_id(person), _cohort(person, own[0]["resource"])) for person, own in made],
        story=story_dates(calendar.ends, today),
        seed=seed + 122,
    )
    entries: dict[str, list[list[dict[str, Any]]]] = {code: [] for code in clinics}
    patients: dict[str, list[PopulationPatient]] = {code: [] for code in clinics}
    for person, own in made:
        plan = plans.get(_feed_id(person))
        if plan is not None:
            own.extend(_entry(_feed_id(person), f"dm{number}", resource)
                       for number, resource in enumerate(diabetes_resources(
                           plan, _feed_id(person), today)))  # fmt: skip
        entries[person.clinic].append(own)
        patients[person.clinic].append(
            PopulationPatient(
                _feed_id(person), person.group.key, person.race_sent, person.navigation, plan
            )
        )
    bundles = []
    for code in clinics:
        for start in range(0, len(entries[code]), per_bundle):
            bundle = {
                "resourceType": "Bundle",
                "type": "transaction",
                "entry": [e for some in entries[code][start : start + per_bundle] for e in some],
            }
            bundles.append(
                PopulationBundle(
                    code,
                    json.dumps(bundle).encode(),
                    tuple(patients[code][start : start + per_bundle]),
                )
            )
    return bundles


# --- Histories ----------------------------------------------------------------------------


def _between(rng: random.Random, first: dt.date, last: dt.date) -> dt.date:
    return first + dt.timedelta(days=rng.randint(0, max((last - first).days, 0)))


def _yearly_from(rng: random.Random, first: dt.date, until: dt.date) -> list[dt.date]:
    """A FIT on `first` and every 11-12 months after it, up to `until`: each twelve-month
    window from `first` on holds one."""
    dates = [first]
    while (following := dates[-1] + dt.timedelta(days=rng.randint(330, 365))) <= until:
        dates.append(following)
    return dates


def _yearly_until(rng: random.Random, last: dt.date, since: dt.date) -> list[dt.date]:
    """A FIT on `last` and every 11-12 months before it, back to before `since`."""
    dates = [last]
    while dates[-1] >= since:
        dates.append(dates[-1] - dt.timedelta(days=rng.randint(330, 365)))
    return sorted(dates)


def _histories(
    stratum: list[_Person], rng: random.Random, calendar: _Calendar, *, navigate: bool
) -> None:
    """Give a stratum its screening histories by exact quotas (see the module docstring)."""
    rng.shuffle(stratum)
    size = len(stratum)
    screened = round(stratum[0].group.screened * size) if stratum else 0
    navigated = (
        round((REFERENCE_RATE - LAST_GAP - FIRST_RATE) * size / NAVIGATED_SCREENED)
        if navigate
        else 0
    )
    navigated = min(navigated, size - screened)
    self_screened = round(SELF_SCREENED * (size - screened - navigated))
    lapsed = min(self_screened, screened // 3)
    steady = screened - lapsed
    first, last = calendar.end(7), calendar.last
    # A yearly history reaches back past the first quarter's window: each window holds one.
    history_since = add_months(first, -12) + dt.timedelta(days=1)
    # Changes happen from the quarter six back (navigation's first) to the last one.
    changes_from, changes_to = calendar.end(6) + dt.timedelta(days=1), calendar.end(1)
    for number, person in enumerate(stratum):
        if number < steady:
            if number < round(COLONOSCOPY_SHARE * steady):
                person.colonoscopy = last - dt.timedelta(days=rng.randint(3 * 365, 9 * 365))
            else:
                end = last - dt.timedelta(days=rng.randint(0, 300))
                person.fits = _yearly_until(rng, end, history_since)
        elif number < screened:
            # Screened yearly until a last FIT whose twelve months run out in between.
            lapse = _between(rng, changes_from, changes_to)
            person.fits = _yearly_until(rng, lapse - dt.timedelta(days=365), history_since)
        elif number < screened + navigated:
            person.navigation = _navigation(rng, number - screened, navigated, calendar)
            if person.navigation.screened_on is not None:
                person.fits = _yearly_from(rng, person.navigation.screened_on, last)
        elif number < screened + navigated + self_screened:
            person.fits = _yearly_from(rng, _between(rng, changes_from, changes_to), last)


def _navigation(rng: random.Random, number: int, navigated: int, calendar: _Calendar) -> Navigation:
    """The `number`th of `navigated` cases: opened from the sixth quarter back to the
    second, and screened within 180 days, later or never by the quotas."""
    opened = _between(rng, calendar.end(6) + dt.timedelta(days=1), calendar.end(2))
    if number < round(WITHIN_180 * navigated):
        days = rng.randint(14, 180)
    elif number < round((WITHIN_180 + LATER) * navigated):
        days = rng.randint(181, 300)
    else:
        return Navigation(opened, None)
    return Navigation(opened, min(opened + dt.timedelta(days=days), calendar.last))


# --- Bundles ------------------------------------------------------------------------------


def _coding(system: str, code: str, display: str) -> dict[str, Any]:
    return {"coding": [{"system": system, "code": code, "display": display}]}


def _extensions(group: Group) -> list[dict[str, Any]]:
    """US Core race and ethnicity, as an EHR sends them (ombCategory codes and text)."""
    race: list[dict[str, Any]] = []
    if group.race is not None:
        system, code = group.race
        race.append({"url": "ombCategory", "valueCoding": {"system": system, "code": code}})
    race.append({"url": "text", "valueString": RACE_TEXT[group.key]})
    ethnicity_code, ethnicity_text = (
        ("2135-2", "Hispanic or Latino") if group.hispanic else ("2186-5", "Not Hispanic or Latino")
    )
    return [
        {"url": US_CORE + "us-core-race", "extension": race},
        {
            "url": US_CORE + "us-core-ethnicity",
            "extension": [
                {
                    "url": "ombCategory",
                    "valueCoding": {"system": CDC_RACE, "code": ethnicity_code},
                },
                {"url": "text", "valueString": ethnicity_text},
            ],
        },
    ]


def _patient(person: _Person, rng: random.Random, faker: Faker, last: dt.date) -> dict[str, Any]:
    group = person.group
    sex = rng.choice(["female", "male"])
    age = rng.randint(50, 74)  # 49 to 74 on `last`: 46 to 75 at every quarter's end
    birth = dt.date(last.year - age, rng.randint(1, 12), rng.randint(1, 28))
    language = rng.choices(
        [code for code, _ in group.languages], weights=[w for _, w in group.languages], k=1
    )[0]
    resource: dict[str, Any] = {
        "resourceType": "Patient",
        "id": _feed_id(person),
        "identifier": [
            {
                "type": _coding("http://terminology.hl7.org/CodeSystem/v2-0203", "MR", "MRN"),
                "system": f"urn:equinav:demo-population:{person.clinic}:mrn",
                "value": f"{person.clinic[:3].upper()}4{person.index:05d}",
            }
        ],
        "name": [
            {
                "use": "official",
                "family": faker.last_name(),
                "given": [
                    faker.first_name_female() if sex == "female" else faker.first_name_male()
                ],
            }
        ],
        "gender": sex,
        "birthDate": birth.isoformat(),
        "telecom": [{"system": "phone", "value": f"+1781556{person.index:04d}", "use": "mobile"}],
        "communication": [
            {
                "language": {"coding": [{"system": "urn:ietf:bcp:47", "code": language}]},
                "preferred": True,
            }
        ],
    }
    if person.race_sent:
        resource["extension"] = _extensions(group)
    return resource


def _feed_id(person: _Person) -> str:
    return f"pop-{person.index:04d}"


def _cohort(person: _Person, patient: dict[str, Any]) -> str:
    """The diabetes story's cohort: Hispanic or Latino patients who prefer Spanish."""
    language = patient["communication"][0]["language"]["coding"][0]["code"]
    return SPANISH if person.group.hispanic and language == "es" else OTHER


def _entry(patient_id: str, suffix: str, resource: dict[str, Any]) -> dict[str, Any]:
    resource["id"] = f"{patient_id}-{suffix}"
    return {
        "resource": resource,
        "request": {"method": "PUT", "url": f"{resource['resourceType']}/{resource['id']}"},
    }


def _entries(
    person: _Person, rng: random.Random, faker: Faker, calendar: _Calendar
) -> list[dict[str, Any]]:
    """The patient's entries of a transaction Bundle: the Patient and its history."""
    patient_id = _feed_id(person)
    subject = {"reference": f"Patient/{patient_id}"}
    resources: list[dict[str, Any]] = [_patient(person, rng, faker, calendar.last)]
    # A yearly office visit 365 days apart: every twelve-month window holds one.
    visit = calendar.last - dt.timedelta(days=rng.randint(5, 120))
    while visit >= add_months(calendar.end(7), -12):
        iso = visit.isoformat()
        resources.append(
            {
                "resourceType": "Encounter",
                "status": "finished",
                "class": {
                    "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
                    "code": "AMB",
                },
                "type": [_coding("http://www.ama-assn.org/go/cpt", "99213", "Office visit")],
                "period": {"start": f"{iso}T14:00:00Z", "end": f"{iso}T14:30:00Z"},
                "subject": subject,
            }
        )
        visit -= dt.timedelta(days=365)
    for day in person.fits:
        resources.append(
            {
                "resourceType": "Observation",
                "status": "final",
                "category": [LAB],
                "code": _coding("http://loinc.org", "29771-3", "FIT hemoglobin in stool"),
                "effectiveDateTime": day.isoformat(),
                "valueCodeableConcept": NEGATIVE,
                "subject": subject,
            }
        )
    if person.colonoscopy is not None:
        resources.append(
            {
                "resourceType": "Procedure",
                "status": "completed",
                "code": _coding("http://www.ama-assn.org/go/cpt", "45378", "Colonoscopy"),
                "performedDateTime": person.colonoscopy.isoformat(),
                "subject": subject,
            }
        )
    return [
        _entry(patient_id, str(number), resource)
        if resource["resourceType"] != "Patient"
        else {"resource": resource, "request": {"method": "PUT", "url": f"Patient/{patient_id}"}}
        for number, resource in enumerate(resources)
    ]
