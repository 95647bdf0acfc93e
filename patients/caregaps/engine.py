"""Who is due for which screening, as of a day, and why: the care-gap engine.

The rules are data: a program's age range, sex, smoking history, modalities
with their intervals and concepts, and exclusions (see
`patients.selectors.program_rules_snapshot`). This module only evaluates them;
it reads no database itself, so that a whole batch of patients is evaluated
with a fixed number of queries (loaded by `patients.services.care_gaps.care_gaps_recompute`).

Every modality counts: the patient is up to date while any test's interval
still runs. Evidence is the navigators' recorded screenings and the FHIR
resources from EHR feeds whose codes belong to a modality's concept.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from patients.caregaps.control import (
    ControlRules,
    Reading,
    evaluate_control,
    lab_readings,
    prepare_control,
)
from patients.caregaps.dates import add_months, add_years, age_in_years
from patients.caregaps.fhirdata import (
    ORDERED,
    PERFORMED_ENCOUNTER,
    RESULTED,
    Code,
    Resource,
    authored_interval,
    choice_interval,
    codings,
    device_do_not_perform,
    first_code_display,
    has_value,
    period_interval,
    prevalence_interval,
    primary_code,
    status,
)
from patients.caregaps.medication_period import medication_request_period
from patients.caregaps.temporal import Interval


@dataclass(frozen=True)
class RecordedScreening:
    modality_code: str
    performed_on: dt.date
    result: str
    from_ehr: bool = False


@dataclass
class PatientFacts:
    pk: int
    birth_date: dt.date
    sex: str
    smoking_status: str
    smoking_pack_years: int | None
    deceased: bool
    # The patient's `clinical_data_changed_at` as read with these facts: what the care-gap
    # stamp records (CareGapStamp.data_changed_at_seen).
    data_changed_at: dt.datetime | None = None
    screenings: list[RecordedScreening] = field(default_factory=list)
    resources: list[tuple[int, Resource]] = field(
        default_factory=list
    )  # (ClinicalResource pk, json)
    # What the engine reads of each resource, worked out once per patient rather than
    # once per program and concept (see `_evidence_of`).
    _evidence: list[_Evidence] | None = field(default=None, repr=False, compare=False)


@dataclass
class GapResult:
    status: str
    summary: str
    reasons: list[str]
    evidence: list[dict[str, Any]] = field(default_factory=list)
    last_screening_on: dt.date | None = None
    last_modality_code: str | None = None
    last_screening_resource_pk: int | None = None
    next_due_on: dt.date | None = None
    overdue_since: dt.date | None = None
    recheck_on: dt.date | None = None


def _birthday(birth_date: dt.date, age: int) -> dt.date:
    return add_years(birth_date, age)


def _resource_span(resource: Resource, birth_date: dt.date) -> Interval | None:
    """When a resource happened, whatever its type."""
    resource_type = resource.get("resourceType")
    if resource_type == "Encounter":
        return period_interval(resource.get("period"))
    if resource_type == "Procedure":
        return choice_interval(resource, "performed", birth_date)
    if resource_type == "Observation":
        return choice_interval(resource, "effective", birth_date)
    if resource_type == "Condition":
        return prevalence_interval(resource, birth_date)
    if resource_type == "MedicationRequest":
        return medication_request_period(resource) or authored_interval(resource)
    if resource_type in {"ServiceRequest", "DeviceRequest"}:
        return authored_interval(resource)
    return None


def _counts(resource: Resource) -> bool:
    """Whether a resource's status says it happened (or, for an order, stands)."""
    resource_type = resource.get("resourceType")
    state = status(resource)
    if resource_type == "Encounter":
        return state in PERFORMED_ENCOUNTER
    if resource_type == "Procedure":
        return state == "completed"
    if resource_type == "Observation":
        return state in RESULTED
    if resource_type == "Condition":
        verification = resource.get("verificationStatus") or {}
        refuted = any(
            c.get("code") in {"refuted", "entered-in-error"}
            for c in verification.get("coding") or []
        )
        return not refuted
    if resource_type in {"ServiceRequest", "DeviceRequest"}:
        if resource.get("doNotPerform") is True or device_do_not_perform(resource) is True:
            return False
        return state in ORDERED and resource.get("intent") == "order"
    if resource_type == "MedicationRequest":
        return state in ORDERED and resource.get("doNotPerform") is not True
    return False


