"""The evaluation context of an eCQM and the CQL expressions every measure uses.

`Context` is one patient in one measurement period: the retrieve
(`[Type: "Value Set"]`), the patient's timing elements read as CQL intervals
(`performed`, `effective`, `prevalenceInterval()`), and the evidence recorded
for the explanation. `Terminology` gives the codes of each value set, noting
which value sets were not loaded (their built-in starter codes stood in).

Date and time comparisons follow CQL and cql-execution (see
patients.caregaps.temporal): `... day of` compares calendar days as written,
without time-zone conversion; comparisons without `day of` are to the
millisecond, offsets normalised; a partial date that cannot be placed is
unknown, and only a certain `true` counts (`is_true`, `exists`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import cast

from patients.caregaps.codes import vsac
from patients.caregaps.dates import age_in_years
from patients.caregaps.datetimes import Point
from patients.caregaps.fhirdata import (
    Code,
    PatientRecord,
    Resource,
    choice_interval,
    concept_is,
    first_code_display,
    has_value,
    prevalence_interval_or_null,
    retrieve,
)
from patients.caregaps.measures.libraries.status import laboratory_test_performed
from patients.caregaps.temporal import Interval, Truth, before_or_same, point_during

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


# --- CQL expressions every measure uses ------------------------------------------------


def is_true(value: Truth) -> bool:
    """Only a certain `true` counts, as in a CQL `where` clause."""
    return value is True


def exists(ctx: Context, label: str, items: Iterable[Resource], test: Callable) -> bool:
    """`exists (items where test)`, recording the first item that passes as evidence."""
    for item in items:
        if is_true(test(item)):
            return ctx.found(label, item)
    return False


def latest_of(interval: Interval | None) -> Point | None:
    """QICoreCommon.latest() of an interval that may be null."""
    return interval.latest() if interval is not None else None


def interval_overlaps(interval: Interval | None, window: Interval) -> Truth:
    """`interval overlaps day of window`; a null interval is unknown."""
    return interval.overlaps(window) if interval is not None else None


def interval_starts_on_or_before(interval: Interval | None, point: Point, *, by_day: bool) -> Truth:
    """`interval starts on or before [day of] point`: SameOrBefore(Start(interval), point)."""
    return before_or_same(interval.start, point, by_day=by_day) if interval is not None else None


def interval_ends_on_or_before(interval: Interval | None, point: Point, *, by_day: bool) -> Truth:
    """`interval ends on or before [day of] point`; a null interval is unknown."""
    return before_or_same(interval.end, point, by_day=by_day) if interval else None


def lab_test_latest_during(ctx: Context, label: str, oid: str, window: Interval) -> bool:
    """A laboratory test (isLaboratoryTestPerformed) with a value whose
    `effective.latest()` is `during day of` window (FOBT, stool DNA, cervical cytology)."""
    return exists(
        ctx,
        label,
        laboratory_test_performed(ctx.of_type("Observation", oid)),
        lambda o: has_value(o) and point_during(latest_of(ctx.effective(o)), window),
    )


def interval_ends_during(interval: Interval | None, window: Interval) -> Truth:
    """`interval ends during day of window`; a null interval is unknown."""
    return interval.ends_during(window) if interval else None
