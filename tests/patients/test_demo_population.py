"""The equity demo's population as FHIR (no database): its groups, the clinic whose feed
leaves race out, CMS130's ages and visits in every quarter, and the navigation plans."""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter

from patients.caregaps.dates import add_years, age_in_years
from patients.demo_population import group_sizes, population_bundles, story_quarter_ends

TODAY = dt.date(2026, 11, 24)  # the last complete quarter ends 2026-09-30


def patients_of(bundles) -> list[dict]:
    """Each patient with its clinic, story plan and resources."""
    found = []
    for bundle in bundles:
        resources: dict[str, list[dict]] = {}
        for entry in json.loads(bundle.payload)["entry"]:
            resource = entry["resource"]
            owner = (
                resource["id"]
                if resource["resourceType"] == "Patient"
                else resource["subject"]["reference"].removeprefix("Patient/")
            )
            resources.setdefault(owner, []).append(resource)
        for patient in bundle.patients:
            own = resources[patient.patient_id]
            found.append({"clinic": bundle.clinic, "plan": patient, "resources": own})
    return found


def of_type(resources: list[dict], resource_type: str) -> list[dict]:
    return [r for r in resources if r["resourceType"] == resource_type]


def test_the_groups_have_their_sizes_and_six_pacific_islanders_make_a_small_cell():
    people = patients_of(population_bundles(count=700, today=TODAY))

    groups = Counter(p["plan"].group for p in people)
    assert groups == Counter(group_sizes(700))
    assert sum(groups.values()) == 700
    assert groups["nhpi"] == 6 and groups["hispanic"] == 300 and groups["white"] == 250
    # and each bundle is one clinic's, 50 patients at most
    assert all(len(b.patients) <= 50 for b in population_bundles(count=700, today=TODAY))


def test_dorchesters_feed_leaves_race_and_ethnicity_out_for_40_percent_of_its_patients():
    people = patients_of(population_bundles(count=700, today=TODAY))

    def sent(person) -> bool:
        patient = of_type(person["resources"], "Patient")[0]
        return any("us-core-race" in e["url"] for e in patient.get("extension", []))

    dorchester = [p for p in people if p["clinic"] == "dorchester"]
    left_out = [p for p in dorchester if not sent(p)]
    assert len(left_out) == round(0.4 * len(dorchester))
    assert all(not p["plan"].race_sent for p in left_out)
    assert all(sent(p) for p in people if p["clinic"] != "dorchester")
    # and the small cell stays whole: no Pacific Islander patient is at Dorchester
    assert not [p for p in dorchester if p["plan"].group == "nhpi"]


def test_every_patient_is_of_cms130s_ages_with_an_office_visit_in_every_quarters_window():
    people = patients_of(population_bundles(count=700, today=TODAY))
    ends = story_quarter_ends(TODAY)
    assert ends[0] == dt.date(2024, 12, 31) and ends[-1] == dt.date(2026, 9, 30)

    for person in people:
        birth = dt.date.fromisoformat(of_type(person["resources"], "Patient")[0]["birthDate"])
        visits = [
            dt.date.fromisoformat(e["period"]["start"][:10])
            for e in of_type(person["resources"], "Encounter")
        ]
        for end in ends:
            start = add_years(end, -1) + dt.timedelta(days=1)
            assert 46 <= age_in_years(birth, end) <= 75
            assert any(start <= visit <= end for visit in visits)


def test_navigated_patients_do_a_fit_after_their_case_opens_most_within_180_days():
    people = patients_of(population_bundles(count=700, today=TODAY))
    plans = [(p["plan"].navigation, p) for p in people if p["plan"].navigation is not None]

    # Only Hispanic or Latino patients whose ethnicity the feed sent are navigated
    assert {p["plan"].group for _, p in plans} == {"hispanic"}
    assert all(p["plan"].race_sent for _, p in plans)
    ends = story_quarter_ends(TODAY)
    for navigation, person in plans:
        # opened from the quarter six back on, never before
        assert ends[1] < navigation.opened_on <= ends[-3]
        if navigation.screened_on is not None:
            fits = [
                dt.date.fromisoformat(o["effectiveDateTime"])
                for o in of_type(person["resources"], "Observation")
                # (some also have diabetes, and their HbA1c: test_demo_diabetes.py)
                if o["code"]["coding"][0]["code"] == "29771-3"
            ]
            # the FIT the case led to is the first in the record, after the opening
            assert min(fits) == navigation.screened_on > navigation.opened_on
    within = [n for n, _ in plans if n.screened_on and (n.screened_on - n.opened_on).days <= 180]
    assert len(within) == round(0.85 * len(plans))


def test_the_same_seed_gives_the_same_bundles_and_another_seed_others():
    first = population_bundles(count=120, today=TODAY, seed=7)

    assert [b.payload for b in population_bundles(count=120, today=TODAY, seed=7)] == [
        b.payload for b in first
    ]
    assert [b.payload for b in population_bundles(count=120, today=TODAY, seed=8)] != [
        b.payload for b in first
    ]