class _Evidence:
    """One resource as the engine reads it: its codes (as sets, so matching a concept
    is one set intersection), and whether it counts and when it happened, each worked
    out on first use (a resource matching no concept is never asked)."""

    __slots__ = ("_counts", "_span", "birth_date", "codes", "pk", "resource", "resource_type")

    _UNSET: Any = object()

    def __init__(self, pk: int, resource: Resource, birth_date: dt.date) -> None:
        self.pk = pk
        self.resource = resource
        self.birth_date = birth_date
        self.resource_type = resource.get("resourceType")
        self.codes = frozenset(codings(primary_code(resource)))
        self._counts: bool | None = None
        self._span: Any = self._UNSET

    def matches(self, codes: frozenset[Code]) -> bool:
        if not self.codes.isdisjoint(codes):
            return True
        # An assessment answered with the concept (“Housing status: lives in a nursing
        # home”). Read only for observations, as before: the value is rarely asked.
        return self.resource_type == "Observation" and any(
            code in codes for code in codings(self.resource.get("valueCodeableConcept"))
        )

    def counts(self) -> bool:
        if self._counts is None:
            self._counts = _counts(self.resource)
        return self._counts

    def span(self) -> Interval | None:
        if self._span is self._UNSET:
            self._span = _resource_span(self.resource, self.birth_date)
        return self._span


def _evidence_of(facts: PatientFacts) -> list[_Evidence]:
    """The patient's resources as the engine reads them, built on the first program
    evaluated and kept on the facts for the others."""
    if facts._evidence is None or len(facts._evidence) != len(facts.resources):
        facts._evidence = [
            _Evidence(pk, resource, facts.birth_date) for pk, resource in facts.resources
        ]
    return facts._evidence


def lab_readings_of(
    *, resources: list[tuple[int, Resource]], birth_date: dt.date, codes: frozenset[Code]
) -> list[Reading]:
    """A patient's lab readings of these codes, oldest first, read exactly as a control
    programme's gap reads them (the case page's trend draws these)."""
    return lab_readings([_Evidence(pk, r, birth_date) for pk, r in resources], codes)


def _day_span(span: Interval | None) -> tuple[dt.date | None, dt.date | None]:
    if span is None:
        return None, None
    start, end = span.start, span.end
    first = start.lo.date() if start is not None and span.has_start else None
    last = end.hi.date() if end is not None and span.has_end else None
    return first, last


def _evidence_row(pk: int, resource: Resource, label: str, day: dt.date | None) -> dict[str, Any]:
    return {
        "resource": f"{resource.get('resourceType')}/{resource.get('id', pk)}",
        "clinical_resource": pk,
        "what": label,
        "display": first_code_display(resource),
        "date": day.isoformat() if day else None,
    }


def _exclusion_evidence(
    facts: PatientFacts,
    codes: frozenset[Code],
    label: str,
    as_of: dt.date,
    lookback_months: int | None,
) -> tuple[dict[str, Any], dt.date | None] | None:
    """Evidence of one concept by `as_of`, and the day it stops counting (None: never)."""
    window_start = add_months(as_of, -lookback_months) if lookback_months else None
    best: tuple[dict[str, Any], dt.date | None] | None = None
    for item in _evidence_of(facts):
        if not item.matches(codes) or not item.counts():
            continue
        pk, resource = item.pk, item.resource
        first, last = _day_span(item.span())
        if first is not None and first > as_of:
            continue  # not yet
        if resource.get("resourceType") == "Condition" or first is None:
            ongoing_until = last  # None: still going on
        else:
            ongoing_until = last or first
        if window_start is not None and ongoing_until is not None and ongoing_until < window_start:
            continue  # too long ago
        if window_start is None or ongoing_until is None:
            expires = None
        else:
            expires = add_months(ongoing_until, lookback_months or 0) + dt.timedelta(days=1)
        row = _evidence_row(pk, resource, label, first or ongoing_until)
        if best is None or (best[1] is not None and (expires is None or expires > best[1])):
            best = (row, expires)
    return best


def _has_condition(facts: PatientFacts, control: ControlRules, as_of: dt.date) -> bool:
    """A Condition of the programme's concept, not refuted, begun by `as_of` and not
    abated before the year began (its prevalence overlaps the year so far)."""
    year_start = dt.date(as_of.year, 1, 1)
    for item in _evidence_of(facts):
        if item.resource_type != "Condition" or not item.matches(control.condition_codes):
            continue
        if not item.counts():
            continue
        first, last = _day_span(item.span())
        if (first is None or first <= as_of) and (last is None or last >= year_start):
            return True
    return False


def _test_day(item: _Evidence) -> dt.date | None:
    """The day a test was done (its end, or its only day)."""
    span = item.span()
    if span is None:
        return None
    point = span.latest()
    return point.day if point is not None else None


