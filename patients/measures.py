"""CMS130, CMS125 and CMS124 (2025, QI-Core 4.1.1), computed from stored FHIR data.

Each definition below follows the measure's CQL (its libraries: Status,
QICoreCommon, Hospice, PalliativeCare, AdvancedIllnessandFrailty,
AdultOutpatientEncounters) statement by statement; the CQL name is quoted in
each docstring so the two can be read side by side. Value sets come from the
database (`load_valuesets`); where one is not loaded, the concept's built-in
starter codes stand in and the report says so.

Population rules (proportion measures, as fqm-execution applies them): the
denominator is the initial population; a patient in the denominator exclusion
is never in the numerator, whatever the numerator's criteria say.

Date and time comparisons follow CQL and cql-execution (see patients.temporal):
`... day of` compares calendar days as written, without time-zone conversion;
comparisons without `day of` are to the millisecond, offsets normalised; a
partial date that cannot be placed is unknown, and only a certain `true`
counts.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import cast

from patients.builtin_codes import LOINC, SNOMED, vsac
from patients.fhirdata import (
    Code,
    PatientRecord,
    Resource,
    authored_interval,
    choice_interval,
    concept_in,
    concept_is,
    device_do_not_perform,
    first_code_display,
    has_category,
    has_value,
    medication_request_period,
    period_interval,
    prevalence_interval_or_null,
    retrieve,
    status,
)
from patients.temporal import (
    UTC,
    Interval,
    Point,
    Truth,
    age_in_years,
    age_range_at,
    all_of,
    before_or_same,
    period_of,
    point_during,
    point_from_datetime,
)

POPULATIONS = ("initial-population", "denominator", "denominator-exclusion", "numerator")


# --- Terminology ---------------------------------------------------------------------


class Terminology:
    """Codes per value set URL, noting which were asked for and which stood in."""

    def __init__(
        self,
        codes_by_url: dict[str, frozenset[Code]],
        *,
        starter_urls: frozenset[str] = frozenset(),
    ) -> None:
        self._codes = codes_by_url
        self._starter_urls = starter_urls
        self.used: set[str] = set()
        self.missing: set[str] = set()

    def __getitem__(self, url: str) -> frozenset[Code]:
        self.used.add(url)
        codes = self._codes.get(url)
        if codes is None:
            self.missing.add(url)
            return frozenset()
        return codes

    @property
    def starter_used(self) -> set[str]:
        """Value sets that were not loaded, whose built-in starter codes were used."""
        return (self.used & self._starter_urls) | self.missing


# --- Evaluation context ----------------------------------------------------------------


@dataclass
class Context:
    patient: PatientRecord
    period: Interval
    period_start: dt.date
    period_end: dt.date
    terminology: Terminology
    evidence: list[str] = field(default_factory=list)

    @property
    def age_at_end(self) -> int:
        """AgeInYearsAt(date from end of "Measurement Period")."""
        return age_in_years(self.patient.birth_date, self.period_end)

    def vs(self, oid: str) -> frozenset[Code]:
        return self.terminology[vsac(oid)]

    def of_type(self, resource_type: str, oid: str) -> list[Resource]:
        """`[Type: "Value Set"]`. Like cql-execution, a MedicationRequest's
        medicationReference is not followed: only medicationCodeableConcept matches."""
        return retrieve(self.patient.of_type(resource_type), self.vs(oid), follow_references=False)

    def with_code(self, resource_type: str, system: str, code: str) -> list[Resource]:
        return [
            r
            for r in self.patient.of_type(resource_type)
            if concept_is(r.get("code"), system, code)
        ]

    def back(self, years: int) -> Interval:
        """Interval[start of "Measurement Period" - N years, end of "Measurement Period"]."""
        return Interval(self.start.plus(years=-years), self.end)

    @property
    def start(self) -> Point:
        # A measurement period always has both ends (temporal.period_of).
        return cast(Point, self.period.start)

    @property
    def end(self) -> Point:
        return cast(Point, self.period.end)

    def found(self, label: str, resource: Resource) -> bool:
        """Record the resource that made a criterion true, for the explanation."""
        self.evidence.append(
            f"{label}: {resource.get('resourceType')}/{resource.get('id', '?')} "
            f"({first_code_display(resource)})"
        )
        return True

    def performed(self, resource: Resource) -> Interval | None:
        return choice_interval(resource, "performed", self.patient.birth_date)

    def effective(self, resource: Resource) -> Interval | None:
        return choice_interval(resource, "effective", self.patient.birth_date)

    def prevalence(self, condition: Resource) -> Interval | None:
        """QICoreCommon.prevalenceInterval(): null for an inactive condition with no
        abatement end (see fhirdata.prevalence_interval_or_null)."""
        return prevalence_interval_or_null(condition, self.patient.birth_date)


def _true(value: Truth) -> bool:
    return value is True


def _exists(ctx: Context, label: str, items: Iterable[Resource], test: Callable) -> bool:
    for item in items:
        if _true(test(item)):
            return ctx.found(label, item)
    return False


def _latest(interval: Interval | None) -> Point | None:
    return interval.latest() if interval is not None else None


# --- Status (1.8.000) ------------------------------------------------------------------

PERFORMED_ENCOUNTER = {"finished", "arrived", "triaged", "in-progress", "onleave"}
RESULTED = {"final", "amended", "corrected"}


def encounter_performed(items: list[Resource]) -> list[Resource]:
    return [e for e in items if status(e) in PERFORMED_ENCOUNTER]


def procedure_performed(items: list[Resource]) -> list[Resource]:
    """isProcedurePerformed / isInterventionPerformed: status ~ 'completed'."""
    return [p for p in items if status(p).lower() == "completed"]


def laboratory_test_performed(items: list[Resource]) -> list[Resource]:
    return [o for o in items if status(o) in RESULTED and has_category(o, "laboratory")]


def diagnostic_study_performed(items: list[Resource]) -> list[Resource]:
    return [o for o in items if status(o) in RESULTED]


def assessment_performed(items: list[Resource]) -> list[Resource]:
    return [o for o in items if status(o) in RESULTED and has_category(o, "survey")]


def symptom(items: list[Resource]) -> list[Resource]:
    return [o for o in items if status(o) in RESULTED | {"preliminary"}]


def order(items: list[Resource]) -> list[Resource]:
    """isDeviceOrder / isInterventionOrder: active or completed orders."""
    return [r for r in items if status(r) in {"active", "completed"} and r.get("intent") == "order"]


def medication_active(items: list[Resource]) -> list[Resource]:
    return [r for r in items if status(r) == "active" and r.get("intent") == "order"]


# --- AdultOutpatientEncounters (4.11.000) ------------------------------------------------

QUALIFYING_VISITS = {
    "Office Visit": "2.16.840.1.113883.3.464.1003.101.12.1001",
    "Annual Wellness Visit": "2.16.840.1.113883.3.526.3.1240",
    "Preventive Care Services Established Office Visit, 18 and Up": (
        "2.16.840.1.113883.3.464.1003.101.12.1025"
    ),
    "Preventive Care Services Initial Office Visit, 18 and Up": (
        "2.16.840.1.113883.3.464.1003.101.12.1023"
    ),
    "Home Healthcare Services": "2.16.840.1.113883.3.464.1003.101.12.1016",
    "Virtual Encounter": "2.16.840.1.113883.3.464.1003.101.12.1089",
    "Telephone Visits": "2.16.840.1.113883.3.464.1003.101.12.1080",
}


def has_qualifying_encounter(ctx: Context, visit_sets: Iterable[str]) -> bool:
    """ "Qualifying Encounters": a performed visit during the measurement period."""
    codes = frozenset().union(*(ctx.vs(QUALIFYING_VISITS[name]) for name in visit_sets))
    encounters = encounter_performed(retrieve(ctx.patient.of_type("Encounter"), codes))

    def during(encounter: Resource) -> Truth:
        interval = period_interval(encounter.get("period"))
        return interval.during(ctx.period) if interval else None

    return _exists(ctx, "Qualifying encounter", encounters, during)


# --- Hospice (6.12.000) ------------------------------------------------------------------


def has_hospice_services(ctx: Context) -> bool:
    """Hospice."Has Hospice Services"."""

    def discharged_to_hospice(encounter: Resource) -> Truth:
        disposition = (encounter.get("hospitalization") or {}).get("dischargeDisposition")
        if not (
            concept_is(disposition, SNOMED, "428361000124107")
            or concept_is(disposition, SNOMED, "428371000124100")
        ):
            return False
        interval = period_interval(encounter.get("period"))
        return interval.ends_during(ctx.period) if interval else None

    def encounter_overlaps(encounter: Resource) -> Truth:
        interval = period_interval(encounter.get("period"))
        return interval.overlaps(ctx.period) if interval else None

    def assessment_yes(observation: Resource) -> Truth:
        if not concept_is(observation.get("valueCodeableConcept"), SNOMED, "373066001"):
            return False
        interval = ctx.effective(observation)
        return interval.overlaps(ctx.period) if interval else None

    def ordered(request: Resource) -> Truth:
        interval = authored_interval(request)
        return interval.during(ctx.period) if interval else None

    def performed_overlaps(procedure: Resource) -> Truth:
        interval = ctx.performed(procedure)
        return interval.overlaps(ctx.period) if interval else None

    def diagnosis_overlaps(condition: Resource) -> Truth:
        return _overlaps(ctx.prevalence(condition), ctx.period)

    hospice_care = "2.16.840.1.113883.3.526.3.1584"
    return (
        _exists(
            ctx,
            "Discharged to hospice",
            encounter_performed(ctx.of_type("Encounter", "2.16.840.1.113883.3.666.5.307")),
            discharged_to_hospice,
        )
        or _exists(
            ctx,
            "Hospice encounter",
            encounter_performed(ctx.of_type("Encounter", "2.16.840.1.113883.3.464.1003.1003")),
            encounter_overlaps,
        )
        or _exists(
            ctx,
            "Hospice assessment",
            assessment_performed(ctx.with_code("Observation", LOINC, "45755-6")),
            assessment_yes,
        )
        or _exists(
            ctx, "Hospice order", order(ctx.of_type("ServiceRequest", hospice_care)), ordered
        )
        or _exists(
            ctx,
            "Hospice care",
            procedure_performed(ctx.of_type("Procedure", hospice_care)),
            performed_overlaps,
        )
        or _exists(
            ctx,
            "Hospice diagnosis",
            ctx.of_type("Condition", "2.16.840.1.113883.3.464.1003.1165"),
            diagnosis_overlaps,
        )
    )


# --- PalliativeCare (1.11.000) --------------------------------------------------------------


def _overlaps(interval: Interval | None, window: Interval) -> Truth:
    """`interval overlaps day of window`; a null interval is unknown."""
    return interval.overlaps(window) if interval is not None else None


def _starts_on_or_before(interval: Interval | None, point: Point, *, by_day: bool) -> Truth:
    """`interval starts on or before [day of] point`: SameOrBefore(Start(interval), point)."""
    return before_or_same(interval.start, point, by_day=by_day) if interval is not None else None


def has_palliative_care(ctx: Context) -> bool:
    """PalliativeCare."Has Palliative Care in the Measurement Period"."""

    def overlaps(interval: Interval | None) -> Truth:
        return _overlaps(interval, ctx.period)

    return (
        _exists(
            ctx,
            "Palliative care assessment",
            assessment_performed(ctx.with_code("Observation", LOINC, "71007-9")),
            lambda o: overlaps(ctx.effective(o)),
        )
        or _exists(
            ctx,
            "Palliative care diagnosis",
            ctx.of_type("Condition", "2.16.840.1.113883.3.464.1003.1167"),
            lambda c: overlaps(ctx.prevalence(c)),
        )
        or _exists(
            ctx,
            "Palliative care encounter",
            encounter_performed(
                ctx.of_type("Encounter", "2.16.840.1.113883.3.464.1003.101.12.1090")
            ),
            lambda e: overlaps(period_interval(e.get("period"))),
        )
        or _exists(
            ctx,
            "Palliative care intervention",
            procedure_performed(
                ctx.of_type("Procedure", "2.16.840.1.113883.3.464.1003.198.12.1135")
            ),
            lambda p: overlaps(ctx.performed(p)),
        )
    )


# --- AdvancedIllnessandFrailty (1.16.000) ------------------------------------------------------

FRAILTY_DEVICE = "2.16.840.1.113883.3.464.1003.118.12.1300"


def has_frailty(ctx: Context) -> bool:
    """ "Has Criteria Indicating Frailty"."""

    def device_ordered(request: Resource) -> Truth:
        # `FrailtyDeviceOrder.doNotPerform() is not true`: absent, false or a
        # misspelt extension URL all leave the order counting.
        if device_do_not_perform(request) is True:
            return False
        interval = authored_interval(request)
        return interval.during(ctx.period) if interval else None

    def equipment_used(observation: Resource) -> Truth:
        if not concept_in(observation.get("valueCodeableConcept"), ctx.vs(FRAILTY_DEVICE)):
            return False
        interval = ctx.effective(observation)
        return interval.ends_during(ctx.period) if interval else None

    def overlaps(interval: Interval | None) -> Truth:
        return _overlaps(interval, ctx.period)

    return (
        _exists(
            ctx,
            "Frailty device ordered",
            order(ctx.of_type("DeviceRequest", FRAILTY_DEVICE)),
            device_ordered,
        )
        or _exists(
            ctx,
            "Frailty device used",
            assessment_performed(ctx.with_code("Observation", LOINC, "98181-1")),
            equipment_used,
        )
        or _exists(
            ctx,
            "Frailty diagnosis",
            ctx.of_type("Condition", "2.16.840.1.113883.3.464.1003.113.12.1074"),
            lambda c: overlaps(ctx.prevalence(c)),
        )
        or _exists(
            ctx,
            "Frailty encounter",
            encounter_performed(
                ctx.of_type("Encounter", "2.16.840.1.113883.3.464.1003.101.12.1088")
            ),
            lambda e: overlaps(period_interval(e.get("period"))),
        )
        or _exists(
            ctx,
            "Frailty symptom",
            symptom(ctx.of_type("Observation", "2.16.840.1.113883.3.464.1003.113.12.1075")),
            lambda o: overlaps(ctx.effective(o)),
        )
    )


def has_advanced_illness_or_dementia_medication(ctx: Context) -> bool:
    """ "Has Advanced Illness ..." or "Has Dementia Medications in Year Before or During ..."."""
    window = ctx.back(1)

    def starts_in_window(condition: Resource) -> Truth:
        # `prevalenceInterval() starts during day of Interval[start - 1 year, end]`:
        # an active condition with no onset starts at the start of time, so never.
        interval = ctx.prevalence(condition)
        return interval.starts_during(window) if interval is not None else None

    return _exists(
        ctx,
        "Advanced illness",
        ctx.of_type("Condition", "2.16.840.1.113883.3.464.1003.110.12.1082"),
        starts_in_window,
    ) or _exists(
        ctx,
        "Dementia medication",
        medication_active(
            ctx.of_type("MedicationRequest", "2.16.840.1.113883.3.464.1003.196.12.1510")
        ),
        lambda m: _overlaps(medication_request_period(m), window),
    )


def is_66_or_older_with_advanced_illness_and_frailty(ctx: Context) -> bool:
    return (
        ctx.age_at_end >= 66
        and has_frailty(ctx)
        and has_advanced_illness_or_dementia_medication(ctx)
    )


Keyed = list[tuple[Point | None, Resource]]


def _sort_ascending(items: Keyed) -> list[Resource]:
    """cql-execution's `sort by <expression> asc` (ByExpression in asyncMergeSort).

    Nulls come first. Two DateTimes are compared with JavaScript's `<`, which
    compares their text (DateTime.toString(): as written, in its own offset,
    at its own precision), and a tie is never 0: the right-hand one is put
    first, so equal values come out in reverse order and `Last` picks the
    first one listed.
    """

    def compare(a: Point | None, b: Point | None) -> int:
        if a is None and b is None:
            return 0
        if a is None or b is None:
            return -1 if a is None else 1
        return -1 if a.iso() < b.iso() else 1

    def merge_sort(pairs: Keyed) -> Keyed:
        if len(pairs) <= 1:
            return pairs
        middle = len(pairs) // 2
        left, right = merge_sort(pairs[:middle]), merge_sort(pairs[middle:])
        merged = []
        while left and right:
            if compare(left[0][0], right[0][0]) <= 0:
                merged.append(left.pop(0))
            else:
                merged.append(right.pop(0))
        return merged + left + right

    return [resource for _, resource in merge_sort(items)]


def is_66_or_older_living_in_nursing_home(ctx: Context) -> bool:
    """ "Is Age 66 or Older Living Long Term in a Nursing Home":

    Last(housing-status assessments (isAssessmentPerformed) whose
    effective.toInterval() ends on or before day of end of "Measurement Period",
    sort by end of effective.toInterval() asc), whose value ~ "Lives in a
    nursing home". Only the last assessment counts: a later "lives at home"
    undoes an earlier nursing home.
    """
    if ctx.age_at_end < 66:
        return False
    assessments: Keyed = []
    for observation in assessment_performed(ctx.with_code("Observation", LOINC, "71802-3")):
        interval = ctx.effective(observation)
        end = interval.end if interval is not None else None
        if _true(before_or_same(end, ctx.end)):
            assessments.append((end, observation))
    if not assessments:
        return False
    last = _sort_ascending(assessments)[-1]
    if concept_is(last.get("valueCodeableConcept"), SNOMED, "160734000"):
        return ctx.found("Lives in a nursing home", last)
    return False


# --- The measures -------------------------------------------------------------------------------


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


def _cms130_initial_population(ctx: Context) -> bool:
    return 46 <= ctx.age_at_end <= 75 and has_qualifying_encounter(ctx, QUALIFYING_VISITS)


def _cms130_exclusion(ctx: Context) -> bool:
    return (
        has_hospice_services(ctx)
        or _exists(
            ctx,
            "Colorectal cancer",
            ctx.of_type("Condition", "2.16.840.1.113883.3.464.1003.108.12.1001"),
            # "Malignant Neoplasm": prevalenceInterval() starts on or before day of end of MP
            lambda c: _starts_on_or_before(ctx.prevalence(c), ctx.end, by_day=True),
        )
        or _exists(
            ctx,
            "Total colectomy",
            procedure_performed(
                ctx.of_type("Procedure", "2.16.840.1.113883.3.464.1003.198.12.1019")
            ),
            lambda p: _ends_on_or_before(ctx.performed(p), ctx.end, by_day=True),
        )
        or is_66_or_older_with_advanced_illness_and_frailty(ctx)
        or is_66_or_older_living_in_nursing_home(ctx)
        or has_palliative_care(ctx)
    )


def _ends_on_or_before(interval: Interval | None, point: Point, *, by_day: bool) -> Truth:
    return before_or_same(interval.end, point, by_day=by_day) if interval else None


def _lab_result_latest_during(ctx: Context, label: str, oid: str, window: Interval) -> bool:
    return _exists(
        ctx,
        label,
        laboratory_test_performed(ctx.of_type("Observation", oid)),
        lambda o: has_value(o) and point_during(_latest(ctx.effective(o)), window),
    )


def _cms130_numerator(ctx: Context) -> bool:
    return (
        _lab_result_latest_during(
            ctx, "Fecal occult blood test", "2.16.840.1.113883.3.464.1003.198.12.1011", ctx.period
        )
        or _lab_result_latest_during(
            ctx, "Stool DNA with FIT", "2.16.840.1.113883.3.464.1003.108.12.1039", ctx.back(2)
        )
        or _exists(
            ctx,
            "Flexible sigmoidoscopy",
            procedure_performed(
                ctx.of_type("Procedure", "2.16.840.1.113883.3.464.1003.198.12.1010")
            ),
            lambda p: _ends_during(ctx.performed(p), ctx.back(4)),
        )
        or _exists(
            ctx,
            "CT colonography",
            diagnostic_study_performed(
                ctx.of_type("Observation", "2.16.840.1.113883.3.464.1003.108.12.1038")
            ),
            lambda o: _ends_during(ctx.effective(o), ctx.back(4)),
        )
        or _exists(
            ctx,
            "Colonoscopy",
            procedure_performed(
                ctx.of_type("Procedure", "2.16.840.1.113883.3.464.1003.108.12.1020")
            ),
            lambda p: _ends_during(ctx.performed(p), ctx.back(9)),
        )
    )


def _ends_during(interval: Interval | None, window: Interval) -> Truth:
    return interval.ends_during(window) if interval else None


def _cms125_initial_population(ctx: Context) -> bool:
    return (
        52 <= ctx.age_at_end <= 74
        and ctx.patient.gender == "female"
        and has_qualifying_encounter(ctx, QUALIFYING_VISITS)
    )


LEFT = (SNOMED, "7771000")
RIGHT = (SNOMED, "24028007")


def _mastectomy_side(ctx: Context, side: Code) -> bool:
    """ "Right/Left Mastectomy Diagnosis" or "... Procedure"."""
    if side == RIGHT:
        status_post, procedure = "198.12.1070", "198.12.1134"
    else:
        status_post, procedure = "198.12.1069", "198.12.1133"
    prefix = "2.16.840.1.113883.3.464.1003."
    unspecified = [
        c
        for c in ctx.of_type("Condition", prefix + "198.12.1071")
        if any(concept_is(site, *side) for site in c.get("bodySite") or [])
    ]
    diagnoses = ctx.of_type("Condition", prefix + status_post) + unspecified
    label = "Right" if side == RIGHT else "Left"
    return _exists(
        ctx,
        f"{label} mastectomy",
        diagnoses,
        # `prevalenceInterval() starts on or before end of "Measurement Period"`
        # has no `day of`: to the millisecond, offsets normalised.
        lambda c: _starts_on_or_before(ctx.prevalence(c), ctx.end, by_day=False),
    ) or _exists(
        ctx,
        f"{label} mastectomy",
        procedure_performed(ctx.of_type("Procedure", prefix + procedure)),
        lambda p: _ends_on_or_before(ctx.performed(p), ctx.end, by_day=False),
    )


def _cms125_exclusion(ctx: Context) -> bool:
    prefix = "2.16.840.1.113883.3.464.1003."
    return (
        has_hospice_services(ctx)
        or (_mastectomy_side(ctx, RIGHT) and _mastectomy_side(ctx, LEFT))
        or _exists(
            ctx,
            "History of bilateral mastectomy",
            ctx.of_type("Condition", prefix + "198.12.1068"),
            lambda c: _starts_on_or_before(ctx.prevalence(c), ctx.end, by_day=False),
        )
        or _exists(
            ctx,
            "Bilateral mastectomy",
            procedure_performed(ctx.of_type("Procedure", prefix + "198.12.1005")),
            lambda p: _ends_on_or_before(ctx.performed(p), ctx.end, by_day=False),
        )
        or is_66_or_older_with_advanced_illness_and_frailty(ctx)
        or is_66_or_older_living_in_nursing_home(ctx)
        or has_palliative_care(ctx)
    )


def _cms125_numerator(ctx: Context) -> bool:
    """A mammogram ending between 1 October two years before the period and its end.

    "October 1 Two Years Prior to the Measurement Period":
    DateTime((year from start of "Measurement Period" - 2), 10, 1, 0, 0, 0, 0, 0)
    (offset 0); `ends during day of` compares the mammogram's end day as written.
    """
    october = point_from_datetime(dt.datetime(ctx.period_start.year - 2, 10, 1, tzinfo=UTC))
    window = Interval(october, ctx.end)
    return _exists(
        ctx,
        "Mammogram",
        diagnostic_study_performed(
            ctx.of_type("Observation", "2.16.840.1.113883.3.464.1003.108.12.1018")
        ),
        lambda o: _ends_during(ctx.effective(o), window),
    )


CERVICAL_VISITS = [
    "Office Visit",
    "Preventive Care Services Established Office Visit, 18 and Up",
    "Preventive Care Services Initial Office Visit, 18 and Up",
    "Home Healthcare Services",
    "Telephone Visits",
    "Virtual Encounter",
]


def _cms124_initial_population(ctx: Context) -> bool:
    return (
        24 <= ctx.age_at_end <= 64
        and ctx.patient.gender == "female"
        and has_qualifying_encounter(ctx, CERVICAL_VISITS)
    )


def _cms124_exclusion(ctx: Context) -> bool:
    prefix = "2.16.840.1.113883.3.464.1003."
    return (
        has_hospice_services(ctx)
        or _exists(
            ctx,
            "Hysterectomy with no residual cervix",
            procedure_performed(ctx.of_type("Procedure", prefix + "198.12.1014")),
            lambda p: _ends_on_or_before(ctx.performed(p), ctx.end, by_day=False),
        )
        or _exists(
            ctx,
            "Absence of cervix",
            ctx.of_type("Condition", prefix + "111.12.1016"),
            lambda c: _starts_on_or_before(ctx.prevalence(c), ctx.end, by_day=False),
        )
        or has_palliative_care(ctx)
    )


def _cms124_numerator(ctx: Context) -> bool:
    prefix = "2.16.840.1.113883.3.464.1003."

    def hpv_at_30_or_older(observation: Resource) -> Truth:
        """ "HPV Test Within 5 Years for Women Age 30 and Older":
        AgeInYearsAt(date from HPVTest.effective.latest()) >= 30
          and HPVTest.effective.latest() during day of Interval[start - 4 years, end]
          and HPVTest.value is not null

        `date from` takes the day as written; a partial date gives a range of
        ages, unknown when it straddles 30.
        """
        latest = _latest(ctx.effective(observation))
        if latest is None:
            return None
        youngest, oldest = age_range_at(ctx.patient.birth_date, latest)
        old_enough: Truth = True if youngest >= 30 else False if oldest < 30 else None
        return all_of(old_enough, point_during(latest, ctx.back(4)), has_value(observation))

    return _lab_result_latest_during(
        ctx, "Cervical cytology", prefix + "108.12.1017", ctx.back(2)
    ) or _exists(
        ctx,
        "HPV test",
        laboratory_test_performed(ctx.of_type("Observation", prefix + "110.12.1059")),
        hpv_at_30_or_older,
    )


MEASURES: dict[str, Measure] = {
    "CMS130": Measure(
        "CMS130",
        "Colorectal Cancer Screening",
        "ColonCancerScreeningFHIR",
        "colorectal",
        _cms130_initial_population,
        _cms130_exclusion,
        _cms130_numerator,
    ),
    "CMS125": Measure(
        "CMS125",
        "Breast Cancer Screening",
        "BreastCancerScreeningFHIR",
        "breast",
        _cms125_initial_population,
        _cms125_exclusion,
        _cms125_numerator,
    ),
    "CMS124": Measure(
        "CMS124",
        "Cervical Cancer Screening",
        "CervicalCancerScreeningFHIR",
        "cervical",
        _cms124_initial_population,
        _cms124_exclusion,
        _cms124_numerator,
    ),
}
