"""A programme is a screening or a control programme: what each must (and must not) have,
said in words, and a control programme's rules versioned like a screening programme's."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.forms import modelform_factory
from django.urls import reverse

from patients.admin import ScreeningProgramAdminForm
from patients.models import CareGap, CodeConcept, RuleVersion, ScreeningProgram
from patients.selectors import program_rules_snapshot, rule_changes
from patients.services import care_gaps
from patients.services.program_rules import program_rules_update
from tests.factories import ManagerFactory, PatientFactory, program
from tests.support.fhir import diabetes, ehr_resource, hba1c

pytestmark = pytest.mark.django_db


def control_programme(**overrides) -> ScreeningProgram:
    fields = {
        "code": "hypertension",
        "name": "Hypertension control",
        "min_age": 18,
        "max_age": 85,
        "kind": "control",
        "condition_concept": CodeConcept.objects.get(key="diabetes"),
        "target_value": Decimal(8),
        "target_unit": "%",
        "poor_control_value": Decimal(9),
        "lab_interval_months": 6,
        "lab_interval_above_target_months": 3,
    }
    fields.update(overrides)
    return ScreeningProgram(**fields)


# --- What each kind must have ---------------------------------------------------------


def test_a_control_programme_without_a_target_threshold_or_condition_is_refused_field_by_field():
    incomplete = control_programme(
        condition_concept=None, target_value=None, target_unit="", poor_control_value=None
    )

    with pytest.raises(ValidationError) as refusal:
        incomplete.full_clean()

    errors = refusal.value.message_dict
    assert errors["condition_concept"] == [
        "Name the condition that enrols patients (e.g. diabetes)."
    ]
    assert errors["target_value"] == ["Give the target value (e.g. 8 for HbA1c < 8 %)."]
    assert errors["target_unit"] == ["Give the target's unit (e.g. %)."]
    assert errors["poor_control_value"] == ["Give the poor-control threshold (e.g. 9 %)."]


def test_a_threshold_below_the_target_is_refused():
    upside_down = control_programme(target_value=Decimal(9), poor_control_value=Decimal(8))

    with pytest.raises(ValidationError) as refusal:
        upside_down.full_clean()

    assert refusal.value.message_dict["poor_control_value"] == [
        "The poor-control threshold cannot be below the target."
    ]


def test_a_screening_programme_with_a_target_is_refused():
    colorectal = program("colorectal")
    colorectal.target_value = Decimal(8)

    with pytest.raises(ValidationError) as refusal:
        colorectal.full_clean()

    assert refusal.value.message_dict["target_value"] == [
        "Only a control programme has this; leave it empty for a screening."
    ]


def test_the_seeded_programmes_pass_their_own_validation():
    for seeded in ScreeningProgram.objects.all():
        seeded.full_clean()


@pytest.mark.parametrize(
    "overrides",
    [
        {"target_value": None},
        {"poor_control_value": None},
        {"condition_concept": None},
        {"target_unit": ""},
        {"lab_interval_months": None},
        {"target_value": Decimal(10)},  # above the threshold
    ],
)
def test_the_database_refuses_an_incomplete_control_programme_written_without_validation(
    overrides,
):
    with pytest.raises(IntegrityError), transaction.atomic():
        control_programme(**overrides).save()


def test_the_database_refuses_a_screening_programme_with_a_threshold():
    with pytest.raises(IntegrityError), transaction.atomic():
        ScreeningProgram.objects.filter(code="colorectal").update(poor_control_value=Decimal(9))


def test_the_admin_form_asks_a_control_programme_for_at_least_one_lab():
    data = {
        "code": "hypertension",
        "name": "Hypertension control",
        "min_age": 18,
        "max_age": 85,
        "sex": "any",
        "due_soon_days": 60,
        "kind": "control",
        "condition_concept": CodeConcept.objects.get(key="diabetes").pk,
        "target_value": "8",
        "target_unit": "%",
        "poor_control_value": "9",
        "lab_interval_months": 6,
        "lab_interval_above_target_months": 3,
        "lab_concepts": [],
    }

    # (The admin builds the form's Meta for the model; so does modelform_factory.)
    form = modelform_factory(ScreeningProgram, form=ScreeningProgramAdminForm, fields="__all__")(
        data=data
    )

    assert not form.is_valid()
    assert form.errors["lab_concepts"] == ["A control programme follows at least one lab test."]


# --- Rules as data, versioned ---------------------------------------------------------


def test_changing_the_target_records_a_version_in_words_and_gaps_follow_it():
    diabetes_programme = program("diabetes")
    manager = ManagerFactory()
    patient = PatientFactory(birth_date=dt.date(1970, 5, 1))
    ehr_resource(patient, diabetes("2019-03-01"))
    ehr_resource(patient, hba1c("2026-03-02", 7.2))

    with time_machine.travel(dt.datetime(2026, 6, 1, 12, tzinfo=dt.UTC), tick=False):
        version = program_rules_update(
            program=diabetes_programme,
            actor=manager,
            summary="Tighter individual goal: below 7 %",
            fields={"target_value": Decimal(7)},
        )
        care_gaps.care_gaps_recompute(patient_ids=[patient.pk], as_of=dt.date(2026, 6, 1))

    assert version is not None and version.number == 2
    assert version.before["control"]["target"] == "8"
    assert version.after["control"]["target"] == "7"
    assert version.after == program_rules_snapshot(ScreeningProgram.objects.get(code="diabetes"))
    assert rule_changes(version.before, version.after) == ["control target: 8 → 7"]
    gap = CareGap.objects.get(patient=patient, program=diabetes_programme)
    assert gap.status == "above_target"
    assert gap.rule_version == 2


def test_a_control_rule_given_to_a_screening_programme_is_refused_and_nothing_is_recorded():
    with pytest.raises(ValidationError):
        program_rules_update(
            program=program("colorectal"),
            actor=ManagerFactory(),
            summary="Wrong programme",
            fields={"target_value": Decimal(7)},
        )

    assert RuleVersion.objects.filter(program__code="colorectal").count() == 2


def test_the_rules_page_of_the_control_programme_shows_and_saves_its_target(client):
    client.force_login(ManagerFactory())
    diabetes_programme = program("diabetes")
    url = reverse("patients:program_rules", args=["diabetes"])

    page = client.get(url).content.decode()
    assert "Diabetes control rules" in page
    assert "Target: below (%)" in page
    assert "HbA1c laboratory test" in page

    data = {
        "min_age": 18,
        "max_age": 75,
        "due_soon_days": 60,
        "active": "on",
        "target_value": "8",
        "poor_control_value": "9",
        "lab_interval_months": "12",
        "lab_interval_above_target_months": "3",
        "summary": "Yearly at target, as CMS122 asks",
    }
    for exclusion in diabetes_programme.exclusions.all():
        data[f"exclusion_{exclusion.code}_lookback"] = exclusion.lookback_months or ""
        data[f"exclusion_{exclusion.code}_active"] = "on"
    response = client.post(url, data)

    assert response.status_code == 302
    assert ScreeningProgram.objects.get(code="diabetes").lab_interval_months == 12


def test_the_rules_page_refuses_a_threshold_below_the_target(client):
    client.force_login(ManagerFactory())
    diabetes_programme = program("diabetes")
    data = {
        "min_age": 18,
        "max_age": 75,
        "due_soon_days": 60,
        "active": "on",
        "target_value": "9",
        "poor_control_value": "8",
        "lab_interval_months": "6",
        "lab_interval_above_target_months": "3",
        "summary": "Typo",
    }
    for exclusion in diabetes_programme.exclusions.all():
        data[f"exclusion_{exclusion.code}_lookback"] = exclusion.lookback_months or ""
        data[f"exclusion_{exclusion.code}_active"] = "on"

    response = client.post(reverse("patients:program_rules", args=["diabetes"]), data)

    assert response.status_code == 400
    assert "The poor-control threshold cannot be below the target." in response.content.decode()
    assert ScreeningProgram.objects.get(code="diabetes").rule_version == 1