@dataclass(frozen=True, slots=True)
class _Exclusion:
    name: str
    min_age: int | None
    lookback_months: int | None
    concepts: tuple[tuple[str, frozenset[Code]], ...]  # (concept key, its codes)


@dataclass(frozen=True, slots=True)
class _Modality:
    rule: dict[str, Any]
    code: str
    name: str
    min_age: int | None
    interval_months: int
    codes: frozenset[Code]  # the concept's codes; empty: no EHR evidence is looked for


@dataclass(frozen=True, slots=True)
class PreparedRules:
    """One program's rules as the evaluation reads them, worked out once for a batch of
    patients (they are the program's, not the patient's): the fields looked up, the
    messages that name no patient, the active exclusions and screening modalities with
    their concepts' codes. `evaluate_care_gap` prepares and evaluates in one call; a
    batch prepares each program once (`prepare_rules`) and calls `evaluate_prepared`.
    """

    name: str
    min_age: int
    max_age: int
    sex: str
    min_pack_years: int | None
    due_soon_days: int
    sex_problem: str
    pack_problem: str
    exclusions: tuple[_Exclusion, ...]
    modalities: tuple[_Modality, ...]
    # How messages name the programme: "Colorectal screening", "Diabetes control".
    label: str = ""
    # A control programme's own rules (control.py); None for a screening programme.
    control: ControlRules | None = None


def prepare_rules(
    *, program_name: str, rules: dict[str, Any], concept_codes: dict[str, frozenset[Code]]
) -> PreparedRules:
    name = program_name
    control = prepare_control(rules, concept_codes)
    label = name if control is not None else f"{name} screening"
    return PreparedRules(
        name=name,
        label=label,
        control=control,
        min_age=rules["min_age"],
        max_age=rules["max_age"],
        sex=rules["sex"],
        min_pack_years=rules.get("min_pack_years"),
        due_soon_days=rules["due_soon_days"],
        sex_problem=f"{label} is for {rules['sex']} patients.",
        pack_problem=(
            f"{label} needs a smoking history of {rules.get('min_pack_years')} pack-years."
        ),
        exclusions=tuple(
            _Exclusion(
                name=exclusion["name"],
                min_age=exclusion["min_age"],
                lookback_months=exclusion["lookback_months"],
                concepts=tuple(
                    (key, concept_codes.get(key, frozenset())) for key in exclusion["all_of"]
                ),
            )
            for exclusion in rules["exclusions"]
            if exclusion["active"]
        ),
        # A diagnostic test (biopsy, colposcopy) follows up a result; it is never the
        # program's screening.
        modalities=tuple(
            _Modality(
                rule=modality,
                code=modality["code"],
                name=modality["name"],
                min_age=modality["min_age"],
                interval_months=modality["interval_months"],
                codes=concept_codes.get(modality["concept"] or "", frozenset()),
            )
            for modality in rules["modalities"]
            if modality["active"] and modality.get("role") != "diagnostic"
        ),
    )


def evaluate_care_gap(
    *,
    facts: PatientFacts,
    program_name: str,
    rules: dict[str, Any],
    concept_codes: dict[str, frozenset[Code]],
    as_of: dt.date,
) -> GapResult:
    """One patient's status for one program on `as_of`, with reasons and evidence."""
    prepared = prepare_rules(program_name=program_name, rules=rules, concept_codes=concept_codes)
    return evaluate_prepared(facts=facts, rules=prepared, as_of=as_of)


