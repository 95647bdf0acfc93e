"""Likely duplicate patients, found for the managers: the same MRN at one clinic
however it was typed, or the same name and birth date at any clinic."""

from __future__ import annotations

import datetime as dt
from io import StringIO

import pytest
from django.core.management import call_command

from patients.duplicates import patient_duplicate_groups
from patients.models import PatientMerge
from tests import factories

pytestmark = pytest.mark.django_db

BORN = dt.date(1966, 3, 14)


@pytest.fixture
def records(clinic):
    """Two records of Carlos at North (one MRN typed two ways), Rosa at North and at
    South (no MRN in common), a namesake born on another day, and the same MRN at
    another clinic belonging to someone else."""
    south = factories.ClinicFactory(code="south", name="South Clinic")
    people = {
        "carlos": factories.PatientFactory(
            clinic=clinic, mrn="CHE555001", given_name="Carlos", family_name="Herrera",
            birth_date=BORN,
        ),
        "carlos again": factories.PatientFactory(
            clinic=clinic, mrn=" che555001", given_name="carlos ", family_name="HERRERA",
            birth_date=BORN,
        ),
        "rosa": factories.PatientFactory(
            clinic=clinic, mrn="N-77", given_name="Rosa", family_name="Lima", birth_date=BORN,
        ),
        "rosa at south": factories.PatientFactory(
            clinic=south, mrn="S-12", given_name="Rosa", family_name="Lima", birth_date=BORN,
        ),
        "another rosa": factories.PatientFactory(
            clinic=clinic, mrn="N-78", given_name="Rosa", family_name="Lima",
            birth_date=BORN + dt.timedelta(days=1),
        ),
        "south mrn": factories.PatientFactory(
            clinic=south, mrn="CHE555001", given_name="Ana", family_name="Souza",
            birth_date=BORN,
        ),
    }  # fmt: skip
    return people


def test_it_finds_the_same_mrn_at_a_clinic_and_the_same_person_at_two_clinics(records):
    # When the likely duplicates are looked for
    groups = patient_duplicate_groups()

    # Then Carlos's two records are one group (by MRN, listed once though their names
    # agree too), and Rosa's two records another; the namesake born on another day
    # and the same MRN at another clinic are no one's duplicate
    assert [(g.reason, [p.pk for p in g.patients]) for g in groups] == [
        (
            "Same MRN CHE555001 at North Clinic",
            [records["carlos"].pk, records["carlos again"].pk],
        ),
        ("Same name and birth date", [records["rosa"].pk, records["rosa at south"].pk]),
    ]


def test_it_takes_three_queries_however_many_patients(records, django_assert_num_queries):
    factories.PatientFactory.create_batch(10)

    # The shared MRNs; the shared names and birth dates; those patients with their clinic
    with django_assert_num_queries(3):
        patient_duplicate_groups()


def test_with_no_likely_duplicates_it_says_none(clinic, django_assert_num_queries):
    factories.PatientFactory.create_batch(3)

    with django_assert_num_queries(2):  # the two group-by queries find nothing
        assert patient_duplicate_groups() == []


def test_the_command_lists_ids_and_clinics_never_names_or_mrns(records):
    out = StringIO()

    call_command("find_duplicate_patients", stdout=out)

    printed = out.getvalue()
    assert f"same MRN at one clinic: #{records['carlos'].pk} (north)" in printed
    assert f"same name and birth date: #{records['rosa'].pk} (north)" in printed
    assert printed.rstrip().endswith("2 groups of likely duplicate patients.")
    for detail in ("Carlos", "Herrera", "Rosa", "CHE555001", "1966"):
        assert detail not in printed


def test_managers_see_each_group_with_the_patients_details(client, manager, records):
    client.force_login(manager)

    response = client.get("/patients/duplicates/")

    assert response.status_code == 200
    html = response.content.decode()
    assert "<strong>2</strong> groups of patients who are likely one person" in html
    assert html.count('data-testid="duplicate-group"') == 2
    assert "Same MRN CHE555001 at North Clinic" in html
    assert f'href="/patients/{records["carlos again"].pk}/"' in html


@pytest.mark.parametrize("role", ["navigator", "clinic_staff"])
def test_only_managers_may_look_for_duplicates(client, records, role, navigator, clinic_staff):
    client.force_login(navigator.user if role == "navigator" else clinic_staff)

    assert client.get("/patients/duplicates/").status_code == 403


def test_a_manager_merges_a_duplicate_from_the_page_and_lands_on_the_record_kept(
    client, manager, records
):
    client.force_login(manager)
    kept, duplicate = records["carlos"], records["carlos again"]

    response = client.post(
        "/patients/duplicates/merge/", {"survivor": kept.pk, "duplicate": duplicate.pk}
    )

    assert response.status_code == 302
    assert response["Location"] == f"/patients/{kept.pk}/"
    assert PatientMerge.objects.get().duplicate == duplicate
    page = client.get("/patients/duplicates/").content.decode()
    assert "<strong>1</strong> group of patients" in page  # Rosa's records remain


def test_a_merge_the_service_refuses_is_shown_on_the_page_and_changes_nothing(
    client, manager, records
):
    # Given both of Carlos's records with an open colorectal case
    kept, duplicate = records["carlos"], records["carlos again"]
    factories.CaseFactory(patient=kept)
    factories.CaseFactory(patient=duplicate)
    client.force_login(manager)

    response = client.post(
        "/patients/duplicates/merge/", {"survivor": kept.pk, "duplicate": duplicate.pk}
    )

    assert response.status_code == 400
    html = response.content.decode()
    assert "Not merged." in html
    assert "Both records have an open case for the same program" in html
    assert not PatientMerge.objects.exists()


def test_a_merge_request_without_a_record_to_merge_is_refused(client, manager, records):
    client.force_login(manager)

    response = client.post("/patients/duplicates/merge/", {"survivor": records["carlos"].pk})

    assert response.status_code == 400
    assert "Choose the record to merge." in response.content.decode()
    assert not PatientMerge.objects.exists()


def test_only_managers_may_merge(client, navigator, records):
    client.force_login(navigator.user)

    response = client.post(
        "/patients/duplicates/merge/",
        {"survivor": records["carlos"].pk, "duplicate": records["carlos again"].pk},
    )

    assert response.status_code == 403
    assert not PatientMerge.objects.exists()
