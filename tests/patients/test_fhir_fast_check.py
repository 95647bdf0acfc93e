"""The bulk import's cheap check (`fast_check.plainly_valid`) against fhir.resources'
R4 model on the fixtures and systematic mutations of them: whatever it accepts the
model accepts, and a line reads the same (item, mapped patient, warnings, rejection)
whether the cheap check or the model let it through."""

from __future__ import annotations

import copy
import json
import random
from collections.abc import Iterator
from typing import Any

import pytest
from fhir.resources.R4B import get_fhir_model_class
from pydantic import ValidationError

from patients.fhir import bulk_read
from patients.fhir.fast_check import plainly_valid
from tests.benchmarks.fhir import patient_bundle
from tests.support.fhir import patient_resource

REPLACEMENTS: list[Any] = [
    None, "", " ", [], {}, [None], [""], [{}], 0, 1.5, True, "x", "x  y", "a\tb", "é",
    "2025", "2025-06", "2025-02-30", "2025-13", "2025-06-15", "0000-01-01", "2025-6-1",
    "2026-03-02T14:00:00", "2026-03-02T14:00:00Z", "2026-03-02T25:00:00Z",
    "2026-03-02T14:00:00+15:00", "2026-03-02T14:00:60Z", "2026-03-02T14:00:00.123Z",
    "urn:x y", "bad id!", "a" * 65, {"unknownElement": 1}, {"reference": "Patient/p1"},
    {"coding": [{"system": "http://loinc.org", "code": "1-8"}]}, {"coding": []},
    [{"coding": [{"code": "x"}]}], {"system": "urn:x", "code": "c"}, ["a", None],
]  # fmt: skip
CHOICE_EXTRAS: list[dict[str, Any]] = [
    {"deceasedBoolean": True, "deceasedDateTime": "2020"},
    {"effectivePeriod": {"start": "2020"}},
    {"performedPeriod": {"start": "2020"}},
    {"valueString": "x"},
    {"valueString": "x", "valueBoolean": True},
    {"valueQuantity": {"value": 1}},
    {"extension": [{"url": "urn:x", "valueString": "x"}]},
    {"_birthDate": {"id": "x"}},
    {"meta": {"lastUpdated": "2026-01-01T00:00:00Z"}},
    {"contained": [{"resourceType": "Patient", "id": "c"}]},
    {"text": {"status": "generated", "div": "<div>x</div>"}},
    {"unknownElement": "x"},
]


def bases() -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    rng = random.Random(7)
    for index in (15, 30):
        found += [e["resource"] for e in json.loads(patient_bundle(index, rng))["entry"]]
    found.append(patient_resource())
    found.append(
        {
            "resourceType": "Patient",
            "id": "full",
            "active": True,
            "identifier": [{"use": "usual", "system": "urn:mrn", "value": "M1"}],
            "name": [{"use": "official", "text": "A B", "family": "B", "given": ["A"],
                      "prefix": ["Dr"], "suffix": ["Jr"]}],
            "telecom": [{"system": "email", "value": "a@example.org", "use": "home"}],
            "gender": "other",
            "birthDate": "1970-01",
            "deceasedDateTime": "2020-01-01T00:00:00-05:00",
            "communication": [{"language": {"coding": [{"code": "es"}], "text": "Spanish"},
                               "preferred": True}],
        }
    )  # fmt: skip
    found.append(
        {
            "resourceType": "Observation",
            "id": "o1",
            "status": "final",
            "code": {"coding": [{"system": "http://loinc.org", "code": "2093-3",
                                 "display": "Cholesterol", "version": "2.7"}]},
            "subject": {"reference": "Patient/p1", "display": "Ana"},
            "valueString": "high",
        }
    )  # fmt: skip
    return found


def paths(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield path
    if isinstance(value, dict):
        for key, item in value.items():
            yield from paths(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from paths(item, (*path, index))


def replaced(resource: dict[str, Any], path: tuple[Any, ...], new: Any) -> dict[str, Any]:
    changed = copy.deepcopy(resource)
    target: Any = changed
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = new
    return changed


def removed(resource: dict[str, Any], path: tuple[Any, ...]) -> dict[str, Any]:
    changed = copy.deepcopy(resource)
    target: Any = changed
    for part in path[:-1]:
        target = target[part]
    del target[path[-1]]
    return changed


def variants() -> Iterator[dict[str, Any]]:
    for base in bases():
        yield base
        for extra in CHOICE_EXTRAS:
            yield {**base, **extra}
        for other in ("Patient", "Encounter", "Observation", "Procedure", "Condition", "Bundle"):
            yield {**base, "resourceType": other}
        for path in paths(base):
            if isinstance(at(base, path), dict):  # an element no type has, in each object
                yield replaced(base, (*path, "unknownKey"), "x")
            if not path:
                continue
            yield removed(base, path)
            for new in REPLACEMENTS:
                yield replaced(base, path, new)


def at(value: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        value = value[part]
    return value


def model_accepts(resource: dict[str, Any]) -> bool:
    try:
        get_fhir_model_class(resource["resourceType"]).model_validate(resource)
    except ValidationError:
        return False
    return True


def test_whatever_the_cheap_check_accepts_the_r4_model_accepts():
    accepted = refused = 0
    for variant in variants():
        if plainly_valid(variant):
            accepted += 1
            assert model_accepts(variant), variant
        else:
            refused += 1
    # Not vacuous: it takes the fixtures and many harmless mutations, and refuses many.
    assert accepted > 300
    assert refused > 1000


def test_every_unmutated_fixture_of_the_benchmark_takes_the_cheap_path():
    assert all(plainly_valid(resource) for resource in bases())


@pytest.mark.parametrize(
    "resource",
    [
        {"resourceType": "Encounter", "id": "e", "class": {"code": "AMB"}},  # no status
        {"resourceType": "Observation", "id": "o", "status": "final"},  # no code
        {"resourceType": "Procedure", "id": "x", "status": "done"},  # no subject
        {"resourceType": "Patient", "id": "p", "birthDate": "2025-02-30"},
        {"resourceType": "Patient", "id": "p", "name": [{"given": [None]}]},
    ],
)
def test_what_the_cheap_check_cannot_vouch_for_goes_to_the_model(resource):
    assert not plainly_valid(resource)


def test_a_line_reads_the_same_through_the_cheap_check_or_the_model(monkeypatch):
    lines = [json.dumps(v).encode() for v in variants()]
    assert sum(plainly_valid(json.loads(raw)) for raw in lines) > 300
    fast = [read(raw, n) for n, raw in enumerate(lines, 1)]
    monkeypatch.setattr(bulk_read, "plainly_valid", lambda resource: False)
    slow = [read(raw, n) for n, raw in enumerate(lines, 1)]
    assert fast == slow


def file_type(raw: bytes) -> str:
    """The file the line would be in: its own type's if imported (only those are read)."""
    resource_type = json.loads(raw).get("resourceType")
    imported = isinstance(resource_type, str) and resource_type in bulk_read.IMPORTED_TYPES
    return resource_type if imported else "Patient"


def read(raw: bytes, number: int) -> Any:
    """line_read's answer, or the exception it raises (the same either way)."""
    try:
        return bulk_read.line_read(raw, number, file_type(raw))
    except Exception as error:  # noqa: BLE001 - compared, not hidden
        return (type(error), str(error))