def evaluate_prepared(*, facts: PatientFacts, rules: PreparedRules, as_of: dt.date) -> GapResult:
    """`evaluate_care_gap` with the program's rules prepared (`prepare_rules`)."""
    name = rules.name
    age = age_in_years(facts.birth_date, as_of)
    min_age, max_age = rules.min_age, rules.max_age
    ages_out = _birthday(facts.birth_date, max_age + 1)

    # 1. Eligibility.
    if facts.deceased:
        return GapResult("not_eligible", "Deceased", ["The patient has died."])
    problems = []
    if rules.sex != "any" and facts.sex != rules.sex:
        problems.append(rules.sex_problem)
    if rules.min_pack_years is not None and (
        facts.smoking_status not in {"current", "former"}
        or (facts.smoking_pack_years or 0) < rules.min_pack_years
    ):
        problems.append(rules.pack_problem)
    if age < min_age or age > max_age:
        problems.append(f"{rules.label} is for ages {min_age}–{max_age}; the patient is {age}.")
    if (
        not problems
        and rules.control is not None
        and not _has_condition(facts, rules.control, as_of)
    ):
        # A control programme enrols only the patients with the condition (CMS122: a
        # diabetes diagnosis whose prevalence overlaps the year).
        problems.append(
            f"{rules.label} is for patients with {rules.control.condition_name}; none on record."
        )
    if problems:
        recheck = (
            _birthday(facts.birth_date, min_age) if age < min_age and len(problems) == 1 else None
        )
        return GapResult("not_eligible", problems[0], problems, recheck_on=recheck)

    # 2. Exclusions.
    for exclusion in rules.exclusions:
        if exclusion.min_age is not None and age < exclusion.min_age:
            continue
        found = []
        for concept_key, codes in exclusion.concepts:
            evidence = _exclusion_evidence(
                facts, codes, concept_key, as_of, exclusion.lookback_months
            )
            if evidence is None:
                break
            found.append(evidence)
        else:
            rows = [row for row, _ in found]
            expiries = [expires for _, expires in found if expires is not None]
            recheck = min(expiries) if expiries else None
            reasons = [
                f"{exclusion.name}: {row['display']}" + (f" ({row['date']})" if row["date"] else "")
                for row in rows
            ]
            return GapResult(
                "excluded",
                f"Excluded: {exclusion.name}",
                reasons,
                evidence=rows,
                recheck_on=min(d for d in (recheck, ages_out) if d is not None),
            )

    # 3. A control programme: the most recent lab of the year (control.py).
    if rules.control is not None:
        outcome = evaluate_control(evidence=_evidence_of(facts), rules=rules.control, as_of=as_of)
        return GapResult(
            outcome.status,
            outcome.summary,
            outcome.reasons,
            evidence=outcome.evidence,
            last_screening_on=outcome.last_lab_on,
            last_screening_resource_pk=outcome.last_lab_resource_pk,
            next_due_on=outcome.next_due_on,
            overdue_since=outcome.overdue_since,
            recheck_on=min(outcome.recheck_on, ages_out),
        )

    # 3. Screenings: the test whose interval runs longest decides.
    best: tuple[dt.date, dt.date, _Modality, str, int | None] | None = None
    for modality in rules.modalities:
        candidates: list[tuple[dt.date, str, int | None, str]] = []
        for screening in facts.screenings:
            if screening.modality_code == modality.code:
                candidates.append((screening.performed_on, "recorded", None, screening.result))
        codes = modality.codes
        if codes:
            for item in _evidence_of(facts):
                if item.resource_type not in {"Procedure", "Observation"}:
                    continue
                if not item.matches(codes) or not item.counts():
                    continue
                if item.resource_type == "Observation" and not has_value(item.resource):
                    continue
                day = _test_day(item)
                if day is not None:
                    candidates.append((day, "ehr", item.pk, ""))
        for day, origin, source_pk, _result in candidates:
            if day > as_of:
                continue
            if (
                modality.min_age is not None
                and age_in_years(facts.birth_date, day) < modality.min_age
            ):
                continue
            due = add_months(day, modality.interval_months)
            if best is None or due > best[1]:
                best = (day, due, modality, origin, source_pk)

    soon = as_of + dt.timedelta(days=rules.due_soon_days)
    if best is not None:
        day, due, chosen, origin, last_pk = best
        said = f"{chosen.name} {day.isoformat()}, next due {due.isoformat()}"
        common: dict[str, Any] = {
            "last_screening_on": day,
            "last_modality_code": chosen.code,
            "last_screening_resource_pk": last_pk,
            "next_due_on": due,
            "evidence": [{"what": chosen.code, "date": day.isoformat(), "origin": origin}],
        }
        if due > soon:
            return GapResult(
                "up_to_date",
                said,
                [said],
                recheck_on=min(due - dt.timedelta(days=rules.due_soon_days), ages_out),
                **common,
            )
        if due > as_of:
            days = (due - as_of).days
            return GapResult(
                "due_soon",
                f"{said} (in {days} days)",
                [f"{said} (in {days} days)"],
                recheck_on=min(due, ages_out),
                **common,
            )
        return GapResult(
            "overdue",
            f"Overdue since {due.isoformat()}: {chosen.name} {day.isoformat()}",
            [said, f"Overdue since {due.isoformat()}."],
            overdue_since=due,
            recheck_on=ages_out,
            **common,
        )
    eligible_since = _birthday(facts.birth_date, min_age)
    reason = f"No {name.lower()} screening on record."
    return GapResult(
        "overdue",
        f"Overdue: no {name.lower()} screening on record",
        [reason, f"Eligible since {eligible_since.isoformat()}."],
        overdue_since=eligible_since,
        recheck_on=ages_out,
    )
